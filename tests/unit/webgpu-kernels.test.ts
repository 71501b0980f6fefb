// The webgpu backend (tfjs-backend-webgpu on Dawn) against the cpu backend, kernel by kernel: the
// forward value and the gradient of its sum with respect to every input, for the operations a
// convnet trains with. Skipped, saying why, where Dawn finds no WebGPU adapter (no Vulkan driver);
// .ci/run installs Mesa's lavapipe so that CI runs it.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { optimizerSchema } from "../../src/contracts/job-spec.js";
import { batchNormTraining } from "../../src/training/kernels/batch-norm-training.js";
import { ADAM_STEP_KERNEL } from "../../src/training/kernels/fused-adam.js";
import { MOVING_AVERAGE_KERNEL, movingAverage } from "../../src/training/kernels/moving-average.js";
import { registerTrainingKernels } from "../../src/training/kernels/register-training-kernels.js";
import { createOptimizer } from "../../src/training/optimizers/create-optimizer.js";
import { createWebGpuRuntime, setUpWebGpu, type WebGpuAdapterInfo, type WebGpuRuntime } from "../../src/training/webgpu-backend.js";

const runtime = createWebGpuRuntime();
const found = await runtime.probe();
const skip = found.adapter ? false : `no WebGPU adapter: ${found.reason}`;
if (found.adapter) await runtime.register();
// As initBackend does for webgpu: our Adam, batch-norm and moving-average kernels and our Mean and Sum
// gradients there, checked below against the cpu's stock ops.
registerTrainingKernels("webgpu");

/** Relative tolerance: |webgpu - cpu| <= TOLERANCE * max(1, |cpu|). float32 sums in another order differ by ~1e-6 relative. */
const TOLERANCE = 1e-4;

type Op = (...inputs: tf.Tensor[]) => tf.Tensor;

/** Our kernels where the backend has them (webgpu here), else tfjs's moments and batchNorm (cpu here). */
function trainingBatchNorm(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor) {
  const fused = batchNormTraining(x, scale, offset, 1e-3);
  if (tf.getBackend() === "webgpu") assert.ok(fused, "webgpu runs LosslineBatchNormTraining");
  if (fused) return fused;
  const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
  return { y: tf.batchNorm(x, mean, variance, offset, scale, 1e-3), mean, variance };
}
interface KernelCase {
  name: string;
  shapes: number[][];
  op: Op;
}

const positive = (variance: tf.Tensor) => tf.abs(variance).add(0.5);
const CASES: KernelCase[] = [
  { name: "conv2d same, stride 1", shapes: [[2, 9, 9, 3], [3, 3, 3, 4]], op: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same") },
  { name: "conv2d valid, stride 2", shapes: [[2, 12, 12, 2], [5, 5, 2, 6]], op: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, "valid") },
  { name: "conv2d LeNet's first layer (28x28, 6 filters 5x5)", shapes: [[4, 28, 28, 1], [5, 5, 1, 6]], op: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same") },
  {
    name: "batchNorm on [n, h, w, c]",
    shapes: [[2, 5, 5, 3], [3], [3], [3], [3]],
    op: (x, mean, variance, offset, scale) => tf.batchNorm(x!, mean!, positive(variance!), offset, scale, 1e-3),
  },
  {
    name: "batchNorm on [n, features]",
    shapes: [[8, 7], [7], [7], [7], [7]],
    op: (x, mean, variance, offset, scale) => tf.batchNorm(x!, mean!, positive(variance!), offset, scale, 1e-3),
  },
  {
    name: "moments over batch and space (batch norm's training statistics)",
    shapes: [[4, 6, 6, 5]],
    op: (x) => {
      const { mean, variance } = tf.moments(x!, [0, 1, 2]);
      return mean.add(variance);
    },
  },
  { name: "mean over trailing axes, kept (a layer-norm-like reduction)", shapes: [[3, 4, 5]], op: (x) => tf.mean(x!, [1, 2], true).mul(x!) },
  { name: "mean of a rank-5 tensor (tfjs's own gradient there: webgpu's Tile stops at rank 4)", shapes: [[2, 2, 3, 2, 3]], op: (x) => tf.mean(x!, [0, 1, 2, 3]) },
  { name: "sum over every axis and mean over the middle one", shapes: [[2, 7, 3]], op: (x) => tf.sum(x!).add(tf.mean(x!, 1).sum()) },
  ...[
    [4, 6, 6, 5],
    [37, 3],
    // Past 65,535 workgroups of 64: the dispatch is folded into two dimensions.
    [1, 129, 129, 256],
  ].map((shape) => ({
    name: `batch norm in training on ${JSON.stringify(shape)} (Lossline's kernels on webgpu, tfjs's moments and batchNorm on cpu)`,
    shapes: [shape, shape.slice(-1), shape.slice(-1)],
    op: (x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor) => {
      const { y, mean, variance } = trainingBatchNorm(x, scale, offset);
      // y squared, so that dy is not constant; mean and variance weighted, so that their gradients reach x.
      return tf.concat([y.square().reshape([-1]), mean.mul(2), variance.mul(3)]);
    },
  })),
  { name: "maxPool 2x2, stride 2", shapes: [[2, 8, 8, 3]], op: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, "valid") },
  { name: "maxPool 3x3, stride 1, same", shapes: [[1, 7, 7, 2]], op: (x) => tf.maxPool(x as tf.Tensor4D, 3, 1, "same") },
  { name: "avgPool 2x2, stride 2", shapes: [[2, 8, 8, 3]], op: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, "valid") },
  { name: "avgPool 3x3, stride 2, same", shapes: [[1, 9, 9, 4]], op: (x) => tf.avgPool(x as tf.Tensor4D, 3, 2, "same") },
  { name: "matMul [64, 256] x [256, 120]", shapes: [[64, 256], [256, 120]], op: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D) },
  { name: "matMul transposed A: [3, 5]^T x [3, 4]", shapes: [[3, 5], [3, 4]], op: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, false) },
  {
    name: "softmax cross-entropy of sigmoid logits",
    shapes: [[16, 10], [16, 10]],
    op: (logits, targets) => tf.losses.softmaxCrossEntropy(tf.softmax(targets!), tf.sigmoid(logits!)),
  },
];

