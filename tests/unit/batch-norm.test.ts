import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/training/backend.js";
import { ScratchBatchNorm } from "../../src/training/models/batch-norm.js";
import { createRandom } from "../../src/training/random.js";

before(async () => {
  await initBackend("cpu", () => undefined);
});

const MOMENTUM = 0.9;
const EPSILON = 1e-5;

/** A tensor of the given shape with seeded normal values: mean `mean`, standard deviation `std`. */
function normalTensor(shape: number[], seed: number, mean = 0, std = 1): tf.Tensor {
  const random = createRandom(seed);
  const size = shape.reduce((product, side) => product * side, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => random.normal(mean, std)), shape);
}

/** Elementwise |actual - expected| < tolerance; `expected` as a tensor of the same shape or as flat values. */
/** Frees a layer's weights (Layer.dispose refuses layers only ever applied to concrete tensors). */
const disposeWeights = (layer: tf.layers.Layer) => layer.weights.forEach((weight) => weight.dispose());

const assertClose = (actual: tf.Tensor, expected: tf.Tensor | number[], what: string, tolerance = 1e-5) => {
  if (!Array.isArray(expected)) assert.deepEqual(actual.shape, expected.shape, what);
  const want = Array.isArray(expected) ? expected : Array.from(expected.dataSync());
  const got = Array.from(actual.dataSync());
  assert.equal(got.length, want.length, what);
  const worst = Math.max(...got.map((value, i) => Math.abs(value - want[i]!)));
  assert.ok(worst < tolerance, `${what}: largest difference ${worst}`);
};

/**
 * The scratch layer and tf.layers.batchNormalization configured as the book's (momentum 0.9,
 * epsilon 1e-5), built on `input`'s shape and given the same gamma, beta and moving statistics,
 * none of them at their initial values.
 */
function layerPair(input: tf.Tensor): { scratch: tf.layers.Layer; builtin: tf.layers.Layer } {
  const scratch = new ScratchBatchNorm({ momentum: MOMENTUM, epsilon: EPSILON });
  const builtin = tf.layers.batchNormalization({ axis: -1, momentum: MOMENTUM, epsilon: EPSILON });
  scratch.build(input.shape);
  builtin.build(input.shape);
  const features = input.shape.at(-1)!;
  const weights = [normalTensor([features], 11, 1, 0.5), normalTensor([features], 12), normalTensor([features], 13), normalTensor([features], 14, 2, 0.5).abs()];
  scratch.setWeights(weights);
  builtin.setWeights(weights);
  tf.dispose(weights);
  return { scratch, builtin };
}

/**
 * Output and gradients of sum(layer(x) * direction) with respect to x, gamma and beta. The
 * direction makes the input gradient non-zero (the gradient of sum(layer(x)) through batch
 * norm is zero in training mode).
 */
function outputAndGradients(layer: tf.layers.Layer, x: tf.Tensor, direction: tf.Tensor, training: boolean) {
  return tf.tidy(() => {
    const input = tf.variable(x);
    const [gamma, beta] = layer.trainableWeights.map((weight) => weight.read() as tf.Variable);
    let output: tf.Tensor | undefined;
    const { grads } = tf.variableGrads(() => {
      output = tf.keep(layer.apply(input, { training }) as tf.Tensor);
      return output.mul(direction).sum() as tf.Scalar;
    }, [input, gamma!, beta!]);
    const result = { output: output!, dx: grads[input.name]!, dgamma: grads[gamma!.name]!, dbeta: grads[beta!.name]! };
    input.dispose();
    return result;
  });
}

for (const shape of [
  [8, 5],
  [4, 3, 3, 2],
]) {
  for (const training of [true, false]) {
    test(`${shape.length}-D input ${JSON.stringify(shape)}, ${training ? "training" : "inference"}: scratch agrees with tf.layers.batchNormalization, values and gradients`, () => {
      const x = normalTensor(shape, 1, 3, 2);
      const direction = normalTensor(shape, 2);
      const { scratch, builtin } = layerPair(x);
      const ours = outputAndGradients(scratch, x, direction, training);
      const theirs = outputAndGradients(builtin, x, direction, training);
      for (const key of ["output", "dx", "dgamma", "dbeta"] as const) assertClose(ours[key], theirs[key], key);
      // Both moved (training) or kept (inference) their moving statistics the same way.
      scratch.getWeights().slice(2).forEach((weight, i) => assertClose(weight, builtin.getWeights()[i + 2]!, `moving statistic ${i}`));
      tf.dispose([x, direction, Object.values(ours), Object.values(theirs)]);
      disposeWeights(scratch);
      disposeWeights(builtin);
    });
  }
}

test("training normalizes with the batch's statistics: each channel of the output has mean beta and std gamma", () => {
  const x = normalTensor([6, 4, 4, 3], 5, -2, 3);
  const layer = new ScratchBatchNorm();
  const y = layer.apply(x, { training: true }) as tf.Tensor;
  // gamma = 1 and beta = 0 at the start: mean 0, biased variance var / (var + eps), about 1.
  const { mean, variance } = tf.moments(y, [0, 1, 2]);
  assertClose(mean, [0, 0, 0], "mean");
  assertClose(variance, [1, 1, 1], "variance", 1e-4);
  tf.dispose([x, y, mean, variance]);
  disposeWeights(layer);
});

