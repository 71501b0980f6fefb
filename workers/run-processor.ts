import { z } from "zod";
import { runJobSchema, type FinalMetrics, type StatusEvent } from "../src/contracts/events.js";
import { jobSpecSchema, type JobSpec } from "../src/contracts/job-spec.js";
import type { CheckpointsRepository } from "../src/persistence/checkpoints-repository.js";
import type { MetricsRepository } from "../src/persistence/metrics-repository.js";
import { decodeCheckpoint, encodeCheckpoint, type TrainingCheckpoint } from "../src/training/checkpoint.js";
import type { RunsRepository, WorkerIdentity } from "../src/persistence/runs-repository.js";
import type { LiveEventPublisher } from "../src/queue/live-events.js";
import type { RegressionData } from "../src/training/airfoil.js";
import type { TrainingOutcome, TrainingProgress } from "../src/training/progress.js";
import type { ImageData } from "../src/training/fashion-mnist.js";
import { trainClassification } from "../src/training/train-classification.js";
import { traceOptimization } from "../src/training/trace-optimization.js";
import { trainRegression } from "../src/training/train-regression.js";
import { createPointSink } from "./point-sink.js";
import { retrying } from "./retry.js";
import { clearBufferPool } from "../src/training/kernels/buffer-pool.js";

export interface RunProcessorDeps {
  runs: RunsRepository;
  metrics: MetricsRepository;
  publisher: LiveEventPublisher;
  identity: WorkerIdentity;
  /** Loads (and caches) the data sets training needs. */
  datasets: { airfoil(): RegressionData; fashionMnist(): ImageData };
  flushMs: number;
  checkpoints: CheckpointsRepository;
  /** A running classification run is checkpointed at least this often (and at every epoch's end), in ms. */
  checkpointIntervalMs: number;
  /** How often a running run's cancel flag and attempt are re-read from Postgres, in ms. */
  controlPollMs: number;
  /** How long the final write of points may keep retrying while Postgres is down, in ms. */
  finalFlushRetryMs: number;
  log: { info(obj: object, message: string): void; warn(obj: object, message: string): void };
}

/** Why a run in this process must stop early. */
export interface RunControl {
  cancelRequested: boolean;
  /** The worker is shutting down: the run goes back to the queue for another worker. */
  handOff: boolean;
  /** Another attempt owns the run now (this worker stalled past its lock): stop, write nothing. */
  lost: boolean;
}

export type ProcessResult = "succeeded" | "failed" | "canceled" | "handed-off" | "abandoned" | "skipped";

/**
 * Runs one job: claim the run (a new attempt), train it while streaming points through the sink,
 * then write exactly one terminal status, also when training throws. Every write is fenced by the
 * attempt, so a worker that lost the run stops writing and abandons it.
 */