/** Deterministic uniform values in [-1, 1) (mulberry32). */
function uniform(count: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  });
}

/** The op's output and the gradients of its sum, computed on `backendName` from the same input values. */
async function evaluate(backendName: string, kernelCase: KernelCase, values: Float32Array[]): Promise<Float32Array[]> {
  assert.ok(await tf.setBackend(backendName), `setBackend(${backendName})`);
  // The cpu backend greets its first use in Node with advice to install tfjs-node.
  if (backendName === "cpu") (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  const inputs = kernelCase.shapes.map((shape, i) => tf.tensor(values[i]!, shape));
  const output = kernelCase.op(...inputs);
  const grads = tf.grads((...args: tf.Tensor[]) => kernelCase.op(...args).sum())(inputs);
  try {
    return (await Promise.all([output, ...grads].map((tensor) => tensor.data()))) as Float32Array[];
  } finally {
    tf.dispose([output, ...grads, ...inputs]);
  }
}

for (const [index, kernelCase] of CASES.entries()) {
  test(`webgpu agrees with cpu: ${kernelCase.name}, forward and backward`, { skip }, async () => {
    const values = kernelCase.shapes.map((shape, i) => uniform(shape.reduce((a, b) => a * b, 1), 1000 * index + i + 1));
    const expected = await evaluate("cpu", kernelCase, values);
    const actual = await evaluate("webgpu", kernelCase, values);
    expected.forEach((cpuValues, k) => {
      const what = k === 0 ? "forward" : `gradient of input ${k - 1}`;
      assert.equal(actual[k]!.length, cpuValues.length, what);
      let worst = 0;
      for (let i = 0; i < cpuValues.length; i++) {
        worst = Math.max(worst, Math.abs(actual[k]![i]! - cpuValues[i]!) / Math.max(1, Math.abs(cpuValues[i]!)));
      }
      assert.ok(worst <= TOLERANCE, `${what}: relative difference ${worst.toExponential(2)} > ${TOLERANCE}`);
    });
  });
}

test("the webgpu backend reports its adapter, and a fallback adapter is not taken for a GPU", { skip }, () => {
  const versions = runtime.versions(found.adapter!);
  assert.match(versions.webgpuAdapter!, new RegExp(found.adapter!.vendor || "unknown vendor"));
  assert.equal(versions.webgpuAdapter!.endsWith(", fallback"), found.adapter!.isFallbackAdapter);
  assert.equal(versions["tfjs-backend-webgpu"], tf.version_core);
});

test("selection: a fallback adapter is used only when allowed, and never counts as a GPU; no adapter gives the reason", async () => {
  const fakeRuntime = (adapter: WebGpuAdapterInfo | undefined) => {
    const calls = { register: 0 };
    const fake: WebGpuRuntime = {
      probe: async () => (adapter ? { adapter } : { reason: "no adapter here" }),
      register: async () => void calls.register++,
      versions: (info) => ({ webgpuAdapter: info.vendor }),
    };
    return { fake, calls };
  };
  const software = { vendor: "mesa", architecture: "software", device: "llvmpipe", description: "llvmpipe", isFallbackAdapter: true };
  const hardware = { vendor: "nvidia", architecture: "hopper", device: "H100", description: "NVIDIA H100", isFallbackAdapter: false };

  const refused = fakeRuntime(software);
  assert.match((await setUpWebGpu({ allowFallbackAdapter: false }, refused.fake) as { reason: string }).reason, /fallback \(software\) one: mesa\/software/);
  assert.equal(refused.calls.register, 0, "nothing is registered for an adapter that is passed over");
  const forced = fakeRuntime(software);
  assert.deepEqual(await setUpWebGpu({ allowFallbackAdapter: true }, forced.fake), { gpu: false, versions: { webgpuAdapter: "mesa" } });
  assert.equal(forced.calls.register, 1);
  const gpu = fakeRuntime(hardware);
  assert.deepEqual(await setUpWebGpu({ allowFallbackAdapter: false }, gpu.fake), { gpu: true, versions: { webgpuAdapter: "nvidia" } });
  assert.deepEqual(await setUpWebGpu({ allowFallbackAdapter: true }, fakeRuntime(undefined).fake), { reason: "no adapter here" });
});

/** The scratch Adam's parameters and state after 3 updates on `backendName`, from the same starting values and gradients. */
async function adamOn(backendName: string): Promise<{ values: Float32Array[]; fusedSteps: number; leaked: number; leakedData: number }> {
  assert.ok(await tf.setBackend(backendName));
  if (backendName === "cpu") (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const before = { tensors: tf.memory().numTensors, dataIds: backend.numDataIds() };
  // Small, odd, rank 4, and 77,100 elements (1,205 workgroups of 64).
  const shapes = [[1], [7], [3, 5], [2, 3, 4, 5], [300, 257]];
  const optimizer = createOptimizer(optimizerSchema.parse({ name: "adam", lr: 0.01, beta1: 0.8, beta2: 0.95 }));
  const params = tf.tidy(() => shapes.map((shape, i) => tf.variable(tf.tensor(uniform(shape.reduce((a, b) => a * b, 1), 7000 + i), shape), true, `webgpu-adam-${i}`)));
  let fusedSteps = 0;
  for (let step = 0; step < 3; step++) {
    const grads = Object.fromEntries(params.map((param, i) => [param.name, tf.tensor(uniform(param.size, 100 * step + i + 1), param.shape)]));
    // Which kernels the optimizer's step really ran.
    const profile = await tf.profile(() => optimizer.step(params, grads, 0.01));
    fusedSteps += profile.kernels.filter((kernel) => kernel.name === ADAM_STEP_KERNEL).length;
    tf.dispose(Object.values(grads));
  }
  const state = await optimizer.saveState(params);
  const values = [...(await Promise.all(params.map((param) => param.data()))), ...state.tensors.map((tensor) => tensor.values)] as Float32Array[];
  optimizer.dispose();
  tf.dispose(params);
  return { values, fusedSteps, leaked: tf.memory().numTensors - before.tensors, leakedData: backend.numDataIds() - before.dataIds };
}

test("the fused Adam on webgpu (three shaders) agrees with the composed Adam on cpu and leaks nothing", { skip }, async () => {
  const expected = await adamOn("cpu");
  const actual = await adamOn("webgpu");
  assert.equal(expected.fusedSteps, 0, "cpu composes the update here (no kernel registered on it in this file)");
  assert.equal(actual.fusedSteps, 3 * 5, "webgpu runs LosslineAdamStep for every parameter of every step");
  assert.equal(actual.leaked, 0);
  assert.equal(actual.leakedData, 0, "no backend buffers left behind");
  actual.values.forEach((values, k) => {
    let worst = 0;
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i]! - expected.values[k]![i]!) / Math.max(1, Math.abs(expected.values[k]![i]!)));
    assert.ok(worst <= 1e-5, `tensor ${k}: relative difference ${worst.toExponential(2)}`);
  });
});

