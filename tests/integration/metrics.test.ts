import assert from "node:assert/strict";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import { SCRAPE_DEADLINE_MS } from "../../src/api/metrics.js";
import { freePort } from "../../scripts/local-services.js";
import { airfoilSpec, authHeader, getJson, inspect, postJson, sample, scrapeMetrics, startApi, testEnv, waitFor, type RunningApi } from "../helpers/services.js";

// One API on this file's own queue, and no worker: a submitted run stays queued until canceled.
const env = testEnv();
const db = inspect(env);
let api: RunningApi;
const createdRuns: string[] = [];
before(async () => {
  api = await startApi(env);
});
after(async () => {
  await api?.service.close();
  await db.prisma.run.deleteMany({ where: { id: { in: createdRuns } } });
  await db.close();
});

/** This file's instance's /metrics (or `baseUrl`'s), with the operator's token. */
const scrape = (baseUrl = api.baseUrl, token = env.METRICS_TOKEN!) => scrapeMetrics(baseUrl, token);

const FAMILIES = [
  ["lossline_http_request_duration_seconds", "histogram"],
  ["lossline_queue_jobs", "gauge"],
  ["lossline_runs", "gauge"],
  ["lossline_loss_points_written_total", "counter"],
  ["lossline_websocket_clients", "gauge"],
  ["lossline_scrape_source_up", "gauge"],
] as const;

test("GET /metrics answers in Prometheus' text format with every metric family", async () => {
  const { contentType, text } = await scrape();
  assert.match(contentType ?? "", /^text\/plain; version=0\.0\.4/);
  for (const [name, type] of FAMILIES) {
    assert.ok(text.includes(`# HELP ${name} `), `${name} has HELP`);
    assert.ok(text.includes(`# TYPE ${name} ${type}\n`), `${name} is a ${type}`);
  }
  assert.equal(sample(text, "lossline_scrape_source_up", { source: "postgres" }), 1);
  assert.equal(sample(text, "lossline_scrape_source_up", { source: "redis" }), 1);
  for (const lane of ["cpu", "gpu"]) {
    for (const state of ["waiting", "active", "delayed"]) assert.equal(sample(text, "lossline_queue_jobs", { lane, state }), 0, `${lane} ${state}`);
  }
  assert.equal(typeof sample(text, "lossline_loss_points_written_total"), "number");
});

test("/metrics answers the operator's token only: not a tenant's key, not nothing", async () => {
  for (const headers of [{}, authHeader(api.baseUrl), { authorization: `Bearer ${env.METRICS_TOKEN}x` }]) {
    const response = await fetch(`${api.baseUrl}/metrics`, { headers });
    assert.equal(response.status, 401, JSON.stringify(headers));
    assert.match((await response.json()).message, /METRICS_TOKEN/);
  }
});

test("a request adds one observation to the latency histogram of its route, method and status", async () => {
  const labels = { method: "GET", route: "/v1/runs/:id", status_code: "404" };
  const count = (text: string) => sample(text, "lossline_http_request_duration_seconds_count", labels) ?? 0;
  const before = count((await scrape()).text);
  assert.equal((await getJson(api.baseUrl, "/v1/runs/00000000-0000-4000-8000-000000000000")).status, 404);
  const { text } = await scrape();
  assert.equal(count(text), before + 1);
  assert.equal(sample(text, "lossline_http_request_duration_seconds_bucket", { ...labels, le: "+Inf" }), before + 1);
  // Paths that match no route share one label value instead of one series each.
  await fetch(`${api.baseUrl}/no/such/${"x".repeat(20)}`);
  assert.ok((sample((await scrape()).text, "lossline_http_request_duration_seconds_count", { route: "unmatched", status_code: "404" }) ?? 0) >= 1);
});

