import assert from "node:assert/strict";
import { after, test } from "node:test";
import { lenetSpec, writeFashionMnistFixture } from "../helpers/fashion-mnist-fixture.js";
import { getJson, inspect, openStream, postJson, startApi, startWorker, testEnv, waitFor, type WorkerProcess } from "../helpers/services.js";

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

async function worker(id: string, workerEnv: Record<string, string> = env): Promise<WorkerProcess> {
  const started = await startWorker({ ...workerEnv, WORKER_ID: id });
  workers.push(started);
  return started;
}

/** 2 epochs of 2,000 images in batches of 32: about 40 points, seconds of training. */
const spec = (seed: number) => lenetSpec({ seed, limit: { train: 2000, test: 100 } });

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

test("a run whose worker dies on every attempt ends failed after MAX_WORKER_CRASHES, and watchers are told", async () => {
  const crashEnv = { ...env, QUEUE_NAME: `${env.QUEUE_NAME}-crash`, MAX_WORKER_CRASHES: "1", RECONCILE_GRACE_MS: "1000" };
  const crashApi = await startApi(crashEnv);
  const crashDb = inspect(crashEnv);
  const crashWorkers: WorkerProcess[] = [];
  try {
    const id = (await postJson(crashApi.baseUrl, "/v1/runs", spec(13))).json.id as string;
    const stream = openStream(crashApi.wsUrl, id);
    let current = await worker("crash-1", crashEnv);
    crashWorkers.push(current);
    for (let attempt = 1; attempt <= 2; attempt++) {
      await waitFor(async () => (await crashDb.prisma.run.findUniqueOrThrow({ where: { id } })).attempt === attempt, 60_000, `attempt ${attempt}`);
      const next = await worker(`crash-${attempt + 1}`, crashEnv); // alive to notice the stall (and to take the next attempt)
      crashWorkers.push(next);
      current.child.kill("SIGKILL");
      await current.exited;
      current = next;
    }
    await stream.closed;
    const end = stream.messages.at(-1)!;
    assert.equal(end.type, "end");
    assert.equal((end as { status: string }).status, "failed");
    assert.match((end as { reason: string }).reason, /worker lost the run/);
    const stored = await crashDb.prisma.run.findUniqueOrThrow({ where: { id } });
    assert.equal(stored.status, "failed");
    assert.equal(stored.attempt, 2);
  } finally {
    // Its reconciler looks at every running run of the database with a short grace: stop it before other tests run.
    await Promise.all(crashWorkers.map((w) => w.stop("SIGKILL")));
    await crashApi.service.close();
    await crashDb.close();
  }
});

test("SIGSTOP past the lock, another worker takes over, SIGCONT: the frozen worker writes nothing more and abandons", async () => {
  const [first, second] = await Promise.all([worker("frozen-a"), worker("frozen-b")]);
  const id = await submit(14);
  await waitFor(async () => (await storedPoints(id)).length >= 8, 120_000, "eight points");
  const holder = (await run(id)).workerId as string;
  const [frozen, other] = holder === "frozen-a" ? [first, second] : [second, first];
  frozen.child.kill("SIGSTOP");
  await waitFor(async () => (await run(id)).attempt === 2, 60_000, "the other worker to take the run");
  frozen.child.kill("SIGCONT");
  await waitFor(() => /abandoning the run/.test(frozen.output()), 30_000, "the resumed worker to abandon the run").catch((error) => {
    throw new Error(`${error.message}\n${frozen.output().slice(-3000)}`);
  });
  await waitForEnd(id, 120_000);
  const ended = await run(id);
  assert.equal(ended.status, "succeeded");
  assert.equal(ended.workerId, holder === "frozen-a" ? "frozen-b" : "frozen-a");
  assert.equal(ended.attempt, 2, "no second terminal write bumped or replaced the attempt");
  assert.doesNotMatch(frozen.output(), /"msg":"run ended"/, "the frozen worker never wrote an ending");
  const points = await storedPoints(id);
  assert.deepEqual(points.map((point) => point.seq), points.map((_, i) => i));
  assert.deepEqual(points.map((point) => point.value), await uninterruptedCurve(14));
  await Promise.all([frozen.stop(), other.stop()]);
});