test("batch norm in training on webgpu leaves no tensors and no backend buffers behind", { skip }, async () => {
  assert.ok(await tf.setBackend("webgpu"));
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const x = tf.tensor(uniform(2 * 5 * 5 * 4, 77), [2, 5, 5, 4]);
  const [scale, offset] = [tf.ones([4]), tf.zeros([4])];
  const before = { tensors: tf.memory().numTensors, dataIds: backend.numDataIds() };
  const grads = tf.grads((a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => trainingBatchNorm(a, s, o).y.square().sum())([x, scale, offset]);
  await Promise.all(grads.map((grad) => grad.data()));
  tf.dispose(grads);
  assert.equal(tf.memory().numTensors, before.tensors);
  assert.equal(backend.numDataIds(), before.dataIds);
  tf.dispose([x, scale, offset]);
});

test("the moving statistics' update on webgpu (one shader) agrees with the layers' ops on cpu, in both forms", { skip }, async () => {
  assert.ok(tf.getKernel(MOVING_AVERAGE_KERNEL, "webgpu"), "registered on webgpu");
  for (const form of ["book", "tfjs"] as const) {
    const results: Float32Array[] = [];
    for (const backendName of ["cpu", "webgpu"]) {
      assert.ok(await tf.setBackend(backendName));
      const [moving, batch] = [tf.tensor(uniform(37, 11)), tf.tensor(uniform(37, 12))];
      let updated: tf.Tensor | undefined;
      const profile = await tf.profile(() => (updated = movingAverage(moving, batch, 0.9, form)));
      const ran = profile.kernels.some((kernel) => kernel.name === MOVING_AVERAGE_KERNEL);
      assert.equal(ran, backendName === "webgpu", `${backendName}: ${ran ? "our kernel" : "the layers' ops"}`);
      results.push((await updated!.data()) as Float32Array);
      tf.dispose([moving, batch, updated!]);
    }
    results[1]!.forEach((value, i) => assert.ok(Math.abs(value - results[0]![i]!) <= 1e-6, `${form} [${i}]: webgpu ${value}, cpu ${results[0]![i]}`));
  }
});
