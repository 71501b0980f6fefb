import { StaleAttemptError } from "../src/contracts/errors.js";
import type { EpochSummary, LossPoint } from "../src/contracts/events.js";
import type { MetricsRepository } from "../src/persistence/metrics-repository.js";
import type { LiveEventPublisher } from "../src/queue/live-events.js";

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
  let points: LossPoint[] = [];
  let epochs: EpochSummary[] = [];
  let stale = false;
  let inFlight: Promise<void> | undefined;

  const writeOnce = async () => {
    while (!stale && points.length > 0) {
      const batch = points.slice(0, BATCH);
      const inserted = await metrics.insertPoints(runId, attempt, batch);
      points = points.slice(batch.length);
      if (inserted.length > 0) await publisher.publish(runId, { type: "points", points: inserted }).catch(() => undefined);
    }
    while (!stale && epochs.length > 0) {
      const summary = epochs[0]!;
      const inserted = await metrics.insertEpoch(runId, attempt, summary);
      epochs = epochs.slice(1);
      if (inserted) await publisher.publish(runId, { type: "epoch", summary }).catch(() => undefined);
    }
  };

  /** One flush at a time; a refused (stale) write empties the sink for good. */
  const flush = (): Promise<void> => {
    inFlight ??= writeOnce()
      .catch((error: unknown) => {
        if (!(error instanceof StaleAttemptError)) throw error;
        stale = true;
        points = [];
        epochs = [];
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
      if (!stale) points.push(point);
    },
    addEpoch(summary: EpochSummary) {
      if (!stale) epochs.push(summary);
    },
    /** True once Postgres refused a write because this attempt no longer owns the run. */
    get stale() {
      return stale;
    },
    /** Writes everything still buffered, retrying for up to `retryForMs`; then stops the timer. */
    async close(retryForMs: number): Promise<void> {
      clearInterval(timer);
      const deadline = Date.now() + retryForMs;
      for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
        try {
          await flush();
          if (stale || (points.length === 0 && epochs.length === 0)) return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          log({ err: error, runId }, "final flush failed; retrying");
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    },
  };
}

export type PointSink = ReturnType<typeof createPointSink>;