test("the moving statistics follow moving = 0.9 moving + 0.1 batch, worked by hand from the batch", () => {
  // Two channels of a [2, 1, 2, 2] batch: channel 0 holds 1..4 twice, channel 1 the values below.
  const channel0 = [1, 2, 3, 4, 1, 2, 3, 4];
  const channel1 = [0, 0, 0, 0, 8, 8, 8, 8];
  const values = channel0.flatMap((value, i) => [value, channel1[i]!]);
  const x = tf.tensor4d(values, [2, 1, 4, 2]);
  const layer = new ScratchBatchNorm();
  // Batch statistics (biased variance, as the book's ((X - mean) ** 2).mean()):
  // channel 0: mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25; channel 1: mean 4, variance 16.
  const batchMean = [2.5, 4];
  const batchVar = [1.25, 16];
  let movingMean = [0, 0];
  let movingVar = [1, 1];
  for (let step = 1; step <= 3; step++) {
    tf.dispose(layer.apply(x, { training: true }) as tf.Tensor);
    movingMean = movingMean.map((value, c) => MOMENTUM * value + (1 - MOMENTUM) * batchMean[c]!);
    movingVar = movingVar.map((value, c) => MOMENTUM * value + (1 - MOMENTUM) * batchVar[c]!);
    const [, , mean, variance] = layer.getWeights();
    assertClose(mean!, movingMean, `moving mean after ${step}`, 1e-6);
    assertClose(variance!, movingVar, `moving variance after ${step}`, 1e-5);
  }
  // Step 1 by hand: mean 0.1 * [2.5, 4] = [0.25, 0.4]; variance 0.9 + 0.1 * [1.25, 16] = [1.025, 2.5].
  // Inference uses them: (x - moving mean) / sqrt(moving var + eps), gamma 1, beta 0.
  const y = layer.apply(x, { training: false }) as tf.Tensor;
  const expected = values.map((value, i) => (value - movingMean[i % 2]!) / Math.sqrt(movingVar[i % 2]! + EPSILON));
  assertClose(y, expected, "inference output");
  tf.dispose([x, y]);
  disposeWeights(layer);
});

test("training under optimizer.minimize moves gamma and beta, updates the moving statistics and leaks no tensors", () => {
  const x = normalTensor([16, 4], 7, 1, 2);
  const target = normalTensor([16, 4], 8);
  const layer = new ScratchBatchNorm();
  layer.build(x.shape);
  const optimizer = tf.train.sgd(0.1);
  const step = () =>
    tf.tidy(() => {
      optimizer.minimize(() => (layer.apply(x, { training: true }) as tf.Tensor).sub(target).square().mean() as tf.Scalar);
    });
  step(); // the optimizer makes its own bookkeeping tensors on its first step
  const before = tf.memory().numTensors;
  const [gammaBefore, betaBefore, meanBefore] = layer.getWeights().slice(0, 3).map((weight) => weight.clone());
  step();
  tf.dispose(tf.tidy(() => layer.apply(x, { training: false }) as tf.Tensor) as tf.Tensor);
  assert.equal(tf.memory().numTensors, before + 3, "only the three clones above are new");
  const [gamma, beta, mean] = layer.getWeights();
  for (const [now, then, what] of [
    [gamma!, gammaBefore!, "gamma"],
    [beta!, betaBefore!, "beta"],
    [mean!, meanBefore!, "moving mean"],
  ] as const) {
    assert.ok(tf.tidy(() => now.sub(then).abs().max().dataSync()[0]!) > 1e-4, `${what} moved`);
  }
  // The moving statistics are weights, but not trainable ones: optimizers never see them.
  assert.deepEqual(
    layer.trainableWeights.map((weight) => weight.originalName.split("/").at(-1)),
    ["gamma", "beta"],
  );
  assert.deepEqual(
    layer.nonTrainableWeights.map((weight) => weight.originalName.split("/").at(-1)),
    ["moving_mean", "moving_var"],
  );
  tf.dispose([x, target, gammaBefore!, betaBefore!, meanBefore!]);
  optimizer.dispose();
  disposeWeights(layer);
});

test("values, gradients and the moving-statistics update leave no tensors behind", () => {
  const x = normalTensor([4, 3, 3, 2], 9);
  const direction = normalTensor([4, 3, 3, 2], 10);
  const layer = new ScratchBatchNorm();
  layer.build(x.shape);
  const before = tf.memory().numTensors;
  for (const training of [true, false]) tf.dispose(Object.values(outputAndGradients(layer, x, direction, training)));
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, direction]);
  disposeWeights(layer);
});

test("a model with the scratch layer survives a round trip through JSON (the class is registered)", () => {
  const input = tf.input({ shape: [3] });
  const model = tf.model({ inputs: input, outputs: new ScratchBatchNorm({ momentum: 0.8, epsilon: 1e-3 }).apply(input) as tf.SymbolicTensor });
  const topology = model.toJSON(null, false) as tf.io.ModelJSON["modelTopology"];
  assert.match(JSON.stringify(topology), /"class_name":"ScratchBatchNorm"/);
  return tf.models.modelFromJSON({ modelTopology: topology }).then((restored) => {
    const layer = restored.layers[1] as ScratchBatchNorm;
    assert.ok(layer instanceof ScratchBatchNorm);
    assert.equal(layer.momentum, 0.8);
    assert.equal(layer.epsilon, 1e-3);
    restored.dispose();
    model.dispose();
  });
});
