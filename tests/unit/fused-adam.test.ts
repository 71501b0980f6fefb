import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { optimizerSchema } from "../../src/contracts/job-spec.js";
import { ADAM_STEP_KERNEL, adamStepKernel } from "../../src/training/kernels/fused-adam.js";
import { DEFAULT_ONEDNN_ADDON_PATH, loadOneDnnAddon } from "../../src/training/kernels/onednn-addon.js";
import { createOptimizer } from "../../src/training/optimizers/create-optimizer.js";

const loaded = loadOneDnnAddon(DEFAULT_ONEDNN_ADDON_PATH, 2);

before(async () => {
  await tf.setBackend("cpu");
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
});

/** Registers `kernelFunc` as the cpu's fused Adam (undefined: none, so the scratch Adam composes ops); returns the restore. */
function useAdamKernel(kernelFunc: tf.KernelFunc | undefined): () => void {
  const previous = tf.getKernel(ADAM_STEP_KERNEL, "cpu");
  const set = (config: tf.KernelConfig | undefined) => {
    if (tf.getKernel(ADAM_STEP_KERNEL, "cpu")) tf.unregisterKernel(ADAM_STEP_KERNEL, "cpu");
    if (config) tf.registerKernel(config);
  };
  set(kernelFunc ? { kernelName: ADAM_STEP_KERNEL, backendName: "cpu", kernelFunc } : undefined);
  return () => set(previous);
}

// Small, odd, rank-4, and past the addon's one-thread limit (65,536 elements).
const SHAPES = [[1], [7], [3, 5], [2, 3, 4, 5], [300, 257]];

/** The scratch Adam's parameters and state after `steps` updates with seeded gradients, as plain arrays. */
async function adamRun(kernelFunc: tf.KernelFunc | undefined, steps: number): Promise<Float32Array[]> {
  let fusedCalls = 0;
  const restore = useAdamKernel(kernelFunc);
  try {
    const optimizer = createOptimizer(optimizerSchema.parse({ name: "adam", lr: 0.01, beta1: 0.8, beta2: 0.95 }));
    // Seeds from 1: tfjs takes a seed of 0 as none.
    const params = tf.tidy(() => SHAPES.map((shape, i) => tf.variable(tf.randomNormal(shape, 0, 1, "float32", i + 1), true, `fused-adam-${i}`)));
    for (let step = 0; step < steps; step++) {
      // Gradients with some exact zeros, tiny and large values: the bias correction and epsilon matter.
      const grads = tf.tidy(() =>
        Object.fromEntries(params.map((param, i) => [param.name, tf.randomNormal(param.shape, 0, 1, "float32", 100 * step + i + 1).mul(tf.scalar(10).pow(tf.randomUniform(param.shape, -4, 2, "float32", 100 * step + i + 1).round())).relu()])),
      );
      // Which kernels the step really ran: the fused one for every parameter, or never.
      const profile = await tf.profile(() => optimizer.step(params, grads, 0.01 * (step + 1)));
      fusedCalls += profile.kernels.filter((kernel) => kernel.name === ADAM_STEP_KERNEL).length;
      tf.dispose(Object.values(grads));
    }
    assert.equal(fusedCalls, kernelFunc ? steps * SHAPES.length : 0, kernelFunc ? "the fused kernel ran for every parameter" : "the composed ops ran");
    const state = await optimizer.saveState(params);
    const values = [...params.map((param) => param.dataSync() as Float32Array), ...state.tensors.map((tensor) => tensor.values.slice())];
    optimizer.dispose();
    tf.dispose(params);
    return values;
  } finally {
    restore();
  }
}

function assertSameBits(actual: Float32Array[], expected: Float32Array[], what: string): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((values, i) => {
    assert.equal(values.length, expected[i]!.length);
    values.forEach((value, j) => {
      if (!Object.is(value, expected[i]![j])) assert.fail(`${what}: tensor ${i} [${j}]: fused ${value}, composed ${expected[i]![j]}`);
    });
  });
}

test("the fused Adam in JavaScript gives the composed ops' parameters and state, bit for bit", async () => {
  const composed = await adamRun(undefined, 4);
  assertSameBits(await adamRun(adamStepKernel() as unknown as tf.KernelFunc, 4), composed, "JavaScript");
});

test("the fused Adam of the oneDNN addon gives the composed ops' parameters and state, bit for bit", { skip: loaded.addon ? false : `addon not built (${loaded.error})` }, async () => {
  const composed = await adamRun(undefined, 4);
  assertSameBits(await adamRun(adamStepKernel(loaded.addon) as unknown as tf.KernelFunc, 4), composed, "native");
});

test("the fused Adam leaks neither tensors nor backend buffers", async () => {
  for (const kernel of [adamStepKernel(), ...(loaded.addon ? [adamStepKernel(loaded.addon)] : [])]) {
    await adamRun(kernel as unknown as tf.KernelFunc, 1); // the first run makes tfjs's own scalar caches
    const before = { tensors: tf.memory().numTensors, dataIds: tf.backend().numDataIds() };
    await adamRun(kernel as unknown as tf.KernelFunc, 3);
    assert.deepEqual({ tensors: tf.memory().numTensors, dataIds: tf.backend().numDataIds() }, before);
  }
});
