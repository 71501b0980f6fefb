import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { StreamMessage } from "../../src/contracts/events.js";
import { lenetSpec, writeFashionMnistFixture } from "../helpers/fashion-mnist-fixture.js";
import { getJson, openStream, postJson, runToEnd, startApi, startWorker, testEnv, useApiAndWorker } from "../helpers/services.js";

const fixture = writeFashionMnistFixture(600, 200);
after(() => fixture.remove());
const stack = useApiAndWorker({ FASHION_MNIST_DIR: fixture.dir });

const spec = (overrides: Record<string, unknown> = {}) => lenetSpec({ batchSize: 64, seed: 3, limit: { train: 600, test: 200 }, ...overrides });


test("LeNet with scratch batch norm trains through the service: a point per 100 samples, epochs with accuracies, history stored", async () => {
  const { id, messages, end } = await runToEnd(stack.api, spec());
  assert.equal(end.status, "succeeded", end.reason ?? undefined);
  const points = messages.flatMap((m) => (m.type === "points" ? m.points : []));
  // Batches of 64 over 600 images: a point whenever samplesSeen passes a multiple of 100.
  const expectedSeen: number[] = [];
  let seen = 0;
  for (let epoch = 0; epoch < 2; epoch++) {
    for (let start = 0; start < 600; start += 64) {
      const size = Math.min(64, 600 - start);
      if (Math.floor((seen + size) / 100) > Math.floor(seen / 100)) expectedSeen.push(seen + size);
      seen += size;
    }
  }
  assert.deepEqual(points.map((p) => p.samplesSeen), expectedSeen);
  assert.deepEqual(points.map((p) => p.seq), expectedSeen.map((_, i) => i));
  assert.ok(points.every((p) => Number.isFinite(p.value) && p.value > 0));
  assert.ok(points.at(-1)!.value < points[0]!.value / 2, `loss fell: ${points[0]!.value} -> ${points.at(-1)!.value}`);

  const epochs = messages.flatMap((m) => (m.type === "epoch" ? [m.summary] : []));
  assert.deepEqual(epochs.map((e) => e.epoch), [1, 2]);
  for (const summary of epochs) {
    assert.ok(summary.trainAccuracy! >= 0 && summary.trainAccuracy! <= 1);
    assert.ok(summary.seconds > 0);
  }
  assert.ok(epochs[1]!.testAccuracy! > 0.5, `test accuracy ${epochs[1]!.testAccuracy} (chance is 0.1)`);
  assert.equal(end.finalMetrics!.testAccuracy, epochs[1]!.testAccuracy);
  assert.equal(end.finalMetrics!.samplesSeen, 1200);

  const history = (await getJson(stack.api.baseUrl, `/v1/runs/${id}/metrics`)).json;
  assert.deepEqual(history.points.map((p: { seq: number; value: number }) => [p.seq, p.value]), points.map((p) => [p.seq, p.value]));
  assert.deepEqual(history.epochs.map((e: { testAccuracy: number }) => e.testAccuracy), epochs.map((e) => e.testAccuracy));
  const run = (await getJson(stack.api.baseUrl, `/v1/runs/${id}`)).json;
  assert.deepEqual([run.kind, run.model, run.dataset, run.optimizer, run.samplesTotal], ["classification", "lenet", "fashion-mnist", "adam", 1200]);
  assert.ok(run.backend, "the run records its backend");
});

test("the same seed gives the same curve; resize and every batch-norm choice train", async () => {
  const short = spec({ epochs: 1, limit: { train: 256, test: 64 } });
  const first = await runToEnd(stack.api, short);
  const second = await runToEnd(stack.api, short);
  const values = (messages: StreamMessage[]) => messages.flatMap((m) => (m.type === "points" ? m.points.map((p) => p.value) : []));
  assert.deepEqual(values(second.messages), values(first.messages));
  for (const batchNorm of ["none", "builtin"]) {
    const { end } = await runToEnd(stack.api, spec({ model: { name: "lenet", batchNorm }, epochs: 1, limit: { train: 128, test: 32 } }));
    assert.equal(end.status, "succeeded", `${batchNorm}: ${end.reason}`);
  }
  const resized = await runToEnd(stack.api, spec({ resize: 32, batchSize: 32, epochs: 1, limit: { train: 64, test: 32 } }));
  assert.equal(resized.end.status, "succeeded", resized.end.reason ?? undefined);
});

