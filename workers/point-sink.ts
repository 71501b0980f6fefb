import { StaleAttemptError } from "../src/contracts/errors.js";
import type { EpochSummary, LossPoint } from "../src/contracts/events.js";
import type { MetricsRepository } from "../src/persistence/metrics-repository.js";
import type { LiveEventPublisher } from "../src/queue/live-events.js";
import { retrying } from "./retry.js";

export interface PointSinkOptions {
  runId: string;
  attempt: number;
  metrics: MetricsRepository;
  publisher: LiveEventPublisher;
  /** Buffered points are written at least this often, in ms. */
  flushMs: number;
  log: (obj: object, message: string) => void;
}

const BATCH = 1_000;

/**
 * Takes points and epoch summaries from the training loop synchronously, writes them to Postgres
 * in batches (idempotent, fenced by attempt), and publishes only what was actually inserted, after
 * it is committed. Once a write is refused as stale the sink drops everything and says so.
 */
export function createPointSink(options: PointSinkOptions) {
  const { runId, attempt, metrics, publisher, log } = options;
  /** Points and epoch summaries in the order training produced them, so watchers get them in that order. */
  let pending: ({ kind: "point"; point: LossPoint } | { kind: "epoch"; summary: EpochSummary })[] = [];
  let stale = false;
  let inFlight: Promise<void> | undefined;

  /** Writes the pending items front to back: runs of points as one batch, each epoch on its own. */
  const writeOnce = async () => {
    while (!stale && pending.length > 0) {
      const head = pending[0]!;
      if (head.kind === "epoch") {
        const inserted = await metrics.insertEpoch(runId, attempt, head.summary);
        pending = pending.slice(1);
        if (inserted) await publisher.publish(runId, { type: "epoch", summary: head.summary }).catch(() => undefined);
        continue;
      }
      let end = 0;
      while (end < pending.length && end < BATCH && pending[end]!.kind === "point") end++;
      const batch = pending.slice(0, end).map((item) => (item as { point: LossPoint }).point);
      const inserted = await metrics.insertPoints(runId, attempt, batch);
      pending = pending.slice(end);
      if (inserted.length > 0) await publisher.publish(runId, { type: "points", points: inserted }).catch(() => undefined);
    }
  };

  /** One flush at a time; a refused (stale) write empties the sink for good. */
  const flush = (): Promise<void> => {
    inFlight ??= writeOnce()
      .catch((error: unknown) => {
        if (!(error instanceof StaleAttemptError)) throw error;
        stale = true;
        pending = [];
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  const timer = setInterval(() => {
    flush().catch((error: unknown) => log({ err: error, runId }, "could not write points yet; will retry"));
  }, options.flushMs);

  return {
    addPoint(point: LossPoint) {
      if (!stale) pending.push({ kind: "point", point });
    },
    addEpoch(summary: EpochSummary) {
      if (!stale) pending.push({ kind: "epoch", summary });
    },
    /** Writes everything buffered now; throws when Postgres cannot take it yet. */
    async flushNow(): Promise<void> {
      await flush();
      if (!stale && pending.length > 0) await flush(); // items that arrived while an older flush was finishing
    },
    /** True once Postgres refused a write because this attempt no longer owns the run. */
    get stale() {
      return stale;
    },
    /** Writes everything still buffered, retrying for up to `retryForMs`; then stops the timer. */
    async close(retryForMs: number): Promise<void> {
      clearInterval(timer);
      await retrying(flush, retryForMs, (error) => log({ err: error, runId }, "final flush failed; retrying"));
    },
  };
}

export type PointSink = ReturnType<typeof createPointSink>;
