import assert from "node:assert/strict";
import { after, test } from "node:test";
import { writeFashionMnistFixture } from "../helpers/fashion-mnist-fixture.js";
import { getJson, inspect, postJson, startApi, startWorker, testEnv, waitFor, type WorkerProcess } from "../helpers/services.js";

const fixture = writeFashionMnistFixture(2000, 100);
const env = testEnv({ FASHION_MNIST_DIR: fixture.dir, CHECKPOINT_INTERVAL_MS: "300", JOB_LOCK_MS: "5000", TF_BACKEND: "wasm" });
const db = inspect(env);
const workers: WorkerProcess[] = [];
const api = startApi(env);
after(async () => {
  await Promise.all(workers.map((worker) => worker.stop("SIGKILL")));
  await (await api).service.close();
  await db.close();
  fixture.remove();
});

async function worker(id: string): Promise<WorkerProcess> {
  const started = await startWorker({ ...env, WORKER_ID: id });
  workers.push(started);
  return started;
}

/** 2 epochs of 2,000 images in batches of 32: about 40 points, seconds of training. */
const spec = (seed: number) => ({
  kind: "classification",
  dataset: "fashion-mnist",
  model: { name: "lenet", batchNorm: "scratch" },
  optimizer: { name: "adam", lr: 0.01 },
  batchSize: 32,
  epochs: 2,
  seed,
  limit: { train: 2000, test: 100 },
});

const submit = async (seed: number) => (await postJson((await api).baseUrl, "/v1/runs", spec(seed))).json.id as string;
const run = async (id: string) => (await getJson((await api).baseUrl, `/v1/runs/${id}`)).json;
const storedPoints = (id: string) => db.prisma.metricPoint.findMany({ where: { runId: id }, orderBy: { seq: "asc" } });
const waitForEnd = (id: string, ms: number) => waitFor(async () => ["succeeded", "failed", "canceled"].includes((await run(id)).status), ms, `run ${id} to end`);

/** The curve of an uninterrupted run of the same spec, trained by `by`. */
async function uninterruptedCurve(seed: number): Promise<number[]> {
  const id = await submit(seed);
  await waitForEnd(id, 120_000);
  return (await storedPoints(id)).map((point) => point.value);
}

test("kill -9 of the worker mid-run: another worker resumes from the checkpoint; every point once, the uninterrupted curve", async () => {
  const [first, second] = await Promise.all([worker("worker-a"), worker("worker-b")]);
  const id = await submit(11);
  await waitFor(async () => (await db.prisma.checkpoint.count({ where: { runId: id } })) > 0 && (await storedPoints(id)).length >= 12, 120_000, "a checkpoint and a dozen points");
  const holder = (await run(id)).workerId as string;
  const [victim, survivor] = holder === "worker-a" ? [first, second] : [second, first];
  victim.child.kill("SIGKILL");
  await victim.exited;
  await waitForEnd(id, 120_000);

  const ended = await run(id);
  assert.equal(ended.status, "succeeded", ended.failureReason);
  assert.equal(ended.attempt, 2);
  assert.notEqual(ended.workerId, holder);
  assert.match(survivor.output(), /resuming from checkpoint/);
  const points = await storedPoints(id);
  assert.deepEqual(points.map((point) => point.seq), points.map((_, i) => i), "seq 0..N-1, each once");
  const reference = await uninterruptedCurve(11);
  assert.equal(points.length, reference.length);
  assert.deepEqual(points.map((point) => point.value), reference, "the same curve as a run that was never interrupted");
  assert.equal(await db.prisma.checkpoint.count({ where: { runId: id } }), 0, "a finished run keeps no checkpoint");
  await survivor.stop();
});

test("SIGTERM mid-run: the worker checkpoints and hands the run back; the next worker resumes it, the curve unchanged", async () => {
  const first = await worker("worker-c");
  const id = await submit(12);
  await waitFor(async () => (await storedPoints(id)).length >= 10, 120_000, "ten points");
  assert.equal(await first.stop("SIGTERM"), 0);
  const handedBack = await run(id);
  assert.equal(handedBack.status, "queued");
  const checkpoint = await db.prisma.checkpoint.findUniqueOrThrow({ where: { runId: id } });
  assert.ok(checkpoint.nextSeq >= 10, `the checkpoint was taken at the stop (next seq ${checkpoint.nextSeq})`);

  const next = await worker("worker-d");
  await waitForEnd(id, 120_000);
  assert.equal((await run(id)).status, "succeeded");
  assert.match(next.output(), new RegExp(`resuming from checkpoint.*"nextSeq":${checkpoint.nextSeq}|"nextSeq":${checkpoint.nextSeq}.*resuming from checkpoint`));
  const points = await storedPoints(id);
  assert.deepEqual(points.map((point) => point.seq), points.map((_, i) => i));
  assert.deepEqual(points.map((point) => point.value), await uninterruptedCurve(12));
  const job = await db.queue.jobInfo(id);
  assert.equal(job.state, "completed", "the handed-back job did not count as a failure");
  await next.stop();
});
