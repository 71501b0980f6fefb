import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import type { EpochSummary, LossPoint } from "../../src/contracts/events.js";
import { classificationSpecSchema } from "../../src/contracts/job-spec.js";
import { initBackend } from "../../src/training/backend.js";
import { loadFashionMnist, type ImageData } from "../../src/training/fashion-mnist.js";
import { trainClassification } from "../../src/training/train-classification.js";
import { lenetSpec, writeFashionMnistFixture } from "../helpers/fashion-mnist-fixture.js";
import { stopAndResume } from "../helpers/resume.js";

let data: ImageData;
const fixture = writeFashionMnistFixture(300, 100);
before(async () => {
  await initBackend("wasm", () => undefined);
  data = loadFashionMnist(fixture.dir);
});
after(() => fixture.remove());

const spec = (overrides: Record<string, unknown> = {}) =>
  classificationSpecSchema.parse(lenetSpec({ seed: 5, limit: { train: 300, test: 100 }, ...overrides }));

async function train(overrides: Record<string, unknown> = {}, stopAfterPoints = Infinity) {
  const points: LossPoint[] = [];
  const epochs: EpochSummary[] = [];
  const outcome = await trainClassification(spec(overrides), data, {
    onPoint: (point) => points.push(point),
    onEpoch: (summary) => epochs.push(summary),
    shouldStop: () => points.length >= stopAfterPoints,
  });
  return { outcome, points, epochs };
}

test("a run leaves no tensors behind, finished or stopped early", async () => {
  await train({ epochs: 1, limit: { train: 64, test: 32 } }); // first use creates the backend's own constants
  for (const [overrides, stopAfter] of [[{}, Infinity], [{ model: { name: "lenet", batchNorm: "builtin" } }, Infinity], [{}, 2]] as const) {
    const before = tf.memory().numTensors;
    const { outcome } = await train(overrides, stopAfter);
    assert.equal(outcome.kind, stopAfter === Infinity ? "completed" : "stopped");
    assert.equal(tf.memory().numTensors, before, `${JSON.stringify(overrides)} stop after ${stopAfter}`);
  }
});

test("points: one each time samplesSeen passes a multiple of lossEvery, valued at the mean loss since the last", async () => {
  const { outcome, points, epochs } = await train({ lossEvery: 100 });
  assert.equal(outcome.kind, "completed");
  // 300 images in batches of 32: 32, 64, ..., 288, 300 per epoch.
  assert.deepEqual(points.map((p) => p.samplesSeen), [128, 224, 300, 428, 524, 600]);
  assert.deepEqual(points.map((p) => p.epoch), [128 / 300, 224 / 300, 1, 428 / 300, 524 / 300, 2]);
  // The epoch's loss is the sample-weighted mean of its batches, and so of its points' spans.
  const spans = [128, 96, 76];
  const firstEpoch = points.slice(0, 3).reduce((sum, p, i) => sum + p.value * spans[i]!, 0) / 300;
  assert.ok(Math.abs(firstEpoch - epochs[0]!.loss) < 1e-5, `${firstEpoch} vs ${epochs[0]!.loss}`);
  assert.ok(epochs[1]!.testAccuracy! > epochs[0]!.testAccuracy! - 0.05 && epochs[1]!.testAccuracy! > 0.3, JSON.stringify(epochs));
});

test("the same seed gives the same run; another seed another", async () => {
  const first = await train({ epochs: 1 });
  const again = await train({ epochs: 1 });
  const other = await train({ epochs: 1, seed: 6 });
  assert.deepEqual(again.points.map((p) => p.value), first.points.map((p) => p.value));
  assert.notDeepEqual(other.points.map((p) => p.value), first.points.map((p) => p.value));
});


for (const optimizer of [{ name: "adam", lr: 0.01 }, { name: "momentum", lr: 0.05, implementation: "builtin" }]) {
  test(`resumed from a checkpoint (mid-epoch or at an epoch's end), a run gives the uninterrupted curve (${optimizer.name} ${optimizer.implementation ?? "scratch"})`, async () => {
    const overrides = { optimizer, model: { name: "lenet", batchNorm: "builtin" }, schedule: { name: "exponential", rate: 0.01 } };
    const whole = await train(overrides);
    for (const stopAtPoint of [2, 3]) {
      // Point 2 falls mid-epoch 1, point 3 on its last batch (samplesSeen 300): resumed, it starts with the test pass.
      const { points, epochs } = await stopAndResume((progress, resumeFrom) => trainClassification(spec(overrides), data, progress, resumeFrom), stopAtPoint);
      assert.deepEqual(points.map((p) => [p.seq, p.samplesSeen]), whole.points.map((p) => [p.seq, p.samplesSeen]));
      assert.deepEqual(points.map((p) => p.value), whole.points.map((p) => p.value), `stopped at point ${stopAtPoint}`);
      assert.deepEqual(epochs.map((e) => [e.epoch, e.loss, e.trainAccuracy, e.testAccuracy]), whole.epochs.map((e) => [e.epoch, e.loss, e.trainAccuracy, e.testAccuracy]));
    }
  });
}
