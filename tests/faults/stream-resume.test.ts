import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, test } from "node:test";
import WebSocket from "ws";
import type { StreamMessage } from "../../src/contracts/events.js";
import { freePort, redisAnswers } from "../../scripts/local-services.js";
import {
  airfoilSpec,
  authHeader,
  getJson,
  inspect,
  openStream,
  postJson,
  redisServer,
  sample,
  scrapeMetrics,
  startApi,
  startWorker,
  streamedSeqs,
  testEnv,
  waitFor,
  type RunningApi,
  type WorkerProcess,
} from "../helpers/services.js";

// Watchers under faults: two API instances and a worker on a Redis of this test's own, which it
// kills and restarts (keeping nothing). Instance 1 drops a client whose backlog passes 1 MiB;
// instance 2 pings every 400 ms.
const port = await freePort();
let redis = redisServer(port);
const env = testEnv({ REDIS_URL: `redis://127.0.0.1:${port}`, STREAM_POLL_MS: "500" });
const db = inspect(env);
let api1: RunningApi;
let api2: RunningApi;
let worker: WorkerProcess;
after(async () => {
  await worker?.stop("SIGKILL");
  await Promise.all([api1?.service.close(), api2?.service.close()]);
  await db.close().catch(() => undefined);
  redis.child.kill("SIGKILL");
});

/** Open run streams on an instance, from its own /metrics. */
async function streamsOpen(api: RunningApi): Promise<number> {
  return sample((await scrapeMetrics(api.baseUrl, env.METRICS_TOKEN!)).text, "lossline_websocket_clients") ?? Number.NaN;
}

/** A client of `api` that reads run `id`'s stream until it has seen seq `upTo`, then hangs up: the seqs it got. */
function readUntil(api: RunningApi, id: string, upTo: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const seqs: number[] = [];
    const socket = new WebSocket(`${api.wsUrl}/v1/runs/${id}/stream`, { headers: authHeader(api.wsUrl) });
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as StreamMessage;
      if (message.type === "points") seqs.push(...message.points.map((point) => point.seq));
      if (seqs.at(-1)! >= upTo) {
        socket.close();
        resolve(seqs);
      }
    });
    socket.once("error", reject);
    socket.once("close", (code) => reject(new Error(`closed (${code}) after seq ${seqs.at(-1)}, before ${upTo}`)));
  });
}

test("WebSocket watchers across instances and a Redis restart: resume with ?after=k gets every later point once, in order; a slow client and a dead peer are dropped, the others unaffected", async () => {
  await waitFor(() => redisAnswers(env.REDIS_URL!), 10_000, "the private Redis");
  [api1, api2, worker] = await Promise.all([
    startApi(env, { maxStreamBufferBytes: 1024 * 1024, heartbeatMs: 600_000 }), // only the backlog can drop a client here
    startApi(env, { heartbeatMs: 400 }),
    startWorker(env),
  ]);
  // One point per sample: thousands of points a second, minutes of them in all.
  const submitted = await postJson(api1.baseUrl, "/v1/runs", airfoilSpec({ batchSize: 1, lossEvery: 1, epochs: 40, seed: 5 }));
  assert.equal(submitted.status, 202);
  const id = submitted.json.id as string;

  // A watcher on instance 2 that reads everything, through all that follows.
  const steady = openStream(api2.wsUrl, id);

  // A client on instance 1 that stops reading after the upgrade (a 4 KiB receive buffer, so that
  // the kernel holds little for it): dropped once its backlog passes the limit.
  const stalled = spawn("/usr/bin/python3", ["tests/helpers/stalled_ws_client.py", "127.0.0.1", new URL(api1.baseUrl).port, `/v1/runs/${id}/stream`, api1.key]);
  let stalledSaid = "";
  stalled.stdout.on("data", (chunk) => (stalledSaid += chunk));
  try {
    await waitFor(() => stalledSaid.includes("\n"), 10_000, "the stalled client's upgrade");
    assert.equal(stalledSaid.trim(), "upgraded");
    await waitFor(async () => (await streamsOpen(api1)) === 0, 60_000, "instance 1 to drop the client that stopped reading");
  } finally {
    stalled.kill("SIGKILL");
  }
  assert.ok(steady.messages.length > 0 && steady.socket.readyState === WebSocket.OPEN, "the watcher on instance 2 goes on");

  // A dead peer on instance 2, on the stream of a run that waits behind the first (nothing to send,
  // so only the heartbeat can notice it).
  const quiet = (await postJson(api2.baseUrl, "/v1/runs", airfoilSpec({ seed: 6 }))).json.id as string;
  const idle = new WebSocket(`${api2.wsUrl}/v1/runs/${quiet}/stream`, { headers: authHeader(api2.baseUrl) });
  await new Promise((resolve) => idle.once("message", resolve));
  const before = await streamsOpen(api2);
  (idle as unknown as { _socket: { pause(): void } })._socket.pause(); // reads nothing, so never answers a ping
  const pausedAt = Date.now();
  await waitFor(async () => (await streamsOpen(api2)) === before - 1, 5_000, "instance 2 to drop the peer that answers no ping");
  const droppedIn = Date.now() - pausedAt;
  assert.ok(droppedIn <= 2 * 400 + 600, `dead peer dropped after ${droppedIn} ms (heartbeat 400 ms)`);
  idle.terminate();
  assert.equal((await postJson(api2.baseUrl, `/v1/runs/${quiet}/cancel`, {})).status, 200, "it was still queued");

  // Resume across instances and a Redis restart: read to k on instance 1, then Redis dies; reconnect
  // to instance 2 with ?after=k while it is down; Redis comes back empty.
  const k = (await readUntil(api1, id, 2_000)).at(-1)!;
  redis.child.kill("SIGKILL");
  await redis.stopped;
  const resumed = openStream(api2.wsUrl, id, k);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  redis = redisServer(port);

  await resumed.closed;
  const end = resumed.messages.at(-1)!;
  assert.equal(end.type, "end", JSON.stringify(resumed.messages.slice(-2)));
  assert.equal(end.type === "end" && end.status, "succeeded");
  const total = (await getJson(api1.baseUrl, `/v1/runs/${id}`)).json.samplesTotal as number;
  assert.deepEqual(streamedSeqs(resumed.messages), Array.from({ length: total - k }, (_, i) => k + 1 + i), "every point after k, once, in order");

  await steady.closed;
  assert.deepEqual(streamedSeqs(steady.messages), Array.from({ length: total + 1 }, (_, i) => i), "the steady watcher: every point once, in order");
  const stored = await db.prisma.metricPoint.count({ where: { runId: id } });
  assert.equal(stored, total + 1);
});
