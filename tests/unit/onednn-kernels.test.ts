import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { modelSpecSchema, type ModelSpec } from "../../src/contracts/models.js";
import { optimizerSchema } from "../../src/contracts/job-spec.js";
import { initBackend } from "../../src/training/backend.js";
import { batchNormTraining } from "../../src/training/kernels/batch-norm-training.js";
import { stockGradient } from "../../src/training/kernels/gradient-overrides.js";
import { DEFAULT_ONEDNN_ADDON_PATH, loadOneDnnAddon, type OneDnnAddon } from "../../src/training/kernels/onednn-addon.js";
import { registerTrainingKernels, stockKernel } from "../../src/training/kernels/register-training-kernels.js";
import { ScratchBatchNorm } from "../../src/training/models/batch-norm.js";
import { createModel } from "../../src/training/models/create-model.js";
import { residualBlock, stem } from "../../src/training/models/resnet.js";
import { withFusedTraining } from "../../src/training/models/fused-training-batch-norm.js";
import { createSeededLayers, globalAveragePool, paddedMaxPool, zeroPad } from "../../src/training/models/seeded-layers.js";
import { createOptimizer } from "../../src/training/optimizers/create-optimizer.js";
import { trainStep } from "../../src/training/train-classification.js";

const loaded = loadOneDnnAddon(DEFAULT_ONEDNN_ADDON_PATH, 2);
const skip = loaded.addon ? false : `the oneDNN addon is not built (${loaded.error}); npm run build:native needs libdnnl-dev`;
let nativeKernels: string[] = [];

/** Calls into the addon so far: a native-vs-stock comparison must see some, or it compared stock with stock. */
let addonCalls = 0;

before(async () => {
  if (!loaded.addon) return;
  await useCpu();
  const counted = new Proxy(loaded.addon as OneDnnAddon, {
    get(target, property) {
      const value = Reflect.get(target, property);
      return typeof value === "function" ? (...args: unknown[]) => (addonCalls++, value.apply(target, args)) : value;
    },
  });
  nativeKernels = registerTrainingKernels("cpu", { oneDnn: counted });
});

async function useCpu(): Promise<void> {
  await tf.setBackend("cpu");
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
}

/**
 * Puts the stock cpu kernels (and tfjs's own batch-norm, mean, sum, ReLU and sigmoid gradients) in place of ours, and removes ours that
 * have no stock kernel (the fused Adam: the optimizer composes tfjs ops without it); the returned function
 * puts ours back.
 */
function useStockKernels(): () => void {
  const ours = nativeKernels.map((name) => tf.getKernel(name, "cpu")!);
  const replacedGradients = ["FusedBatchNorm", "Mean", "Sum", "Relu", "Sigmoid"];
  const ourGradients = replacedGradients.map((name) => tf.getGradient(name)!);
  const swap = (kernels: { kernelName: string; kernelFunc?: tf.KernelFunc }[], gradients: tf.GradConfig[]) => {
    for (const { kernelName, kernelFunc } of kernels) {
      if (tf.getKernel(kernelName, "cpu")) tf.unregisterKernel(kernelName, "cpu");
      if (kernelFunc) tf.registerKernel({ kernelName, backendName: "cpu", kernelFunc });
    }
    gradients.forEach((gradient) => tf.registerGradient(gradient));
  };
  swap(ours.map((kernel) => ({ kernelName: kernel.kernelName, kernelFunc: stockKernel(kernel.kernelName, "cpu") })), replacedGradients.map((name) => stockGradient(name)!));
  return () => swap(ours, ourGradients);
}

/** Runs `f` with the stock cpu kernels in place of the native ones, then puts the native ones back. */
function withStockKernels<T>(f: () => T): T {
  const restore = useStockKernels();
  try {
    return f();
  } finally {
    restore();
  }
}

/** Seeded values in [-1, 1). */
function random(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, "float32", seed);
}

/**
 * `f`'s results with the native kernels and with the stock ones, compared elementwise; the native
 * run must call into the addon unless `what` ends in "(stock)".
 */
