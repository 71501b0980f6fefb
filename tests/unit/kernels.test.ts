import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerTrainingKernels, stockKernel, trainingConv2dBackpropInput } from "../../src/training/kernels/register-training-kernels.js";

type Pad = "same" | "valid" | tf.backend_util.ExplicitPadding;
interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: 1 | 2;
  pad: Pad;
}
/** Odd image sizes, filters 1/3/5/7, strides 1/2, every padding kind, channels 1/3/6, batch 1 and 2. */
const convCases: ConvCase[] = [
  { x: [1, 7, 5, 1], filter: [3, 3, 1, 3], strides: 1, pad: "same" },
  { x: [2, 7, 5, 3], filter: [3, 3, 3, 4], strides: 2, pad: "same" },
  { x: [1, 7, 5, 6], filter: [5, 5, 6, 2], strides: 1, pad: "valid" },
  { x: [2, 7, 5, 3], filter: [5, 5, 3, 6], strides: 2, pad: "valid" },
  { x: [1, 7, 5, 3], filter: [5, 5, 3, 3], strides: 2, pad: "same" },
  { x: [2, 7, 5, 6], filter: [1, 1, 6, 3], strides: 1, pad: "valid" },
  { x: [1, 7, 5, 3], filter: [1, 1, 3, 6], strides: 2, pad: "same" },
  { x: [2, 9, 8, 3], filter: [7, 7, 3, 4], strides: 2, pad: "same" },
  { x: [1, 7, 5, 1], filter: [7, 7, 1, 2], strides: 1, pad: "same" },
  { x: [1, 7, 5, 3], filter: [3, 3, 3, 2], strides: 1, pad: [[0, 0], [1, 2], [2, 1], [0, 0]] },
];
const label = (c: ConvCase) => `x ${c.x.join("x")} filter ${c.filter.join("x")} stride ${c.strides} pad ${JSON.stringify(c.pad)}`;

/** Deterministic values in [-1, 1). */
function values(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.sin(seed * 12.9898 + i * 78.233) % 1;
  return out;
}
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const outShape = (c: ConvCase) => tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad).outShape;

/** d/dx and d/dfilter of sum(conv2d(x, filter) * weights) on the current backend. */
function convGrads(c: ConvCase): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(sizeOf(c.x), 1), c.x);
    const filter = tf.tensor4d(values(sizeOf(c.filter), 2), c.filter);
    const weights = tf.tensor(values(sizeOf(outShape(c)), 3), outShape(c));
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad).mul(weights).sum();
    return tf.grads(f)([x, filter]).map((g) => g.dataSync() as Float32Array);
  });
}

interface MatMulCase {
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
}
const matMulCases: MatMulCase[] = [false, true].flatMap((transposeA) =>
  [false, true].flatMap((transposeB) => [
    { a: transposeA ? [5, 3] : [3, 5], b: transposeB ? [4, 5] : [5, 4], transposeA, transposeB },
    { a: transposeA ? [2, 6, 3] : [2, 3, 6], b: transposeB ? [2, 7, 6] : [2, 6, 7], transposeA, transposeB },
  ]),
);

/** Values and gradients of matMul and of fused matMul (bias + relu) on the current backend. */
function matMulResults(c: MatMulCase): Float32Array[] {
  return tf.tidy(() => {
    const a = tf.tensor(values(sizeOf(c.a), 4), c.a);
    const b = tf.tensor(values(sizeOf(c.b), 5), c.b);
    const bias = tf.tensor1d(values(c.transposeB ? c.b.at(-2)! : c.b.at(-1)!, 6));
    const plain = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, c.transposeA, c.transposeB);
    const fused = (x: tf.Tensor, y: tf.Tensor) =>
      tf.fused.matMul({ a: x, b: y, transposeA: c.transposeA, transposeB: c.transposeB, bias, activation: "relu" });
    const weighted = (f: typeof plain) => (x: tf.Tensor, y: tf.Tensor) => f(x, y).mul(tf.tensor(values(sizeOf(plain(a, b).shape), 7), plain(a, b).shape)).sum();
    return [plain(a, b), fused(a, b), ...tf.grads(weighted(plain))([a, b]), ...tf.grads(weighted(fused))([a, b])].map((t) => t.dataSync() as Float32Array);
  });
}

/** Gradients of max- and average-pooling layers as the networks use them (wasm's stock pool grads). */
function poolGrads(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(2 * 9 * 7 * 3, 8), [2, 9, 7, 3]);
    return [
      tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 3, 2, "same").square().sum())(x),
      tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, "valid").square().sum())(x),
      tf.grad((a: tf.Tensor) => tf.avgPool(a as tf.Tensor4D, 2, 2, "valid").square().sum())(x),
      tf.grad((a: tf.Tensor) => tf.mean(a, [1, 2]).square().sum())(x),
    ].map((t) => t.dataSync() as Float32Array);
  });
}

/** Tilings: block repeats (our fast path, as in the batch-norm gradient) and general ones (stock). */
const tileCases: { shape: number[]; reps: number[] }[] = [
  { shape: [1, 1, 1, 6], reps: [2, 7, 5, 1] },
  { shape: [1, 1, 5, 3], reps: [3, 2, 1, 1] },
  { shape: [1, 3], reps: [4, 1] },
  { shape: [2, 3], reps: [2, 3] },
  { shape: [1, 1, 1, 6], reps: [1, 1, 1, 1] },
];
function tiles(): Float32Array[] {
  return tf.tidy(() => [
    ...tileCases.map((c) => tf.tile(tf.tensor(values(sizeOf(c.shape), 11), c.shape), c.reps).dataSync() as Float32Array),
    Float32Array.from(tf.tile(tf.tensor([[1, 2, 3]], [1, 3], "int32"), [3, 1]).dataSync()),
  ]);
}

