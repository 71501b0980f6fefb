import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { bufferPoolStats, clearBufferPool } from "../../src/training/kernels/buffer-pool.js";
import { DEFAULT_ONEDNN_ADDON_PATH, loadOneDnnAddon } from "../../src/training/kernels/onednn-addon.js";
import { registerTrainingKernels } from "../../src/training/kernels/register-training-kernels.js";

const loaded = loadOneDnnAddon(DEFAULT_ONEDNN_ADDON_PATH, 2);
const skip = loaded.addon ? false : `the oneDNN addon is not built (${loaded.error}); npm run build:native needs libdnnl-dev`;

before(async () => {
  await tf.setBackend("cpu");
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  if (loaded.addon) registerTrainingKernels("cpu", { oneDnn: loaded.addon });
});

interface CpuData {
  data: { get(dataId: tf.DataId): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): tf.TensorInfo;
}
/** The array the cpu backend keeps for `tensor` (no copy). */
const stored = (tensor: tf.Tensor) => (tf.backend() as unknown as CpuData).data.get(tensor.dataId).values;

// 64 x 1024 floats: past the pool's 4 KiB floor. Native Add (the addon's binary loop) takes its output from the pool.
const SHAPE = [64, 1024];
const seeded = (seed: number) => tf.randomUniform(SHAPE, -1, 1, "float32", seed);

test("a disposed native output's array is reused for the next output of its length, with the right values", { skip }, () => {
  const [a, b] = [seeded(1), seeded(2)];
  const first = tf.add(a, b);
  const array = stored(first);
  first.dispose();
  const before = bufferPoolStats()!;
  const second = tf.sub(a, b);
  assert.equal(stored(second), array, "the freed array is handed out again");
  assert.equal(bufferPoolStats()!.reused, before.reused + 1);
  const [av, bv, sv] = [a.dataSync(), b.dataSync(), second.dataSync()];
  for (let i = 0; i < sv.length; i += 997) assert.equal(sv[i], Math.fround(av[i]! - bv[i]!));
  tf.dispose([a, b, second]);
});

test("dataSync and data hand out copies: what a reader holds survives the tensor's disposal and the array's reuse", { skip }, async () => {
  const [a, b] = [seeded(3), seeded(4)];
  const sum = tf.add(a, b);
  const array = stored(sum);
  const synced = sum.dataSync();
  const awaited = (await sum.data()) as Float32Array;
  assert.notEqual(synced, stored(sum));
  assert.notEqual(awaited, stored(sum));
  const expected = Float32Array.from(synced);
  sum.dispose();
  const overwrite = tf.mul(a, b);
  assert.equal(stored(overwrite), array, "the freed array was reused");
  assert.deepEqual(synced, expected);
  assert.deepEqual(awaited, expected);
  tf.dispose([a, b, overwrite]);
});

test("an array that a second tensor shares (a view or the same values) is never reused", { skip }, () => {
  const [a, b] = [seeded(5), seeded(6)];
  const sum = tf.add(a, b);
  const array = stored(sum);
  const backend = tf.backend() as unknown as CpuData;
  const aliasedBefore = bufferPoolStats()!.aliased;
  // What a stock kernel does when it returns (part of) its input's values: a contiguous Slice's subarray.
  const view = tf.engine().makeTensorFromTensorInfo(backend.makeTensorInfo([1024], "float32", array.subarray(1024, 2048)));
  const expected = Float32Array.from(array.subarray(1024, 2048));
  assert.equal(bufferPoolStats()!.aliased, aliasedBefore + 1, "the view marks the array aliased when it is stored");
  sum.dispose();
  const next = tf.mul(a, b);
  assert.notEqual(stored(next), array, "the aliased array stays out of the pool");
  assert.deepEqual(view.dataSync(), expected);
  tf.dispose([a, b, view, next]);
});

for (const [how, share] of [
  ["reshape", (t: tf.Tensor) => t.reshape([1024, 64])],
  ["clone", (t: tf.Tensor) => t.clone()],
] as const) {
  test(`a tensor sharing the data (${how}) keeps the array out of the pool until the last one is disposed`, { skip }, () => {
    const [a, b] = [seeded(7), seeded(8)];
    const sum = tf.add(a, b);
    const array = stored(sum);
    const shared = share(sum);
    const expected = Float32Array.from(array);
    sum.dispose();
    const other = tf.sub(a, b);
    assert.notEqual(stored(other), array, `still held by the ${how}`);
    assert.deepEqual(shared.dataSync(), expected);
    shared.dispose();
    const reused = tf.mul(a, b);
    assert.equal(stored(reused), array, `free once the ${how} is gone`);
    tf.dispose([a, b, other, reused]);
  });
}

test("clearBufferPool drops the free arrays, and the pool leaves no tensors behind", { skip }, () => {
  assert.ok(bufferPoolStats(), "the oneDNN kernels installed the pool");
  const tensorsBefore = tf.memory().numTensors;
  tf.tidy(() => {
    const [a, b] = [seeded(9), seeded(10)];
    for (let i = 0; i < 5; i++) tf.add(a, b).mul(a).sub(b);
  });
  assert.ok(bufferPoolStats()!.freeBytes > 0);
  assert.equal(tf.memory().numTensors, tensorsBefore);
  clearBufferPool();
  assert.equal(bufferPoolStats()!.freeBytes, 0);
  const [a, b] = [seeded(11), seeded(12)];
  const allocated = bufferPoolStats()!.allocated;
  const sum = tf.add(a, b);
  assert.equal(bufferPoolStats()!.allocated, allocated + 1, "a fresh array after clearing");
  tf.dispose([a, b, sum]);
});

test("disposing data that is already gone does nothing, as on the stock backend", { skip }, () => {
  const backend = tf.backend() as unknown as CpuData & { disposeIntermediateTensorInfo(info: tf.TensorInfo): void };
  const info = backend.makeTensorInfo([4], "float32", new Float32Array(4));
  backend.disposeIntermediateTensorInfo(info);
  assert.doesNotThrow(() => backend.disposeIntermediateTensorInfo(info));
});