export function createRunProcessor(deps: RunProcessorDeps) {
  const active = new Map<string, RunControl>();
  let shuttingDown = false;

  async function process(jobData: unknown): Promise<ProcessResult> {
    const { runId } = runJobSchema.parse(jobData);
    const claimed = await deps.runs.claim(runId, deps.identity);
    if (!claimed) return "skipped"; // canceled while queued, or already ended
    const { attempt } = claimed;
    const control: RunControl = { cancelRequested: claimed.cancelRequested, handOff: shuttingDown, lost: false };
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
    // Pub/sub brings cancellation at once; this poll is the fallback, and notices a lost run early.
    const controlPoll = setInterval(() => {
      deps.runs
        .controlState(runId)
        .then((state) => {
          if (state?.cancelRequested) control.cancelRequested = true;
          if (!state || state.attempt !== attempt || state.status !== "running") control.lost = true;
        })
        .catch(() => undefined);
    }, deps.controlPollMs);
    let lastCheckpointAt = Date.now();
    const progress: TrainingProgress = {
      onPoint: (point) => sink.addPoint(point),
      onEpoch: (summary) => sink.addEpoch(summary),
      shouldStop: () => control.cancelRequested || control.handOff || control.lost || sink.stale,
      checkpointDue: () => (control.handOff && !control.cancelRequested) || Date.now() - lastCheckpointAt >= deps.checkpointIntervalMs,
      saveCheckpoint: async (checkpoint) => {
        lastCheckpointAt = Date.now();
        try {
          // Every point before the checkpoint is stored first: a resumed run recomputes only later ones.
          await sink.flushNow();
          if (sink.stale) return;
          const state = encodeCheckpoint(checkpoint);
          const saved = await deps.checkpoints.save(runId, attempt, { epoch: checkpoint.epoch, samplesSeen: checkpoint.samplesSeen, nextSeq: checkpoint.nextSeq, state });
          if (!saved) control.lost = true;
          else deps.log.info({ runId, attempt, samplesSeen: checkpoint.samplesSeen, bytes: state.length }, "checkpoint saved");
        } catch (error) {
          deps.log.warn({ err: (error as Error).message, runId }, "checkpoint not saved; training goes on");
        }
      },
    };

    let outcome: TrainingOutcome | { kind: "error"; reason: string };
    try {
      outcome = await train(claimed.spec, progress, deps.datasets, () => loadCheckpoint(runId, attempt));
    } catch (error) {
      outcome = { kind: "error", reason: `error: ${(error as Error).message}` };
    } finally {
      clearInterval(controlPoll);
      if (active.get(runId) === control) active.delete(runId);
      // An idle worker gives the memory of reused tensor arrays back.
      if (active.size === 0) clearBufferPool();
    }
    await sink.close(deps.finalFlushRetryMs);
    if (sink.stale || control.lost) return abandoned(runId, attempt);

    const ending = decideEnding(outcome, control);
    const persist = (write: () => Promise<boolean>) =>
      retrying(write, deps.finalFlushRetryMs, (error) => deps.log.warn({ err: error, runId }, "could not record the run's end yet; retrying"));
    if (ending.status === "queued") {
      if (!(await persist(() => deps.runs.release(runId, attempt)))) return abandoned(runId, attempt);
      await publishStatus({ status: "queued", reason: ending.reason, finalMetrics: null });
      return "handed-off";
    }
    if (!(await persist(() => deps.runs.finish(runId, attempt, ending)))) return abandoned(runId, attempt);
    await publishStatus(ending);
    await deps.checkpoints.remove(runId).catch(() => undefined);
    deps.log.info({ runId, attempt, status: ending.status, reason: ending.reason }, "run ended");
    return ending.status;
  }

  /** The run's last checkpoint, if an earlier attempt left one this worker can read. */
  async function loadCheckpoint(runId: string, attempt: number): Promise<TrainingCheckpoint | undefined> {
    const stored = await deps.checkpoints.load(runId);
    if (!stored) return undefined;
    try {
      const checkpoint = decodeCheckpoint(stored.state);
      deps.log.info({ runId, attempt, fromAttempt: stored.attempt, samplesSeen: stored.samplesSeen, nextSeq: stored.nextSeq }, "resuming from checkpoint");
      return checkpoint;
    } catch (error) {
      deps.log.warn({ runId, err: (error as Error).message }, "checkpoint unreadable: training from the start");
      return undefined;
    }
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
    /** Shutdown: every active run, and any that starts from now on, stops and goes back to the queue. */
    handOffAll(): void {
      shuttingDown = true;
      for (const control of active.values()) control.handOff = true;
    },
  };
}

async function train(
  rawSpec: unknown,
  progress: TrainingProgress,
  datasets: RunProcessorDeps["datasets"],
  /** Training runs checkpoint, so only they look for one (an optimization trace is at most seconds long). */
  loadCheckpoint: () => Promise<TrainingCheckpoint | undefined>,
): Promise<TrainingOutcome | { kind: "error"; reason: string }> {
  const parsed = jobSpecSchema.safeParse(rawSpec);
  if (!parsed.success) return { kind: "error", reason: `invalid stored spec: ${z.prettifyError(parsed.error)}` };
  const spec: JobSpec = parsed.data;
  switch (spec.kind) {
    case "regression":
      return trainRegression(spec, datasets.airfoil(), progress, await loadCheckpoint());
    case "optimization":
      return traceOptimization(spec, progress);
    case "classification":
      return trainClassification(spec, datasets.fashionMnist(), progress, await loadCheckpoint());
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
