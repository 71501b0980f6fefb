import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import type { EpochSummary, LossPoint } from "../../src/contracts/events.js";
import { decodeCheckpoint, encodeCheckpoint, type TrainingCheckpoint } from "../../src/training/checkpoint.js";
import type { TrainingOutcome, TrainingProgress } from "../../src/training/progress.js";

/**
 * Trains until `stopAtPoint` points exist and a checkpoint was taken there (through encode and
 * decode, as the worker stores it), then trains the rest from that checkpoint in a fresh loop.
 * Returns the points and epochs of both parts together; asserts the resumed part leaks no tensor.
 */
export async function stopAndResume(
  train: (progress: TrainingProgress, resumeFrom?: TrainingCheckpoint) => Promise<TrainingOutcome>,
  stopAtPoint: number,
): Promise<{ points: LossPoint[]; epochs: EpochSummary[]; checkpoint: TrainingCheckpoint }> {
  const saved: TrainingCheckpoint[] = [];
  const points: LossPoint[] = [];
  const epochs: EpochSummary[] = [];
  const record = { onPoint: (point: LossPoint) => void points.push(point), onEpoch: (summary: EpochSummary) => void epochs.push(summary) };
  const first = await train({
    ...record,
    checkpointDue: () => points.length === stopAtPoint,
    saveCheckpoint: async (checkpoint) => void saved.push(decodeCheckpoint(encodeCheckpoint(checkpoint))),
    shouldStop: () => points.length >= stopAtPoint && saved.length > 0,
  });
  assert.equal(first.kind, "stopped");
  const checkpoint = saved.at(-1)!;
  assert.equal(checkpoint.nextSeq, points.length, "the checkpoint's next seq follows the last point handed over");
  const tensorsBefore = tf.memory().numTensors;
  const rest = await train({ ...record, shouldStop: () => false }, checkpoint);
  assert.equal(rest.kind, "completed");
  assert.equal(tf.memory().numTensors, tensorsBefore, "resuming leaks nothing");
  return { points, epochs, checkpoint };
}
