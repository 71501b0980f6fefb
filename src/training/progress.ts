import type { EpochSummary, FinalMetrics, LossPoint } from "../contracts/events.js";
import type { TrainingCheckpoint } from "./checkpoint.js";

/**
 * How training talks to the outside world. The engine calls these synchronously and never awaits
 * them: whoever provides them buffers and ships the data on its own clock.
 */
export interface TrainingProgress {
  onPoint(point: LossPoint): void;
  onEpoch(summary: EpochSummary): void;
  /** Checked between steps; true when the run must stop now (canceled, or this worker lost the run). */
  shouldStop(): boolean;
  /**
   * Checked between steps (before shouldStop) by loops that can resume; when true the loop hands a
   * checkpoint to saveCheckpoint and waits for it before the next step.
   */
  checkpointDue?(): boolean;
  saveCheckpoint?(checkpoint: TrainingCheckpoint): Promise<void>;
}

export type TrainingOutcome =
  | { kind: "completed"; finalMetrics: FinalMetrics }
  | { kind: "diverged"; reason: string; samplesSeen: number }
  | { kind: "stopped"; samplesSeen: number };

/**
 * Lets timers, sockets and Redis messages run between training steps, at most every `everyMs`:
 * yielding after every step of a tiny model costs more than the step itself.
 */
export function createYielder(everyMs = 5): () => Promise<void> | undefined {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < everyMs) return undefined;
    last = now;
    return new Promise((resolve) => setImmediate(resolve));
  };
}

/** "diverged: loss is NaN at 1,200 samples" */
export function divergenceReason(value: number, samplesSeen: number): string {
  const what = Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  return `diverged: loss is ${what} at ${samplesSeen.toLocaleString("en-US")} samples`;
}