test("runs by status and queue depth follow a run from submission to cancellation", async () => {
  const status = (text: string, name: string) => sample(text, "lossline_runs", { status: name }) ?? Number.NaN;
  const waiting = (text: string) => sample(text, "lossline_queue_jobs", { lane: "cpu", state: "waiting" });
  const start = (await scrape()).text;

  const created = await postJson(api.baseUrl, "/v1/runs", airfoilSpec());
  assert.equal(created.status, 202);
  createdRuns.push(created.json.id);
  const queued = (await scrape()).text;
  assert.equal(status(queued, "queued"), status(start, "queued") + 1);
  assert.equal(waiting(queued), 1);

  assert.equal((await postJson(api.baseUrl, `/v1/runs/${created.json.id}/cancel`, {})).status, 200);
  const canceled = (await scrape()).text;
  assert.equal(status(canceled, "queued"), status(start, "queued"));
  assert.equal(status(canceled, "canceled"), status(start, "canceled") + 1);
  assert.equal(waiting(canceled), 0);
});

test("the WebSocket gauge counts open run streams", async () => {
  const clients = async () => sample((await scrape()).text, "lossline_websocket_clients");
  const { json } = await postJson(api.baseUrl, "/v1/runs", airfoilSpec());
  createdRuns.push(json.id);
  const socket = new WebSocket(`${api.wsUrl}/v1/runs/${json.id}/stream`, { headers: authHeader(api.wsUrl) });
  await new Promise((resolve, reject) => socket.once("message", resolve).once("error", reject)); // hello
  assert.equal(await clients(), 1);
  socket.close();
  await waitFor(async () => (await clients()) === 0, 5_000, "the closed stream to leave the gauge");
});

test("loss points written are counted from Postgres' statistics", async () => {
  const written = async () => sample((await scrape()).text, "lossline_loss_points_written_total") ?? Number.NaN;
  const { json } = await postJson(api.baseUrl, "/v1/runs", airfoilSpec());
  createdRuns.push(json.id);
  const before = await written();
  const wallTime = new Date();
  const points = [0, 1, 2].map((seq) => ({ runId: json.id, seq, samplesSeen: (seq + 1) * 100, epoch: seq / 10, value: 1 / (seq + 1), wallTime }));
  // An idle backend flushes its table statistics up to 10 s later; this one is asked to flush at once.
  await db.prisma.$transaction([db.prisma.metricPoint.createMany({ data: points }), db.prisma.$executeRaw`SELECT pg_stat_force_next_flush()`]);
  await waitFor(async () => (await written()) >= before + 3, 15_000, "the inserted points to be counted");
});

test("a Postgres that never answers and a Redis that is down still give a prompt scrape, without their metrics", async () => {
  // Accepts connections and says nothing: a query would hang without the scrape's deadline.
  const silent: Socket[] = [];
  const server = createServer((socket) => void silent.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const outage = await startApi(
    testEnv({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/silent`, REDIS_URL: `redis://127.0.0.1:${await freePort()}`, LOG_LEVEL: "error", METRICS_TOKEN: env.METRICS_TOKEN! }),
    {},
    false,
  );
  try {
    const started = Date.now();
    const { text } = await scrape(outage.baseUrl);
    assert.ok(Date.now() - started < SCRAPE_DEADLINE_MS + 1_500, `scraped in ${Date.now() - started} ms`);
    assert.equal(sample(text, "lossline_scrape_source_up", { source: "postgres" }), 0);
    assert.equal(sample(text, "lossline_scrape_source_up", { source: "redis" }), 0);
    for (const name of ["lossline_runs", "lossline_loss_points_written_total", "lossline_queue_jobs"]) {
      assert.ok(text.includes(`# TYPE ${name} `), `${name} is still declared`);
      assert.equal(sample(text, name), undefined, `${name} has no sample`);
    }
    assert.equal(sample(text, "lossline_websocket_clients"), 0);
    // Shutting down while Postgres still says nothing: connection attempts give up after 5 s.
    const closing = Date.now();
    await outage.service.close();
    assert.ok(Date.now() - closing < 8_000, `closed in ${Date.now() - closing} ms`);
  } finally {
    server.close();
    for (const socket of silent) socket.destroy();
    await outage.service.close();
  }
});