function assertAgrees(what: string, f: () => tf.Tensor[], tolerance = 1e-4): void {
  const read = () => tf.tidy(() => f()).map((t) => {
    const values = t.dataSync() as Float32Array;
    t.dispose();
    return { shape: t.shape, values };
  });
  const callsBefore = addonCalls;
  const native = read();
  // Cases named "… (stock)" check the fallback to tfjs's kernel, so only they may leave the addon alone.
  if (!what.endsWith("(stock)")) assert.ok(addonCalls > callsBefore, `${what}: the native kernels ran (else this compares stock with stock)`);
  const stock = withStockKernels(read);
  assert.equal(native.length, stock.length, what);
  native.forEach((result, i) => {
    assert.deepEqual(result.shape, stock[i]!.shape, `${what} [${i}] shape`);
    const scale = stock[i]!.values.reduce((largest, value) => Math.max(largest, Math.abs(value)), 1);
    result.values.forEach((value, j) => {
      const expected = stock[i]!.values[j]!;
      if (!(Math.abs(value - expected) <= tolerance * scale)) assert.fail(`${what} [${i}] at ${j}: native ${value}, stock ${expected}`);
    });
  });
}

/** d/d(inputs) of sum(f(inputs) * w) for fixed random w, and f's value. */
function valueAndGrads(f: (...inputs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): tf.Tensor[] {
  const y = f(...inputs);
  const weights = random(y.shape, 99);
  return [y, ...tf.grads((...xs: tf.Tensor[]) => f(...xs).mul(weights).sum())(inputs)];
}

type Pad = "same" | "valid";
const convCases: { x: [number, number, number, number]; filter: [number, number, number, number]; strides: 1 | 2; pad: Pad }[] = [
  { x: [1, 7, 5, 1], filter: [3, 3, 1, 3], strides: 1, pad: "same" },
  { x: [2, 7, 5, 3], filter: [3, 3, 3, 4], strides: 2, pad: "same" },
  { x: [1, 7, 5, 6], filter: [5, 5, 6, 2], strides: 1, pad: "valid" },
  { x: [2, 7, 5, 3], filter: [5, 5, 3, 6], strides: 2, pad: "valid" },
  { x: [2, 9, 8, 3], filter: [7, 7, 3, 4], strides: 2, pad: "same" },
  { x: [1, 7, 5, 6], filter: [1, 1, 6, 3], strides: 2, pad: "same" },
  { x: [3, 12, 12, 16], filter: [3, 3, 16, 32], strides: 1, pad: "same" },
  { x: [4, 11, 13, 8], filter: [3, 3, 8, 16], strides: 2, pad: "valid" },
  // Channels in whole blocks of 16, 32 and 64: the filter moves to and from oneDNN's blocked layouts by our own copies.
  { x: [2, 6, 6, 64], filter: [3, 3, 64, 64], strides: 1, pad: "same" },
  { x: [2, 7, 7, 32], filter: [3, 3, 32, 128], strides: 2, pad: "same" },
  { x: [2, 5, 5, 48], filter: [1, 1, 48, 16], strides: 1, pad: "valid" },
  { x: [1, 4, 4, 128], filter: [3, 3, 128, 96], strides: 1, pad: "same" },
  // One input channel (a network's first convolution) takes its own backward-data path.
  { x: [3, 20, 18, 1], filter: [7, 7, 1, 16], strides: 2, pad: "same" },
  { x: [2, 12, 12, 1], filter: [5, 5, 1, 6], strides: 1, pad: "valid" },
  { x: [1, 9, 11, 1], filter: [4, 2, 1, 5], strides: 2, pad: "valid" },
];

test("conv2d, fused conv2d (bias, relu) and their gradients agree with the stock cpu kernels", { skip }, async () => {
  await useCpu();
  for (const c of convCases) {
    const label = `x ${c.x} filter ${c.filter} stride ${c.strides} ${c.pad}`;
    assertAgrees(`conv2d ${label}`, () => valueAndGrads((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad), [random(c.x, 1), random(c.filter, 2)]));
    assertAgrees(`fused conv2d ${label}`, () =>
      valueAndGrads(
        (x, w, bias) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: c.strides, pad: c.pad, bias, activation: "relu" }),
        [random(c.x, 3), random(c.filter, 4), random([c.filter[3]], 5)],
      ),
    );
  }
});

