import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import type { EpochSummary, LossPoint } from "../../src/contracts/events.js";
import { decodeCheckpoint, encodeCheckpoint, type TrainingCheckpoint } from "../../src/training/checkpoint.js";
import type { TrainingOutcome, TrainingProgress } from "../../src/training/progress.js";

/**
 * Trains until the loop asks whether a checkpoint is due and `due` says yes (a number: once that
 * many points exist), takes it there (through encode and decode, as the worker stores it) and
 * stops; then trains the rest from that checkpoint in a fresh loop. Returns the points and epochs
 * of both parts together and the second part's outcome; asserts the resumed part leaks no tensor.
 */
export async function stopAndResume(
  train: (progress: TrainingProgress, resumeFrom?: TrainingCheckpoint) => Promise<TrainingOutcome>,
  due: number | ((points: LossPoint[], epochs: EpochSummary[]) => boolean),
): Promise<{ points: LossPoint[]; epochs: EpochSummary[]; checkpoint: TrainingCheckpoint; outcome: TrainingOutcome }> {
  const isDue = typeof due === "number" ? (points: LossPoint[]) => points.length === due : due;
  const saved: TrainingCheckpoint[] = [];
  const points: LossPoint[] = [];
  const epochs: EpochSummary[] = [];
  const record = { onPoint: (point: LossPoint) => void points.push(point), onEpoch: (summary: EpochSummary) => void epochs.push(summary) };
  const first = await train({
    ...record,
    checkpointDue: () => saved.length === 0 && isDue(points, epochs),
    saveCheckpoint: async (checkpoint) => void saved.push(decodeCheckpoint(encodeCheckpoint(checkpoint))),
    shouldStop: () => saved.length > 0,
  });
  assert.equal(first.kind, "stopped");
  const checkpoint = saved.at(-1)!;
  assert.equal(checkpoint.nextSeq, points.length, "the checkpoint's next seq follows the last point handed over");
  const tensorsBefore = tf.memory().numTensors;
  const rest = await train({ ...record, shouldStop: () => false }, checkpoint);
  assert.equal(rest.kind, "completed");
  assert.equal(tf.memory().numTensors, tensorsBefore, "resuming leaks nothing");
  return { points, epochs, checkpoint, outcome: rest };
}
