import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { createScratchSgd } from "../../src/training/optimizers/scratch-sgd.js";

test("scratch sgd: param -= lr * grad, without leaking tensors", async () => {
  await tf.setBackend("cpu");
  const param = tf.variable(tf.tensor1d([1, -2, 3]));
  const grad = tf.tensor1d([0.5, 0.5, -1]);
  const before = tf.memory().numTensors;
  createScratchSgd(0.1).step([param], { [param.name]: grad });
  assert.equal(tf.memory().numTensors, before);
  const updated = Array.from(param.dataSync());
  [0.95, -2.05, 3.1].forEach((expected, i) => assert.ok(Math.abs(updated[i]! - expected) < 1e-6, `${updated[i]} vs ${expected}`));
  tf.dispose([param, grad]);
});

test("scratch sgd refuses a parameter without a gradient", () => {
  const param = tf.variable(tf.scalar(1));
  assert.throws(() => createScratchSgd(0.1).step([param], {}), /no gradient/);
  param.dispose();
});