test("matMul in every transpose, batched and broadcast, fused with bias and relu, with gradients agrees with stock", { skip }, async () => {
  await useCpu();
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      const shapes: [number[], number[]][] = [
        [transposeA ? [5, 3] : [3, 5], transposeB ? [4, 5] : [5, 4]],
        [transposeA ? [2, 6, 3] : [2, 3, 6], transposeB ? [2, 7, 6] : [2, 6, 7]],
        [transposeA ? [1, 9, 1] : [1, 1, 9], transposeB ? [1, 2, 9] : [1, 9, 2]],
        [transposeA ? [3, 6, 5] : [3, 5, 6], transposeB ? [4, 6] : [6, 4]],
      ];
      for (const [aShape, bShape] of shapes) {
        const label = `a ${aShape} b ${bShape} tA ${transposeA} tB ${transposeB}`;
        // tfjs's own BatchMatMul gradient does not sum over a broadcast batch: values only there.
        const broadcast = aShape.length !== bShape.length;
        const product = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, transposeA, transposeB);
        assertAgrees(`matMul ${label}`, () => (broadcast ? [product(random(aShape, 6), random(bShape, 7))] : valueAndGrads(product, [random(aShape, 6), random(bShape, 7)])));
        if (aShape.length !== 2 || bShape.length !== 2) continue;
        const n = transposeB ? bShape[0]! : bShape[1]!;
        assertAgrees(`fused matMul ${label}`, () =>
          valueAndGrads((a, b, bias) => tf.fused.matMul({ a: a!, b: b!, transposeA, transposeB, bias, activation: "relu" }), [random(aShape, 8), random(bShape, 9), random([n], 10)]),
        );
      }
    }
  }
});

test("max and average pooling and their gradients agree with stock (same/valid, strides, odd sizes)", { skip }, async () => {
  await useCpu();
  const cases: { x: [number, number, number, number]; size: number; strides: number; pad: Pad }[] = [
    { x: [2, 9, 7, 3], size: 2, strides: 2, pad: "valid" },
    { x: [1, 9, 7, 5], size: 3, strides: 2, pad: "same" },
    { x: [3, 8, 8, 16], size: 3, strides: 1, pad: "same" },
    { x: [2, 7, 7, 4], size: 2, strides: 1, pad: "valid" },
  ];
  for (const c of cases) {
    const label = `x ${c.x} pool ${c.size}/${c.strides} ${c.pad}`;
    assertAgrees(`maxPool ${label}`, () => valueAndGrads((x) => tf.maxPool(x as tf.Tensor4D, c.size, c.strides, c.pad), [random(c.x, 11)]));
    assertAgrees(`avgPool ${label}`, () => valueAndGrads((x) => tf.avgPool(x as tf.Tensor4D, c.size, c.strides, c.pad), [random(c.x, 12)]));
  }
  // Ties after ReLU (many zeros) send the gradient to the same element as the stock kernel.
  assertAgrees("maxPool of relu", () => valueAndGrads((x) => tf.maxPool(tf.relu(x) as tf.Tensor4D, 3, 2, "same"), [random([2, 9, 9, 4], 13)]));
});

