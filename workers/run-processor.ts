import { z } from "zod";
import { runJobSchema, type FinalMetrics, type StatusEvent } from "../src/contracts/events.js";
import { jobSpecSchema, type JobSpec } from "../src/contracts/job-spec.js";
import type { MetricsRepository } from "../src/persistence/metrics-repository.js";
import type { RunsRepository, WorkerIdentity } from "../src/persistence/runs-repository.js";
import type { LiveEventPublisher } from "../src/queue/live-events.js";
import type { RegressionData } from "../src/training/airfoil.js";
import type { TrainingOutcome, TrainingProgress } from "../src/training/progress.js";
import { trainRegression } from "../src/training/train-regression.js";
import { createPointSink } from "./point-sink.js";

export interface RunProcessorDeps {
  runs: RunsRepository;
  metrics: MetricsRepository;
  publisher: LiveEventPublisher;
  identity: WorkerIdentity;
  /** Loads (and caches) the data sets training needs. */
  datasets: { airfoil(): RegressionData };
  flushMs: number;
  /** How often a running run's cancel flag is re-read from Postgres, in ms. */
  cancelPollMs: number;
  /** How long the final write of points may keep retrying while Postgres is down, in ms. */
  finalFlushRetryMs: number;
  log: { info(obj: object, message: string): void; warn(obj: object, message: string): void };
}

/** Why a run in this process must stop early. */
export interface RunControl {
  cancelRequested: boolean;
  /** The worker is shutting down: the run goes back to the queue for another worker. */
  handOff: boolean;
}

export type ProcessResult = "succeeded" | "failed" | "canceled" | "handed-off" | "abandoned" | "skipped";

/**
 * Runs one job: claim the run (a new attempt), train it while streaming points through the sink,
 * then write exactly one terminal status, also when training throws. Every write is fenced by the
 * attempt, so a worker that lost the run stops writing and abandons it.
 */
export function createRunProcessor(deps: RunProcessorDeps) {
  const active = new Map<string, RunControl>();

  async function process(jobData: unknown): Promise<ProcessResult> {
    const { runId } = runJobSchema.parse(jobData);
    const claimed = await deps.runs.claim(runId, deps.identity);
    if (!claimed) return "skipped"; // canceled while queued, or already ended
    const { attempt } = claimed;
    const control: RunControl = { cancelRequested: claimed.cancelRequested, handOff: false };
    active.set(runId, control);
    const publishStatus = (event: Omit<StatusEvent, "type" | "attempt" | "at">) =>
      deps.publisher
        .publish(runId, { type: "status", attempt, at: new Date().toISOString(), ...event })
        .catch((error: unknown) => deps.log.warn({ err: error, runId }, "status not published"));
    await publishStatus({ status: "running", reason: null, finalMetrics: null });
    deps.log.info({ runId, attempt }, "run started");

    const sink = createPointSink({
      runId,
      attempt,
      metrics: deps.metrics,
      publisher: deps.publisher,
      flushMs: deps.flushMs,
      log: deps.log.warn.bind(deps.log),
    });
    const cancelPoll = setInterval(() => {
      deps.runs
        .cancelRequested([runId])
        .then((ids) => {
          if (ids.length > 0) control.cancelRequested = true;
        })
        .catch(() => undefined);
    }, deps.cancelPollMs);
    const progress: TrainingProgress = {
      onPoint: (point) => sink.addPoint(point),
      onEpoch: (summary) => sink.addEpoch(summary),
      shouldStop: () => control.cancelRequested || control.handOff || sink.stale,
    };

    let outcome: TrainingOutcome | { kind: "error"; reason: string };
    try {
      outcome = await train(claimed.spec, progress, deps.datasets);
    } catch (error) {
      outcome = { kind: "error", reason: `error: ${(error as Error).message}` };
    } finally {
      clearInterval(cancelPoll);
      active.delete(runId);
    }
    await sink.close(deps.finalFlushRetryMs);
    if (sink.stale) return abandoned(runId, attempt);

    const ending = decideEnding(outcome, control);
    if (ending.status === "queued") {
      if (!(await deps.runs.release(runId, attempt))) return abandoned(runId, attempt);
      await publishStatus({ status: "queued", reason: ending.reason, finalMetrics: null });
      return "handed-off";
    }
    if (!(await deps.runs.finish(runId, attempt, ending))) return abandoned(runId, attempt);
    await publishStatus(ending);
    deps.log.info({ runId, attempt, status: ending.status, reason: ending.reason }, "run ended");
    return ending.status;
  }

  function abandoned(runId: string, attempt: number): ProcessResult {
    deps.log.warn({ runId, attempt }, "attempt is no longer current: abandoning the run to its new owner");
    return "abandoned";
  }

  return {
    process,
    /** Flags a run of this process for cancellation; false if this process does not hold it. */
    cancel(runId: string): boolean {
      const control = active.get(runId);
      if (control) control.cancelRequested = true;
      return control !== undefined;
    },
    /** Asks every active run to stop and go back to the queue (shutdown). */
    handOffAll(): void {
      for (const control of active.values()) control.handOff = true;
    },
    activeRunIds: () => [...active.keys()],
  };
}

async function train(
  rawSpec: unknown,
  progress: TrainingProgress,
  datasets: RunProcessorDeps["datasets"],
): Promise<TrainingOutcome | { kind: "error"; reason: string }> {
  const parsed = jobSpecSchema.safeParse(rawSpec);
  if (!parsed.success) return { kind: "error", reason: `invalid stored spec: ${z.prettifyError(parsed.error)}` };
  const spec: JobSpec = parsed.data;
  switch (spec.kind) {
    case "regression":
      return trainRegression(spec, datasets.airfoil(), progress);
  }
}

type Ending =
  | { status: "succeeded" | "failed" | "canceled"; reason: string | null; finalMetrics: FinalMetrics | null }
  | { status: "queued"; reason: string };

function decideEnding(outcome: TrainingOutcome | { kind: "error"; reason: string }, control: RunControl): Ending {
  switch (outcome.kind) {
    case "completed":
      return { status: "succeeded", reason: null, finalMetrics: outcome.finalMetrics };
    case "diverged":
    case "error":
      return { status: "failed", reason: outcome.reason, finalMetrics: null };
    case "stopped":
      if (control.cancelRequested) {
        return { status: "canceled", reason: `canceled by request at ${outcome.samplesSeen.toLocaleString("en-US")} samples`, finalMetrics: null };
      }
      return { status: "queued", reason: "worker shut down; handed back to the queue" };
  }
}
