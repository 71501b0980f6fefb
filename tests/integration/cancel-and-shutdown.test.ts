import assert from "node:assert/strict";
import { after, test } from "node:test";
import { airfoilSpec, getJson, openStream, postJson, startApi, startWorker, streamedSeqs, useApiAndWorker, waitFor, type WorkerProcess } from "../helpers/services.js";

const stack = useApiAndWorker();
const { env, db } = stack;
/** Workers started by the tests themselves; the first one is the stack's. */
const successors: WorkerProcess[] = [];
after(async () => {
  await Promise.all(successors.map((w) => w.stop()));
});

const statusOf = async (id: string) => (await db.prisma.run.findUniqueOrThrow({ where: { id } })).status;
const pointCount = (id: string) => db.prisma.metricPoint.count({ where: { runId: id } });
/** 1,000 epochs at batch 1: minutes of training, far longer than any test waits. */
const longSpec = (seed: number) => airfoilSpec({ batchSize: 1, epochs: 1000, seed });

test("cancel: a queued run is removed at once, a running one stops within seconds, a finished one is 409", async () => {
  const running = (await postJson(stack.api.baseUrl, "/v1/runs", longSpec(1))).json.id as string;
  await waitFor(async () => (await pointCount(running)) >= 5, 30_000, "the long run to produce points");
  const watcher = openStream(stack.api.wsUrl, running);

  // The only worker is busy, so this one waits in the queue.
  const queued = (await postJson(stack.api.baseUrl, "/v1/runs", airfoilSpec())).json.id as string;
  assert.equal(await db.queue.jobState(queued), "waiting");
  const queuedCancel = await postJson(stack.api.baseUrl, `/v1/runs/${queued}/cancel`, {});
  assert.equal(queuedCancel.status, 200);
  assert.deepEqual(queuedCancel.json, { id: queued, status: "canceled", cancelRequested: true });
  assert.equal(await statusOf(queued), "canceled");
  assert.equal(await db.queue.jobState(queued), "missing");
  const queuedStream = openStream(stack.api.wsUrl, queued);
  await queuedStream.closed;
  assert.deepEqual(queuedStream.messages.at(-1), { type: "end", status: "canceled", reason: "canceled before it started", finalMetrics: null, lastSeq: -1 });

  const requestedAt = Date.now();
  const runningCancel = await postJson(stack.api.baseUrl, `/v1/runs/${running}/cancel`, {});
  assert.equal(runningCancel.status, 202);
  await waitFor(async () => (await statusOf(running)) === "canceled", 5_000, "the running run to end canceled");
  assert.ok(Date.now() - requestedAt < 5_000);
  const run = await getJson(stack.api.baseUrl, `/v1/runs/${running}`);
  assert.match(run.json.failureReason, /^canceled by request at [\d,]+ samples$/);
  await watcher.closed;
  const end = watcher.messages.at(-1)!;
  assert.equal(end.type === "end" && end.status, "canceled");
  const seqs = streamedSeqs(watcher.messages);
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i));
  assert.equal(seqs.length, await pointCount(running), "every stored point was streamed once");

  const finished = await postJson(stack.api.baseUrl, `/v1/runs/${running}/cancel`, {});
  assert.equal(finished.status, 409);
  assert.match(finished.json.message, /already ended: canceled/);
  assert.equal((await postJson(stack.api.baseUrl, "/v1/runs/5b0b7c4e-0000-4000-8000-000000000000/cancel", {})).status, 404);

  // The canceled queued run never ran, and the worker is free again.
  assert.equal(await pointCount(queued), 0);
  const next = (await postJson(stack.api.baseUrl, "/v1/runs", airfoilSpec())).json.id as string;
  await waitFor(async () => (await statusOf(next)) === "succeeded", 30_000, "the next run to succeed");
});

test("cancel across API instances: asked on instance 1 while instance 2 accepted and watches the run, the worker stops within 5 s, never retried", async () => {
  const other = await startApi(env);
  try {
    const id = (await postJson(other.baseUrl, "/v1/runs", longSpec(7))).json.id as string;
    const watcher = openStream(other.wsUrl, id);
    await waitFor(async () => (await pointCount(id)) >= 5, 30_000, "the run to train");
    const requestedAt = Date.now();
    const asked = await postJson(stack.api.baseUrl, `/v1/runs/${id}/cancel`, {});
    assert.equal(asked.status, 202);
    await watcher.closed;
    const stoppedIn = Date.now() - requestedAt;
    assert.ok(stoppedIn < 5_000, `stopped ${stoppedIn} ms after the request`);
    const end = watcher.messages.at(-1)!;
    assert.equal(end.type === "end" && end.status, "canceled", "instance 2's watcher got the end");
    // The signal reached the worker over Redis (it logs it), not only through its Postgres poll.
    await waitFor(() => stack.worker.output().includes(`"runId":"${id}","msg":"cancel requested"`), 5_000, "the worker's cancel log line");
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const run = await db.prisma.run.findUniqueOrThrow({ where: { id } });
    assert.deepEqual([run.status, run.attempt], ["canceled", 1], "not retried");
    assert.equal(await db.queue.jobState(id), "completed");
  } finally {
    await other.service.close();
  }
});

test("SIGTERM: the worker hands its run back to the queue and exits; another worker finishes it, every point once", async () => {
  // 20 epochs at batch 1: 301 points over several seconds.
  const id = (await postJson(stack.api.baseUrl, "/v1/runs", airfoilSpec({ batchSize: 1, epochs: 20, seed: 4 }))).json.id as string;
  const watcher = openStream(stack.api.wsUrl, id);
  await waitFor(async () => (await pointCount(id)) >= 20, 30_000, "points from the first worker");
  assert.equal(await stack.worker.stop("SIGTERM"), 0);
  assert.match(stack.worker.output(), /handing active runs back/);
  assert.equal(await statusOf(id), "queued");

  const successor = await startWorker(env);
  successors.push(successor);
  await watcher.closed;
  const end = watcher.messages.at(-1)!;
  assert.equal(end.type === "end" && end.status, "succeeded");
  assert.deepEqual(streamedSeqs(watcher.messages), Array.from({ length: 301 }, (_, i) => i));
  assert.equal(await pointCount(id), 301);
  const run = await db.prisma.run.findUniqueOrThrow({ where: { id } });
  assert.equal(run.attempt, 2);
  assert.match(successor.output(), /resuming from checkpoint/, "the successor went on from the checkpoint, not from the start");
  assert.ok(watcher.messages.some((m) => m.type === "status" && m.status === "queued"), "watchers saw the hand-back");
});
