import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import type { StreamMessage } from "../../src/contracts/events.js";
import { regressionSpecSchema } from "../../src/contracts/job-spec.js";
import { createRunsRepository } from "../../src/persistence/runs-repository.js";
import {
  airfoilSpec,
  authHeader,
  getJson,
  inspect,
  openStream,
  ownerFor,
  postJson,
  startApi,
  startWorker,
  streamedSeqs,
  testEnv,
  waitFor,
  type RunningApi,
  type WorkerProcess,
  upgradeStatus,
} from "../helpers/services.js";

// Two API instances and one real worker process share this test's queue, Redis prefix and Postgres.
// Queued runs become the reconciler's after 1.5 s: time enough to connect to one before it starts.
const env = testEnv({ RECONCILE_GRACE_MS: "1500" });
const db = inspect(env);
let apiA: RunningApi;
let apiB: RunningApi;
let worker: WorkerProcess;

before(async () => {
  [apiA, apiB, worker] = await Promise.all([startApi(env), startApi(env), startWorker(env)]);
});
after(async () => {
  await worker?.stop();
  await Promise.all([apiA?.service.close(), apiB?.service.close()]);
  await db.close();
});

const pointsOf = (messages: StreamMessage[]) => messages.flatMap((m) => (m.type === "points" ? m.points : []));

test("the airfoil job: accepted by one API, followed live on another, 31 points exactly once", async () => {
  const submitted = await postJson(apiA.baseUrl, "/v1/runs", airfoilSpec());
  assert.equal(submitted.status, 202);
  assert.equal(submitted.json.status, "queued");
  const id: string = submitted.json.id;
  assert.deepEqual(submitted.json.links, { self: `/v1/runs/${id}`, metrics: `/v1/runs/${id}/metrics`, stream: `/v1/runs/${id}/stream` });

  const stream = openStream(apiB.wsUrl, id);
  const closed = await stream.closed;
  assert.equal(closed.code, 1000);
  const messages = stream.messages;
  assert.equal(messages[0]!.type, "hello");
  const end = messages.at(-1)!;
  assert.equal(end.type, "end");
  if (end.type === "end") {
    assert.equal(end.status, "succeeded");
    assert.equal(end.lastSeq, 30);
  }
  assert.deepEqual(streamedSeqs(messages), Array.from({ length: 31 }, (_, i) => i), "seq 0..30 in order, no duplicate");
  const epochs = messages.filter((m) => m.type === "epoch");
  assert.deepEqual(epochs.map((m) => (m.type === "epoch" ? m.summary.epoch : 0)), [1, 2]);

  const streamed = pointsOf(messages);
  const stored = await db.prisma.metricPoint.findMany({ where: { runId: id }, orderBy: { seq: "asc" } });
  assert.deepEqual(stored.map((p) => ({ seq: p.seq, samplesSeen: p.samplesSeen, epoch: p.epoch, value: p.value, wallTime: p.wallTime.toISOString() })), streamed);
  const metrics = await getJson(apiA.baseUrl, `/v1/runs/${id}/metrics`);
  assert.equal(metrics.status, 200);
  assert.deepEqual(metrics.json.points, streamed);
  assert.equal(metrics.json.totalPoints, 31);

  const run = await getJson(apiB.baseUrl, `/v1/runs/${id}`);
  assert.equal(run.json.status, "succeeded");
  assert.equal(run.json.backend, "cpu");
  assert.match(run.json.workerId, /.+/);
  assert.equal(run.json.versions.tfjs, "4.22.0");
  assert.ok(run.json.startedAt && run.json.finishedAt);
  assert.equal(run.json.finalMetrics.loss, streamed.at(-1)!.value);
  assert.ok(run.json.finalMetrics.loss > 0.235 && run.json.finalMetrics.loss < 0.255, `final loss ${run.json.finalMetrics.loss}`);
  assert.equal(run.json.latestPoint.seq, 30);
  assert.equal(run.json.epochs.length, 2);

  // After the end: a reconnect with ?after=k gets exactly the points after k, then end.
  const replay = openStream(apiA.wsUrl, id, 17);
  await replay.closed;
  assert.deepEqual(streamedSeqs(replay.messages), Array.from({ length: 13 }, (_, i) => 18 + i));
  assert.equal(replay.messages.at(-1)!.type, "end");

  // The same spec and seed give the same curve, point for point.
  const again = await postJson(apiA.baseUrl, "/v1/runs", airfoilSpec());
  const second = openStream(apiA.wsUrl, again.json.id);
  await second.closed;
  assert.deepEqual(pointsOf(second.messages).map((p) => p.value), streamed.map((p) => p.value));
});

test("reconnecting mid-run with ?after=k continues with no gap and no duplicate", async () => {
  // 200 epochs at batch 10: 3,001 points, long enough to reconnect mid-run.
  const { json } = await postJson(apiA.baseUrl, "/v1/runs", airfoilSpec({ epochs: 200, seed: 3 }));
  const id: string = json.id;
  const first = openStream(apiB.wsUrl, id);
  await waitFor(() => streamedSeqs(first.messages).length >= 50, 30_000, "50 live points");
  assert.equal(await db.watchers(id), 1);
  first.socket.close();
  await first.closed;
  await waitFor(async () => (await db.watchers(id)) === 0, 5_000, "a closed watcher to unsubscribe");
  const seen = streamedSeqs(first.messages);
  const lastSeq = seen.at(-1)!;
  assert.ok(!first.messages.some((m) => m.type === "end"), "the run was still going when we left");

  const second = openStream(apiA.wsUrl, id, lastSeq);
  await second.closed;
  const all = [...seen, ...streamedSeqs(second.messages)];
  assert.deepEqual(all, Array.from({ length: 3001 }, (_, i) => i));
  const end = second.messages.at(-1)!;
  assert.equal(end.type, "end");
  assert.equal(await db.prisma.metricPoint.count({ where: { runId: id } }), 3001);
  await waitFor(async () => (await db.watchers(id)) === 0, 5_000, "the server to unsubscribe after the end");
});

