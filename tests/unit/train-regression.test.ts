import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import type { EpochSummary, LossPoint } from "../../src/contracts/events.js";
import { SEED_REGRESSION_SPEC } from "../../src/contracts/examples.js";
import { regressionSpecSchema, type RegressionSpec } from "../../src/contracts/job-spec.js";
import { loadAirfoil, type RegressionData } from "../../src/training/airfoil.js";
import { initBackend } from "../../src/training/backend.js";
import type { TrainingProgress } from "../../src/training/progress.js";
import { trainRegression } from "../../src/training/train-regression.js";
import { stopAndResume } from "../helpers/resume.js";

let data: RegressionData;
before(async () => {
  await initBackend("cpu", () => undefined);
  data = loadAirfoil();
});

const spec = (overrides: Record<string, unknown> = {}): RegressionSpec =>
  regressionSpecSchema.parse({ ...SEED_REGRESSION_SPEC, ...overrides });

function recorder(stopAfterPoints = Number.POSITIVE_INFINITY) {
  const points: LossPoint[] = [];
  const epochs: EpochSummary[] = [];
  const progress: TrainingProgress = {
    onPoint: (point) => points.push(point),
    onEpoch: (summary) => epochs.push(summary),
    shouldStop: () => points.length >= stopAfterPoints,
  };
  return { points, epochs, progress };
}

test("the seed job: 31 points every 100 samples, loss falling from ~0.5 to ~0.245", async () => {
  const { points, epochs, progress } = recorder();
  const outcome = await trainRegression(spec(), data, progress);
  assert.equal(outcome.kind, "completed");
  assert.deepEqual(points.map((p) => p.seq), Array.from({ length: 31 }, (_, i) => i));
  assert.deepEqual(points.map((p) => p.samplesSeen), Array.from({ length: 31 }, (_, i) => i * 100));
  assert.deepEqual(points.map((p) => p.epoch).filter((e) => Number.isInteger(e)), [0, 1, 2]);
  assert.ok(points[0]!.value > 0.45 && points[0]!.value < 0.55, `initial loss ${points[0]!.value}`);
  const final = points.at(-1)!.value;
  assert.ok(final > 0.235 && final < 0.255, `final loss ${final}`);
  assert.deepEqual(epochs.map((e) => e.epoch), [1, 2]);
  assert.equal(epochs[1]!.loss, final);
  if (outcome.kind === "completed") assert.equal(outcome.finalMetrics.loss, final);
});

test("the same seed and spec give the same curve, point for point; another seed does not", async () => {
  const first = recorder();
  const second = recorder();
  const other = recorder();
  await trainRegression(spec(), data, first.progress);
  await trainRegression(spec(), data, second.progress);
  await trainRegression(spec({ seed: 2 }), data, other.progress);
  assert.deepEqual(first.points.map((p) => p.value), second.points.map((p) => p.value));
  assert.notDeepEqual(first.points.map((p) => p.value), other.points.map((p) => p.value));
});

test("batch 1500 records after every step", async () => {
  const run = recorder();
  await trainRegression(spec({ batchSize: 1500, optimizer: { name: "sgd", lr: 1 } }), data, run.progress);
  assert.deepEqual(run.points.map((p) => p.samplesSeen), [0, 1500, 3000]);
});

test("a diverging run ends with a reason naming the value and the samples seen", async () => {
  const { points, progress } = recorder();
  const outcome = await trainRegression(spec({ optimizer: { name: "sgd", lr: 100 } }), data, progress);
  assert.equal(outcome.kind, "diverged");
  if (outcome.kind !== "diverged") return;
  assert.match(outcome.reason, /^diverged: loss is (NaN|Infinity) at [\d,]+ samples$/);
  assert.ok(outcome.samplesSeen > 0 && outcome.samplesSeen < 3000);
  assert.ok(points.every((p) => Number.isFinite(p.value)), "no non-finite point is reported");
});

test("shouldStop stops between steps", async () => {
  const { points, progress } = recorder(3);
  const outcome = await trainRegression(spec(), data, progress);
  assert.equal(outcome.kind, "stopped");
  assert.equal(points.length, 3);
  if (outcome.kind === "stopped") assert.equal(outcome.samplesSeen, 200);
});

test("training leaks no tensors, whether it completes, diverges or stops", async () => {
  const before = tf.memory().numTensors;
  await trainRegression(spec(), data, recorder().progress);
  await trainRegression(spec({ optimizer: { name: "sgd", lr: 100 } }), data, recorder().progress);
  await trainRegression(spec(), data, recorder(2).progress);
  assert.equal(tf.memory().numTensors, before);
});

for (const overrides of [
  { optimizer: { name: "adam", lr: 0.01 }, batchSize: 7, epochs: 3, seed: 3, lossEvery: 35 },
  { optimizer: { name: "momentum", lr: 0.01, momentum: 0.9 }, schedule: { name: "exponential", rate: 0.001 }, batchSize: 100, epochs: 2, seed: 8 },
]) {
  test(`resumed from a checkpoint (mid-epoch or at an epoch's end), a run gives the uninterrupted curve (${overrides.optimizer.name})`, async () => {
    const whole = { ...recorder(), outcome: undefined as unknown as Awaited<ReturnType<typeof trainRegression>> };
    whole.outcome = await trainRegression(spec(overrides), data, whole.progress);
    const perEpoch = whole.points.filter((p) => p.samplesSeen <= 1500).length - 1; // points in epoch 1, after the initial one
    // Mid-epoch; at epoch 1's last point (with batch 100, its last batch: resumed, the run starts with
    // the epoch's end); and at epoch 1's end, after its summary (resumed: epoch 2, batch 0).
    const stops: [string, Parameters<typeof stopAndResume>[1]][] = [
      ["point 3", 3],
      [`point ${perEpoch + 1}`, perEpoch + 1],
      ["the end of epoch 1", (_points, epochs) => epochs.length === 1],
    ];
    for (const [stopAt, due] of stops) {
      const { points, epochs, checkpoint, outcome } = await stopAndResume((progress, resumeFrom) => trainRegression(spec(overrides), data, progress, resumeFrom), due);
      if (stopAt.startsWith("the end")) assert.deepEqual([checkpoint.epoch, checkpoint.batchesDone], [2, 0]);
      assert.ok(outcome.kind === "completed" && whole.outcome.kind === "completed");
      assert.equal(outcome.finalMetrics.loss, whole.outcome.finalMetrics.loss, "the final loss");
      assert.equal(outcome.finalMetrics.samplesSeen, whole.outcome.finalMetrics.samplesSeen);
      assert.deepEqual(points.map((p) => [p.seq, p.samplesSeen]), whole.points.map((p) => [p.seq, p.samplesSeen]));
      assert.deepEqual(points.map((p) => p.value), whole.points.map((p) => p.value), `stopped at ${stopAt}`);
      assert.deepEqual(epochs.map((e) => [e.epoch, e.loss]), whole.epochs.map((e) => [e.epoch, e.loss]));
    }
  });
}
