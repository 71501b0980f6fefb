import assert from "node:assert/strict";
import { after, test } from "node:test";
import { freePort, redisAnswers } from "../../scripts/local-services.js";
import { lenetSpec, writeFashionMnistFixture } from "../helpers/fashion-mnist-fixture.js";
import { getJson, inspect, postJson, redisServer, startApi, startWorker, testEnv, waitFor, type RunningApi, type WorkerProcess } from "../helpers/services.js";

const fixture = writeFashionMnistFixture(2000, 100);
const port = await freePort();
let redis = redisServer(port);
const env = testEnv({
  REDIS_URL: `redis://127.0.0.1:${port}`,
  FASHION_MNIST_DIR: fixture.dir,
  TF_BACKEND: "wasm",
  JOB_LOCK_MS: "5000",
  RECONCILE_GRACE_MS: "2000",
  CHECKPOINT_INTERVAL_MS: "500",
});
let api: RunningApi;
let worker: WorkerProcess;
after(async () => {
  await worker?.stop("SIGKILL");
  await api?.service.close();
  redis.child.kill("SIGKILL");
  fixture.remove();
});

test("Redis restarted (losing every key) while one run trains and another waits: both complete, every point once", async () => {
  await waitFor(() => redisAnswers(env.REDIS_URL!), 10_000, "the private Redis");
  [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
  const db = inspect(env);
  try {
    const training = (await postJson(api.baseUrl, "/v1/runs", lenetSpec({ seed: 21, limit: { train: 2000, test: 100 } }))).json.id as string;
    const waiting = (await postJson(api.baseUrl, "/v1/runs", lenetSpec({ seed: 22, epochs: 1, limit: { train: 500, test: 100 } }))).json.id as string;
    await waitFor(async () => (await db.prisma.metricPoint.count({ where: { runId: training } })) >= 8, 120_000, "the first run to train");

    redis.child.kill("SIGKILL");
    await redis.stopped;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // Meanwhile the API still takes runs: stored at once, queued by the reconciler once Redis is back.
    const submittedWhileDown = await postJson(api.baseUrl, "/v1/runs", lenetSpec({ seed: 23, epochs: 1, limit: { train: 300, test: 100 } }));
    assert.equal(submittedWhileDown.status, 202);
    redis = redisServer(port);

    const ids = [training, waiting, submittedWhileDown.json.id as string];
    for (const id of ids) {
      await waitFor(async () => ["succeeded", "failed", "canceled"].includes((await getJson(api.baseUrl, `/v1/runs/${id}`)).json.status), 180_000, `run ${id} to end`);
      const run = (await getJson(api.baseUrl, `/v1/runs/${id}`)).json;
      assert.equal(run.status, "succeeded", `${id}: ${run.failureReason}`);
      const points = await db.prisma.metricPoint.findMany({ where: { runId: id }, orderBy: { seq: "asc" } });
      assert.deepEqual(points.map((point) => point.seq), points.map((_, i) => i), `${id}: seq 0..N-1 once each`);
      assert.equal(points.at(-1)!.samplesSeen, run.samplesTotal);
    }
  } finally {
    await db.close();
  }
});