test("a run stored without a job is queued by the reconciler; a watcher connected before it started sees it all", async () => {
  // As if the API died between storing the run and adding its job.
  const id = randomUUID();
  await createRunsRepository({ prisma: db.prisma }).create(id, regressionSpecSchema.parse(airfoilSpec({ seed: 9 })), await ownerFor(env));
  assert.equal(await db.queue.jobState(id), "missing");
  const stream = openStream(apiB.wsUrl, id);
  await stream.closed;
  assert.deepEqual(stream.messages[0], { type: "hello", runId: id, status: "queued", after: -1 });
  assert.ok(stream.messages.some((m) => m.type === "status" && m.status === "running"), "the start is announced");
  assert.deepEqual(streamedSeqs(stream.messages), Array.from({ length: 31 }, (_, i) => i));
  assert.equal((await db.prisma.run.findUniqueOrThrow({ where: { id } })).status, "succeeded");
  assert.equal(await db.prisma.metricPoint.count({ where: { runId: id } }), 31);
  assert.match(worker.output(), new RegExp(`re-queued run ${id}`));
});

test("a diverging run ends failed with the reason, and watchers are told", async () => {
  const { json } = await postJson(apiA.baseUrl, "/v1/runs", airfoilSpec({ optimizer: { name: "sgd", lr: 100 } }));
  const stream = openStream(apiB.wsUrl, json.id);
  await stream.closed;
  const end = stream.messages.at(-1)!;
  assert.equal(end.type, "end");
  if (end.type !== "end") return;
  assert.equal(end.status, "failed");
  assert.match(end.reason!, /^diverged: loss is (NaN|Infinity) at [\d,]+ samples$/);
  const run = await getJson(apiA.baseUrl, `/v1/runs/${json.id}`);
  assert.equal(run.json.failureReason, end.reason);
});

test("history: list newest first with filters and cursor paging; downsampled metrics", async () => {
  const list = await getJson(apiA.baseUrl, "/v1/runs?limit=2&status=succeeded&kind=regression&dataset=airfoil&model=linear");
  assert.equal(list.status, 200);
  assert.equal(list.json.runs.length, 2);
  assert.ok(list.json.runs.every((run: { status: string }) => run.status === "succeeded"));
  assert.ok(list.json.runs[0].createdAt >= list.json.runs[1].createdAt);
  const next = await getJson(apiA.baseUrl, `/v1/runs?limit=2&status=succeeded&cursor=${list.json.nextCursor}`);
  assert.equal(next.status, 200);
  const firstIds = new Set(list.json.runs.map((run: { id: string }) => run.id));
  assert.ok(next.json.runs.every((run: { id: string }) => !firstIds.has(run.id)));

  const longRun = list.json.runs.find((run: { spec: { epochs: number } }) => run.spec.epochs === 200) ?? next.json.runs[0];
  const sampled = await getJson(apiA.baseUrl, `/v1/runs/${longRun.id}/metrics?points=100`);
  assert.equal(sampled.status, 200);
  assert.ok(sampled.json.points.length <= 100);
  assert.equal(sampled.json.downsampled, sampled.json.totalPoints > 100);

  const bad = await getJson(apiA.baseUrl, "/v1/runs?cursor=garbage");
  assert.equal(bad.status, 400);
  assert.match(bad.json.message, /cursor/);
});

test("unknown and malformed run ids: 404 and 400, also on the stream", async () => {
  const missing = "00000000-0000-4000-8000-000000000000";
  assert.equal((await getJson(apiA.baseUrl, `/v1/runs/${missing}`)).status, 404);
  assert.equal((await getJson(apiA.baseUrl, `/v1/runs/${missing}/metrics`)).status, 404);
  const malformed = await getJson(apiA.baseUrl, "/v1/runs/not-a-uuid");
  assert.equal(malformed.status, 400);
  assert.equal(malformed.json.issues[0].path, "params.id");
  assert.equal(await upgradeStatus(`${apiA.wsUrl}/v1/runs/${missing}/stream`, authHeader(apiA.wsUrl)), 404);
});

test("operators: healthz, readyz and the OpenAPI document", async () => {
  assert.deepEqual((await getJson(apiA.baseUrl, "/healthz")).json, { status: "ok", checks: {} });
  const ready = await getJson(apiA.baseUrl, "/readyz");
  assert.equal(ready.status, 200);
  assert.deepEqual(ready.json.checks, { postgres: "ok", redis: "ok" });
  const doc = await getJson(apiA.baseUrl, "/docs/json");
  assert.equal(doc.status, 200);
  assert.ok(doc.json.paths["/v1/runs"].post.requestBody);
  assert.ok(doc.json.paths["/v1/runs/{id}/metrics"].get);
  assert.ok(Object.keys(doc.json.components.schemas).some((name) => name.startsWith("RegressionSpec")));
  assert.deepEqual(doc.json.components.securitySchemes.apiKey, { type: "http", scheme: "bearer", description: "a tenant's key: `lossline keys create <tenant>`" });
  assert.deepEqual(doc.json.security, [{ apiKey: [] }], "every route needs a key unless it says otherwise");
  assert.deepEqual(doc.json.paths["/healthz"].get.security, []);
  assert.deepEqual(doc.json.paths["/metrics"].get.security, [{ metricsToken: [] }]);
  assert.ok(doc.json.paths["/v1/runs"].post.responses["429"], "the limits' answer is documented");
  assert.equal((await fetch(`${apiA.baseUrl}/docs`)).status, 200);
});