test("classification specs are checked: bad models, sizes and batches are 400 with the field", async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ model: { name: "vgg" } }, "model.name"],
    [{ model: { name: "lenet", batchNorm: "sometimes" } }, "model.batchNorm"],
    [{ model: { name: "resnet18", batchNorm: "none" } }, "model.batchNorm"],
    [{ resize: 20 }, "resize"],
    [{ model: { name: "resnet18" }, resize: 224, batchSize: 64 }, "batchSize"],
    [{ limit: { train: 0 } }, "limit.train"],
    [{ limit: { test: 10_001 } }, "limit.test"],
    [{ accelerator: "tpu" }, "accelerator"],
    [{ dataset: "mnist" }, "dataset"],
  ];
  for (const [overrides, field] of cases) {
    const { status, json } = await postJson(stack.api.baseUrl, "/v1/runs", spec(overrides));
    assert.equal(status, 400, `${JSON.stringify(overrides)}: ${status}`);
    assert.ok(
      json.issues.some((issue: { path: string }) => issue.path === field),
      `${JSON.stringify(overrides)}: ${JSON.stringify(json.issues)}`,
    );
  }
});

test("a job that asks for a GPU waits in the GPU queue: a CPU worker never takes it", async () => {
  const submitted = await postJson(stack.api.baseUrl, "/v1/runs", spec({ accelerator: "gpu" }));
  assert.equal(submitted.status, 202);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(await stack.db.queue.jobState(submitted.json.id), "waiting");
  assert.equal((await stack.db.queue.counts("gpu")).waiting, 1);
  assert.equal((await getJson(stack.api.baseUrl, `/v1/runs/${submitted.json.id}`)).json.status, "queued");
  const canceled = await postJson(stack.api.baseUrl, `/v1/runs/${submitted.json.id}/cancel`, {});
  assert.equal(canceled.json.status, "canceled");
});

test("GET /v1/models lists the networks; the summary gives the book's shapes and refuses sizes too small", async () => {
  const { json } = await getJson(stack.api.baseUrl, "/v1/models");
  assert.deepEqual(json.models.map((m: { name: string }) => m.name), ["lenet", "resnet18", "densenet"]);
  const resnet = await getJson(stack.api.baseUrl, "/v1/models/resnet18/summary?size=224");
  assert.equal(resnet.status, 200);
  assert.deepEqual(resnet.json.layers.at(-1).outputShape, [1, 10]);
  assert.ok(resnet.json.layers.some((layer: { outputShape: number[] }) => layer.outputShape.join("x") === "1x512x7x7"));
  const tooSmall = await getJson(stack.api.baseUrl, "/v1/models/lenet/summary?size=8");
  assert.equal(tooSmall.status, 400);
  assert.equal(tooSmall.json.issues[0].path, "query.size");
  assert.equal((await getJson(stack.api.baseUrl, "/v1/models/vgg/summary")).status, 400);
});

test("a worker without the data set fails the run with a reason naming the directory", async () => {
  const env = testEnv({ FASHION_MNIST_DIR: "/nonexistent/fashion-mnist" });
  const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
  try {
    const submitted = await postJson(api.baseUrl, "/v1/runs", spec());
    const stream = openStream(api.wsUrl, submitted.json.id);
    await stream.closed;
    const end = stream.messages.at(-1) as Extract<StreamMessage, { type: "end" }>;
    assert.equal(end.status, "failed");
    assert.match(end.reason!, /train-images-idx3-ubyte.gz is missing from \/nonexistent\/fashion-mnist/);
  } finally {
    await worker.stop();
    await api.service.close();
  }
});
