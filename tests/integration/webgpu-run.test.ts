// A LeNet with batch norm trains through the service on the webgpu backend (TF_BACKEND=webgpu: in CI
// Dawn on Mesa's lavapipe, a software Vulkan driver), its run records the backend and the adapter,
// and its first losses are the cpu backend's within 1e-3 (not exactly: the GPU sums in another order,
// and a near-tie in a max pool can then go the other way). Skipped, saying why, where Dawn finds no
// WebGPU adapter; .ci/run installs lavapipe so that CI runs it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createWebGpuRuntime } from "../../src/training/webgpu-backend.js";
import { lenetSpec, writeFashionMnistFixture } from "../helpers/fashion-mnist-fixture.js";
import { airfoilSpec, getJson, inspect, runToEnd, startApi, startWorker, testEnv, type RunningApi, type WorkerProcess } from "../helpers/services.js";

const found = await createWebGpuRuntime().probe();
const skip = found.adapter ? false : `no WebGPU adapter: ${found.reason}`;

/** LeNet-BN on 128 images, a point every 32 samples (each batch): four losses to compare. */
const spec = lenetSpec({ epochs: 1, seed: 5, lossEvery: 32, limit: { train: 128, test: 64 } });

const fixture = writeFashionMnistFixture(128, 64);
const stacks: { api: RunningApi; worker: WorkerProcess; db: ReturnType<typeof inspect> }[] = [];
const start = async (backend: string) => {
  const env = testEnv({ FASHION_MNIST_DIR: fixture.dir, TF_BACKEND: backend });
  const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
  const stack = { api, worker, db: inspect(env) };
  stacks.push(stack);
  return stack;
};
let webgpu: (typeof stacks)[number];
let cpu: (typeof stacks)[number];

before(async () => {
  if (skip) return;
  [webgpu, cpu] = await Promise.all([start("webgpu"), start("cpu")]);
});
after(async () => {
  for (const stack of stacks) {
    await stack.worker.stop();
    await stack.api.service.close();
    await stack.db.close();
  }
  fixture.remove();
});

/** Runs `body` to its end (the shared helper), which must be success: its losses and stored run. */
async function runToSuccess(api: RunningApi, body: unknown = spec) {
  const { id, messages, end } = await runToEnd(api, body);
  assert.equal(end.status, "succeeded", end.reason ?? undefined);
  const losses = messages.flatMap((m) => (m.type === "points" ? m.points.map((p) => p.value) : []));
  const run = (await getJson(api.baseUrl, `/v1/runs/${id}`)).json;
  return { losses, run };
}

test("LeNet-BN trains through the service on webgpu: points stream, the run records the adapter, losses match cpu within 1e-3", { skip }, async (t) => {
  const [onGpu, onCpu] = await Promise.all([runToSuccess(webgpu.api), runToSuccess(cpu.api)]);
  assert.equal(onGpu.run.backend, "webgpu");
  assert.equal(onCpu.run.backend, "cpu");
  assert.match(onGpu.run.versions.webgpuAdapter, /\S/, "the adapter is recorded");
  assert.equal(onGpu.run.versions.webgpuAdapter.endsWith(", fallback"), found.adapter!.isFallbackAdapter);
  assert.ok(onGpu.run.versions["tfjs-backend-webgpu"]);
  assert.equal(onGpu.losses.length, 4);
  assert.equal(onCpu.losses.length, 4);
  t.diagnostic(`max |webgpu - cpu| over the points: ${Math.max(...onGpu.losses.map((loss, i) => Math.abs(loss - onCpu.losses[i]!))).toExponential(2)}`);
  onGpu.losses.forEach((loss, i) => {
    assert.ok(Math.abs(loss - onCpu.losses[i]!) < 1e-3, `point ${i}: webgpu ${loss}, cpu ${onCpu.losses[i]}`);
  });
  assert.match(webgpu.worker.output(), /TensorFlow\.js backend: webgpu/);
  // A forced webgpu worker is a cpu-lane worker unless its adapter is a real GPU.
  assert.match(webgpu.worker.output(), found.adapter!.isFallbackAdapter ? /"lanes":\["cpu"\]/ : /"lanes":\["gpu","cpu"\]/);
});

test("a regression job trains on webgpu too (a GPU worker serves the cpu lane): its losses match cpu within 1e-4", { skip }, async () => {
  const regression = airfoilSpec({ batchSize: 100, epochs: 1 });
  const [onGpu, onCpu] = await Promise.all([runToSuccess(webgpu.api, regression), runToSuccess(cpu.api, regression)]);
  assert.equal(onGpu.run.backend, "webgpu");
  assert.equal(onGpu.losses.length, onCpu.losses.length);
  onGpu.losses.forEach((loss, i) => assert.ok(Math.abs(loss - onCpu.losses[i]!) < 1e-4, `point ${i}: webgpu ${loss}, cpu ${onCpu.losses[i]}`));
});

test("a GPU worker (auto) takes webgpu only on a GPU adapter; on a software one it says so and leaves GPU jobs alone", { skip }, async () => {
  const env = testEnv({ FASHION_MNIST_DIR: fixture.dir, WORKER_ACCELERATOR: "gpu", TF_BACKEND: "auto" });
  const worker = await startWorker(env);
  try {
    const output = worker.output();
    if (found.adapter!.isFallbackAdapter) {
      assert.match(output, /webgpu is not used: the only WebGPU adapter is a fallback \(software\) one/);
      assert.match(output, /not taking GPU jobs/);
      assert.match(output, /"lanes":\["cpu"\]/);
    } else {
      assert.match(output, /TensorFlow\.js backend: webgpu/);
      assert.match(output, /"lanes":\["gpu","cpu"\]/);
    }
  } finally {
    await worker.stop();
  }
});