/** max |actual - expected| / max |expected| <= tolerance, the relative error of the whole tensor. */
function assertClose(actual: Float32Array, expected: Float32Array, what: string, tolerance = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1e-6;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  }
  assert.ok(worst / scale <= tolerance, `${what}: relative error ${(worst / scale).toExponential(2)} > ${tolerance}`);
}

// References come from the cpu backend's stock kernels, computed before any of ours is registered.
let reference: { conv: Float32Array[][]; matMul: Float32Array[][]; pool: Float32Array[]; tiles: Float32Array[] };
before(async () => {
  await tf.setBackend("cpu");
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  reference = { conv: convCases.map(convGrads), matMul: matMulCases.map(matMulResults), pool: poolGrads(), tiles: tiles() };
  registerTrainingKernels("cpu");
  await tf.setBackend("wasm");
  registerTrainingKernels("wasm");
});

test("registerTrainingKernels is idempotent and names what it registered", () => {
  assert.deepEqual(registerTrainingKernels("cpu"), ["Conv2DBackpropFilter", "LosslineAdamStep"]);
  assert.deepEqual(registerTrainingKernels("wasm"), ["Conv2DBackpropFilter", "Conv2DBackpropInput", "BatchMatMul", "_FusedMatMul", "Tile"]);
  assert.deepEqual(registerTrainingKernels("webgl"), []);
  assert.equal(stockKernel("Conv2DBackpropFilter", "wasm"), undefined);
  assert.notEqual(stockKernel("Conv2DBackpropFilter", "cpu"), tf.getKernel("Conv2DBackpropFilter", "cpu")!.kernelFunc);
});

for (const backendName of ["cpu", "wasm"]) {
  test(`${backendName}: conv2d gradients (x and filter) match the stock cpu kernels`, async () => {
    await tf.setBackend(backendName);
    convCases.forEach((c, i) => {
      const [dx, dFilter] = convGrads(c);
      assertClose(dx!, reference.conv[i]![0]!, `${backendName} dx, ${label(c)}`);
      assertClose(dFilter!, reference.conv[i]![1]!, `${backendName} dFilter, ${label(c)}`);
    });
  });

  test(`${backendName}: our Conv2DBackpropInput kernel matches the stock cpu kernel`, async () => {
    // On cpu ours is not registered (slower than stock there), so call it directly.
    await tf.setBackend(backendName);
    for (const c of convCases) {
      const dy = tf.tensor(values(sizeOf(outShape(c)), 9), outShape(c));
      const filter = tf.tensor4d(values(sizeOf(c.filter), 10), c.filter);
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: "NHWC", inputShape: c.x } as unknown as tf.NamedAttrMap;
      const ours = trainingConv2dBackpropInput(backendName)({ inputs: { dy, filter }, backend: tf.backend(), attrs }) as tf.TensorInfo;
      const actual = tf.backend().readSync(ours.dataId) as Float32Array;
      tf.backend().disposeData(ours.dataId);
      await tf.setBackend("cpu");
      const stock = stockKernel("Conv2DBackpropInput", "cpu")!({ inputs: { dy, filter }, backend: tf.backend(), attrs }) as tf.TensorInfo;
      assertClose(actual, tf.backend().readSync(stock.dataId) as Float32Array, `${backendName} ${label(c)}`);
      tf.backend().disposeData(stock.dataId);
      tf.dispose([dy, filter]);
      await tf.setBackend(backendName);
    }
  });

  test(`${backendName}: matMul and fused matMul, every transpose combination, values and gradients`, async () => {
    await tf.setBackend(backendName);
    matMulCases.forEach((c, i) => {
      matMulResults(c).forEach((result, j) =>
        assertClose(result, reference.matMul[i]![j]!, `${backendName} ${JSON.stringify(c)} output ${j}`),
      );
    });
  });

  test(`${backendName}: pooling gradients match the stock cpu kernels`, async () => {
    await tf.setBackend(backendName);
    poolGrads().forEach((grad, i) => assertClose(grad, reference.pool[i]!, `${backendName} pool case ${i}`));
  });

  test(`${backendName}: tile matches the stock cpu kernel, exactly`, async () => {
    await tf.setBackend(backendName);
    tiles().forEach((tiled, i) => assert.deepEqual(tiled, reference.tiles[i], `tile case ${i}`));
  });

  test(`${backendName}: a training step's kernels leave no tensors or backend buffers behind`, async () => {
    await tf.setBackend(backendName);
    convGrads(convCases[1]!); // warm up anything cached on first use
    const tensors = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();
    for (const c of convCases) convGrads(c);
    for (const c of matMulCases) matMulResults(c);
    poolGrads();
    tiles();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.backend().numDataIds(), buffers);
  });
}

test("dilated and NCHW convolutions are refused with a clear error", async () => {
  await tf.setBackend("wasm");
  const x = tf.zeros([1, 5, 5, 1]);
  const dy = tf.zeros([1, 5, 5, 1]);
  const kernel = tf.getKernel("Conv2DBackpropFilter", "wasm")!.kernelFunc;
  const run = (attrs: Record<string, unknown>) =>
    kernel({ inputs: { x, dy }, backend: tf.backend(), attrs: { strides: 1, pad: "same", filterShape: [3, 3, 1, 1], ...attrs } as tf.NamedAttrMap });
  assert.throws(() => run({ dilations: 2 }), /dilation 1 only/);
  assert.throws(() => run({ dataFormat: "NCHW" }), /NHWC only/);
  tf.dispose([x, dy]);
});