test("elementwise ops with batch-norm broadcasts, unary ops and reductions agree with stock", { skip }, async () => {
  await useCpu();
  const pairs: [number[], number[]][] = [
    [[4, 5, 3, 6], [4, 5, 3, 6]],
    [[4, 5, 3, 6], [6]],
    [[6], [4, 5, 3, 6]],
    [[8, 10], [8, 1]],
    [[1, 10], [8, 10]],
    [[8, 1], [1, 10]], // neither operand full: the stock kernel runs
    [[3, 4], []],
    [[], [200, 300]],
  ];
  const binaries = [tf.add, tf.sub, tf.mul, tf.div, tf.squaredDifference, tf.maximum, tf.minimum];
  const broadcastGrads = [tf.add, tf.sub, tf.mul, tf.div];
  for (const [aShape, bShape] of pairs) {
    for (const op of binaries) {
      const inputs = () => [random(aShape, 14), random(bShape, 15).add(op === tf.div ? 3 : 0)];
      // tfjs's own SquaredDifference, Maximum and Minimum gradients do not reduce over broadcast axes: values only there.
      const valuesOnly = aShape.join() !== bShape.join() && !broadcastGrads.includes(op);
      assertAgrees(`${op.name} ${aShape} ${bShape}`, () => (valuesOnly ? [op(...(inputs() as [tf.Tensor, tf.Tensor]))] : valueAndGrads((a, b) => op(a!, b!), inputs())));
    }
  }
  const unaries = [tf.sigmoid, tf.relu, tf.step, tf.square, tf.exp, tf.neg];
  for (const op of unaries) assertAgrees(`${op.name}`, () => valueAndGrads((x) => op(x!), [random([300, 257], 16)]));
  assertAgrees("sqrt", () => valueAndGrads((x) => tf.sqrt(x!), [random([300, 257], 17).add(2)]));
  assertAgrees("step with alpha (stock)", () => [tf.step(random([10, 3], 18), 0.5)]);
  // ReLU's gradient in one pass: exactly dy * step(x), signed zeros and NaN included.
  const reluGrad = () => tf.tidy(() => {
    const dy = tf.tensor1d([2, 2, 2, 2, -3, 2, -3, NaN]);
    return Array.from(tf.grad((t) => tf.relu(t).mul(dy).sum())(tf.tensor1d([NaN, 0, -0, 1, -1, Infinity, -Infinity, 1])).dataSync());
  });
  const reluCallsBefore = addonCalls;
  const nativeReluGrad = reluGrad();
  assert.ok(addonCalls > reluCallsBefore, "ReLU's gradient: the native kernels ran (else this compares stock with stock)");
  assert.deepStrictEqual(nativeReluGrad, withStockKernels(reluGrad));
  const x = () => random([6, 5, 4, 7], 19);
  for (const axes of [[0], [0, 1, 2], [3], [2, 3], [1], [1, 2], [0, 1, 2, 3], [0, 2]]) {
    for (const keepDims of [false, true]) {
      assertAgrees(`sum ${axes} ${keepDims}`, () => valueAndGrads((t) => tf.sum(t!, axes, keepDims), [x()]));
      assertAgrees(`mean ${axes} ${keepDims}`, () => valueAndGrads((t) => tf.mean(t!, axes, keepDims), [x()]));
      // The native reduction takes a leading or trailing block of axes; others fall back.
      const block = axes.every((axis, i) => axis === axes[0]! + i) && (axes[0] === 0 || axes.at(-1) === 3);
      assertAgrees(`max ${axes} ${keepDims}${block ? "" : " (stock)"}`, () => [tf.max(x(), axes, keepDims)]);
    }
  }
  for (const [statistics, rank] of [[[6], 4], [[1], 4], [[7], 2]] as const) {
    const xShape = rank === 4 ? [3, 5, 4, statistics[0] === 1 ? 6 : 6] : [9, 7];
    const stats = [...statistics];
    assertAgrees(`batchNorm ${xShape} statistics ${stats}`, () =>
      valueAndGrads((t, mean, variance, scale, offset) => tf.batchNorm(t!, mean!, variance!, offset, scale, 1e-3), [
        random(xShape, 24), random(stats, 25), random(stats, 26).add(1.5), random(stats, 27), random(stats, 28),
      ]),
    );
  }
  assertAgrees("batch norm in training (moments of x), values and gradients", () =>
    valueAndGrads(
      (t, scale, offset) => {
        const { mean, variance } = tf.moments(t!, [0, 1, 2]);
        return tf.batchNorm(t!, mean, variance, offset, scale, 1e-5);
      },
      [random([4, 5, 3, 8], 29), random([8], 30), random([8], 31)],
    ),
  );
  assertAgrees("sum of a big tensor over its leading axes", () => [tf.sum(random([64, 30, 30, 6], 20), [0, 1, 2])], 1e-5);
  assertAgrees("int32 add (stock)", () => [tf.add(tf.tensor1d([1, 2, 3], "int32"), tf.scalar(2, "int32"))]);
});

test("batch norm in training as one kernel agrees with tf.moments then tf.batchNorm: output, statistics and gradients", { skip }, async () => {
  await useCpu();
  for (const shape of [[6, 5], [3, 5, 4, 7], [2, 9, 9, 64], [4, 300]]) {
    const channels = shape.at(-1)!;
    const axes = shape.slice(0, -1).map((_, axis) => axis);
    // The stock run (our kernels removed) composes tfjs's ops, as tf.layers.batchNormalization does.
    const normalize = (x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor) => {
      const fused = batchNormTraining(x, scale, offset, 1e-5);
      if (fused) return fused;
      const { mean, variance } = tf.moments(x, axes);
      return { y: tf.batchNorm(x, mean, variance, offset, scale, 1e-5), mean, variance };
    };
    // Weighted so that the gradient also flows through the statistics; x off zero, as activations are.
    const inputs = () => [random(shape, 40).mul(3).add(2), random([channels], 41), random([channels], 42)];
    assertAgrees(`batch norm in training ${shape}`, () =>
      valueAndGrads((x, scale, offset) => {
        const { y, mean, variance } = normalize(x!, scale!, offset!);
        return tf.concat([y.reshape([-1]), mean.mul(random([channels], 43)), variance.mul(random([channels], 44))]);
      }, inputs()),
    );
  }
});

test("tf.layers.batchNormalization with the fused training call: the same output and moving statistics", { skip }, async () => {
  await useCpu();
  const run = () => {
    const layer = withFusedTraining(tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }));
    const outputs = [1, 2].map((seed) => tf.tidy(() => layer.apply(random([4, 6, 5, 8], 50 + seed).add(seed), { training: true }) as tf.Tensor));
    const weights = layer.getWeights().map((weight) => weight.clone());
    const inference = tf.tidy(() => layer.apply(random([4, 6, 5, 8], 53), { training: false }) as tf.Tensor);
    layer.weights.forEach((weight) => weight.dispose());
    return [...outputs, ...weights, inference];
  };
  assertAgrees("batch norm layer", run);
  const before = { tensors: tf.memory().numTensors, dataIds: tf.backend().numDataIds() };
  tf.dispose(run());
  assert.deepEqual({ tensors: tf.memory().numTensors, dataIds: tf.backend().numDataIds() }, before);
});

test("the scratch batch norm layer with the fused training call: the same output, gradients and moving statistics", { skip }, async () => {
  await useCpu();
  const run = (shape: number[]) => {
    const layer = new ScratchBatchNorm({ momentum: 0.9, epsilon: 1e-5 });
    layer.build(shape);
    const [gamma, beta] = layer.trainableWeights.map((weight) => weight.read() as tf.Variable);
    const results = [1, 2].flatMap((seed) =>
      tf.tidy(() => {
        const x = random(shape, 60 + seed).mul(3).add(seed);
        gamma!.assign(random([shape.at(-1)!], 62 + seed).add(1));
        beta!.assign(random([shape.at(-1)!], 64 + seed));
        // Through gamma and beta too: the layer reads them from its variables, so take them as variables' grads.
        const direction = random(shape, 66 + seed);
        const { value, grads } = tf.variableGrads(() => (layer.apply(x, { training: true }) as tf.Tensor).mul(direction).sum() as tf.Scalar, [gamma!, beta!]);
        const dx = tf.grad((input: tf.Tensor) => (layer.apply(input, { training: true }) as tf.Tensor).mul(direction).sum())(x);
        return [layer.apply(x, { training: true }) as tf.Tensor, value, dx, grads[gamma!.name]!, grads[beta!.name]!];
      }),
    );
    const weights = layer.getWeights().map((weight) => weight.clone());
    layer.weights.forEach((weight) => weight.dispose());
    return [...results, ...weights];
  };
  for (const shape of [[16, 12], [4, 6, 5, 8], [8, 12, 12, 6]]) {
    assertAgrees(`scratch batch norm ${shape}`, () => run(shape));
    const before = { tensors: tf.memory().numTensors, dataIds: tf.backend().numDataIds() };
    tf.dispose(run(shape));
    assert.deepEqual({ tensors: tf.memory().numTensors, dataIds: tf.backend().numDataIds() }, before, `no leak ${shape}`);
  }
});

test("max pooling with explicit padding agrees with zero padding then valid pooling (positive input), values and gradients, native and stock", { skip }, async () => {
  await useCpu();
  const input = tf.input({ shape: [9, 8, 5] });
  const padded = tf.model({ inputs: input, outputs: paddedMaxPool(input, { poolSize: 3, strides: 2, pixels: 1, name: "pool" }) });
  const zeroPadded = tf.model({ inputs: input, outputs: tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: "pool" }).apply(zeroPad(input, 1, "pad")) as tf.SymbolicTensor });
  assert.deepEqual(padded.outputs[0]!.shape, zeroPadded.outputs[0]!.shape);
  // Positive values always beat the zero padding, as the ReLU's output does where the networks pool.
  const run = (model: tf.LayersModel) => tf.tidy(() => valueAndGrads((x) => model.apply(x!) as tf.Tensor, [random([3, 9, 8, 5], 70).abs().add(0.01)]));
  for (const [engine, within] of [["native", <T>(f: () => T) => f()], ["stock", withStockKernels]] as const) {
    const callsBefore = addonCalls;
    const [ours, reference] = within(() => [run(padded), run(zeroPadded)]);
    if (engine === "native") assert.ok(addonCalls > callsBefore, "padded max pooling: the native kernels ran");
    ours!.forEach((tensor, i) => {
      assert.deepEqual(tensor.shape, reference![i]!.shape, `${engine} [${i}] shape`);
      assert.deepEqual(Array.from(tensor.dataSync()), Array.from(reference![i]!.dataSync()), `${engine} [${i}]`);
    });
    tf.dispose([...ours!, ...reference!]);
  }
  const before = tf.memory().numTensors;
  tf.dispose(run(padded));
  assert.equal(tf.memory().numTensors, before);
});

test("slice, split, pad, tile and concatenation (and their gradients) agree with stock", { skip }, async () => {
  await useCpu();
  const x = () => random([3, 7, 6, 5], 32);
  const slices: [number[], number[]][] = [
    [[0, 1, 2, 0], [3, 5, 3, 5]],
    [[1, 0, 0, 0], [2, 7, 6, 5]],
    [[0, 0, 0, 1], [3, 7, 6, 3]],
    [[2, 6, 5, 4], [1, 1, 1, 1]],
  ];
  for (const [begin, size] of slices) assertAgrees(`slice ${begin} ${size}`, () => valueAndGrads((t) => tf.slice(t!, begin, size), [x()]));
  assertAgrees("concat on the last axis (its gradient splits)", () => valueAndGrads((a, b) => tf.concat([a!, b!], -1), [random([3, 4, 5, 6], 33), random([3, 4, 5, 2], 34)]));
  assertAgrees("concat on axis 1", () => valueAndGrads((a, b) => tf.concat([a!, b!], 1), [random([3, 4, 5], 35), random([3, 2, 5], 36)]));
  assertAgrees("concat of three on axis 0", () => valueAndGrads((a, b, c) => tf.concat([a!, b!, c!], 0), [random([2, 3, 4], 45), random([1, 3, 4], 46), random([3, 3, 4], 47)]));
  assertAgrees("concat of three on axis 2 of 4-D (a big one: the parallel copy)", () =>
    valueAndGrads((a, b, c) => tf.concat([a!, b!, c!], 2), [random([8, 30, 40, 50], 48), random([8, 30, 1, 50], 49), random([8, 30, 7, 50], 51)]),
  );
  assertAgrees("concat with one input (stock)", () => [tf.concat([random([3, 4], 52)], 1)]);
  assertAgrees("split in 3", () => tf.split(x(), 3, 0));
  assertAgrees("split [1, 4] on the last axis", () => tf.split(x(), [1, 4], -1));
  assertAgrees("pad 4-D with zeros", () => valueAndGrads((t) => tf.pad(t!, [[0, 0], [3, 2], [1, 1], [0, 0]]), [x()]));
  assertAgrees("pad 2-D with a constant", () => [tf.pad(random([4, 3], 37), [[1, 0], [2, 3]], 1.5)]);
  assertAgrees("tile as a block repeat", () => valueAndGrads((t) => tf.tile(t!, [2, 3, 4, 1]), [random([1, 1, 1, 5], 38)]));
  assertAgrees("tile of another kind (stock)", () => [tf.tile(random([2, 3], 39), [2, 2])]);
});

test("native kernels leak neither tensors nor backend buffers", { skip }, async () => {
  await useCpu();
  const inputs = [random([2, 9, 9, 3], 21), random([3, 3, 3, 8], 22), random([8], 23)];
  const f = (x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) => {
    const y = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: "same", bias, activation: "relu" });
    const pooled = tf.maxPool(y, 2, 2, "valid");
    const flat = pooled.reshape([2, -1]);
    const logits = tf.matMul(flat, tf.ones([flat.shape[1]!, 10]));
    return tf.sigmoid(logits.sub(logits.mean(0))).sum();
  };
  const step = () => tf.tidy(() => void tf.grads(f)(inputs));
  step(); // warm-up: builds the primitives
  const before = { tensors: tf.memory().numTensors, dataIds: tf.backend().numDataIds() };
  for (let i = 0; i < 3; i++) step();
  assert.deepEqual({ tensors: tf.memory().numTensors, dataIds: tf.backend().numDataIds() }, before);
  tf.dispose(inputs);
});

/** A small ResNet: the book's stem, a residual block, a downsampling one with a 1x1 shortcut, pooling, dense 10. */
function smallResNet(size: number): tf.LayersModel {
  const layers = createSeededLayers("builtin", 7);
  const input = tf.input({ shape: [size, size, 1] });
  let x = residualBlock(layers, stem(layers, input), { channels: 64, name: "block1" });
  x = residualBlock(layers, x, { channels: 128, use1x1Conv: true, strides: 2, name: "block2" });
  return tf.model({ inputs: input, outputs: layers.dense(globalAveragePool(x), { units: 10, name: "dense" }) });
}

/**
 * Losses of the first `steps` training steps of a fresh model (SGD 0.1, so the weights' difference is
 * the gradients' difference times 0.1; Adam's normalised steps would magnify rounding where a gradient is ~0),
 * and the trained weights.
 */
async function firstSteps(build: () => tf.LayersModel, size: number, batchSize: number, steps: number): Promise<{ losses: number[]; weights: Float32Array[] }> {
  const model = build();
  const params = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const optimizer = createOptimizer(optimizerSchema.parse({ name: "sgd", lr: 0.1 }));
  const batch = tf.tidy(() => ({
    images: tf.randomUniform([batchSize, size, size, 1], 0, 1, "float32", 3) as tf.Tensor4D,
    labels: tf.randomUniform([batchSize], 0, 10, "int32", 4) as tf.Tensor1D,
  }));
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) losses.push((await trainStep(model, params, optimizer, 0.1, batch)).loss);
  const weights = params.map((param) => param.dataSync() as Float32Array);
  tf.dispose([batch.images, batch.labels]);
  model.dispose();
  optimizer.dispose();
  return { losses, weights };
}

/** firstSteps with the stock cpu kernels (an async body, so the swap is done by hand). */
async function firstStepsStock(...args: Parameters<typeof firstSteps>): ReturnType<typeof firstSteps> {
  const restore = useStockKernels();
  try {
    return await firstSteps(...args);
  } finally {
    restore();
  }
}

const leNet = () => createModel(modelSpecSchema.parse({ name: "lenet", batchNorm: "scratch" }) as ModelSpec, { size: 28, seed: 7 });
for (const { name, build, size, batchSize } of [
  { name: "LeNet with scratch batch norm", build: leNet, size: 28, batchSize: 16 },
  { name: "a small ResNet", build: () => smallResNet(24), size: 24, batchSize: 4 },
]) {
  test(`the first training steps of ${name} agree with the stock cpu backend`, { skip }, async () => {
    await useCpu();
    const native = await firstSteps(build, size, batchSize, 3);
    const stock = await firstStepsStock(build, size, batchSize, 3);
    native.losses.forEach((loss, step) => assert.ok(Math.abs(loss - stock.losses[step]!) < 1e-5 * Math.max(1, Math.abs(loss)), `step ${step}: native ${loss}, stock ${stock.losses[step]}`));
    native.weights.forEach((weights, i) =>
      weights.forEach((value, j) => {
        if (!(Math.abs(value - stock.weights[i]![j]!) < 1e-5)) assert.fail(`weight ${i}[${j}]: native ${value}, stock ${stock.weights[i]![j]}`);
      }),
    );
  });
}

test("TF_BACKEND=onednn trains on cpu with the addon and records engine onednn", { skip }, async () => {
  const lines: string[] = [];
  const info = await initBackend("onednn", (line) => lines.push(line));
  assert.equal(info.name, "cpu");
  assert.equal(info.versions.engine, "onednn");
  assert.match(info.versions.onednn ?? "", /^\d+\.\d+\.\d+$/);
  assert.match(lines.join("\n"), /oneDNN/);
  await assert.rejects(initBackend("onednn", () => undefined, { oneDnnAddonPath: "/nonexistent/lossline_onednn.node" }), /oneDNN addon does not load/);
});

test("a worker that cannot load the addon falls back to wasm, says so, and still trains", async () => {
  const lines: string[] = [];
  const info = await initBackend("auto", (line) => lines.push(line), { oneDnnAddonPath: "/nonexistent/lossline_onednn.node" });
  assert.equal(info.name, "wasm");
  assert.equal(info.versions.engine, "wasm");
  assert.match(lines.join("\n"), /oneDNN addon not loaded, falling back to wasm: \/nonexistent\/lossline_onednn.node/);
  const { losses } = await firstSteps(leNet, 28, 8, 2);
  assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  await useCpu();
});
