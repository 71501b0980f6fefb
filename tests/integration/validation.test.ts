import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { airfoilSpec, authHeader, inspect, postJson, startApi, testEnv, type RunningApi } from "../helpers/services.js";

const env = testEnv({ BODY_LIMIT_BYTES: "8192" });
const db = inspect(env);
let api: RunningApi;
before(async () => {
  api = await startApi(env);
});
after(async () => {
  await api?.service.close();
  await db.close();
});

const cases: { name: string; body: unknown; status: number; path: RegExp }[] = [
  { name: "unknown key", body: airfoilSpec({ learningRate: 0.1 }), status: 400, path: /^learningRate$/ },
  { name: "unknown nested key", body: airfoilSpec({ optimizer: { name: "sgd", lr: 0.1, momentum: 0.9 } }), status: 400, path: /^optimizer\.momentum$/ },
  { name: "wrong type", body: airfoilSpec({ batchSize: "10" }), status: 400, path: /^batchSize$/ },
  { name: "negative lr", body: airfoilSpec({ optimizer: { name: "sgd", lr: -0.05 } }), status: 400, path: /^optimizer\.lr$/ },
  { name: "zero lr", body: airfoilSpec({ optimizer: { name: "sgd", lr: 0 } }), status: 400, path: /^optimizer\.lr$/ },
  { name: "batchSize 0", body: airfoilSpec({ batchSize: 0 }), status: 400, path: /^batchSize$/ },
  { name: "batchSize over the data size", body: airfoilSpec({ batchSize: 1501 }), status: 400, path: /^batchSize$/ },
  { name: "fractional batchSize", body: airfoilSpec({ batchSize: 2.5 }), status: 400, path: /^batchSize$/ },
  { name: "huge epochs", body: airfoilSpec({ epochs: 1e9 }), status: 400, path: /^epochs$/ },
  { name: "unknown kind", body: airfoilSpec({ kind: "reinforcement" }), status: 400, path: /^kind$/ },
  { name: "unknown optimizer", body: airfoilSpec({ optimizer: { name: "lion", lr: 0.1 } }), status: 400, path: /^optimizer\.name$/ },
  { name: "missing field", body: { kind: "regression", dataset: "airfoil", model: "linear", batchSize: 10, epochs: 2 }, status: 400, path: /^optimizer$/ },
  { name: "not an object", body: [1, 2], status: 400, path: /^body$/ },
  { name: "non-JSON", body: "{kind: regression", status: 400, path: /^body$/ },
  { name: "oversized body", body: JSON.stringify({ ...airfoilSpec(), padding: "x".repeat(10_000) }), status: 413, path: /^body$/ },
];

for (const { name, body, status, path } of cases) {
  test(`bad spec (${name}) gets ${status} naming the field, and stores and queues nothing`, async () => {
    const runsBefore = await db.prisma.run.count();
    const response = await postJson(api.baseUrl, "/v1/runs", body);
    assert.equal(response.status, status, JSON.stringify(response.json));
    assert.ok(Array.isArray(response.json.issues) && response.json.issues.length > 0);
    assert.ok(response.json.issues.some((issue: { path: string }) => path.test(issue.path)), JSON.stringify(response.json.issues));
    assert.equal(typeof response.json.message, "string");
    assert.match(response.json.requestId, /^[0-9a-f-]{36}$/);
    assert.equal(await db.prisma.run.count(), runsBefore);
    const counts = await db.queue.counts();
    assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 0);
  });
}

test("every offending field is named at once", async () => {
  const response = await postJson(api.baseUrl, "/v1/runs", airfoilSpec({ batchSize: 0, epochs: -1, optimizer: { name: "sgd", lr: -1 }, extra: true }));
  assert.equal(response.status, 400);
  const paths = response.json.issues.map((issue: { path: string }) => issue.path).sort();
  assert.deepEqual(paths, ["batchSize", "epochs", "extra", "optimizer.lr"]);
});

test("a good spec is stored, then queued, with defaults filled in", async () => {
  const response = await postJson(api.baseUrl, "/v1/runs", airfoilSpec({ seed: undefined }));
  assert.equal(response.status, 202);
  const run = await db.prisma.run.findUniqueOrThrow({ where: { id: response.json.id } });
  assert.equal(run.status, "queued");
  assert.ok(run.enqueuedAt);
  assert.deepEqual(run.spec, {
    ...airfoilSpec(),
    optimizer: { name: "sgd", lr: 0.05, implementation: "scratch" },
    schedule: { name: "constant" },
    seed: 0,
    lossEvery: 100,
  });
  assert.equal(await db.queue.jobState(run.id), "waiting");
});

test("history queries with out-of-range or hostile values get 400, never 500", async () => {
  const someRun = "00000000-0000-4000-8000-000000000000";
  const dashes = Buffer.from(JSON.stringify(["2026-01-01T00:00:00Z", "-".repeat(36)])).toString("base64url");
  const ancient = Buffer.from(JSON.stringify(["-271821-04-20T00:00:00Z", someRun])).toString("base64url");
  const cases: [string, RegExp][] = [
    [`/v1/runs?cursor=${dashes}`, /cursor/],
    [`/v1/runs?cursor=${ancient}`, /cursor/],
    ["/v1/runs?kind=%00", /query\.kind/],
    ["/v1/runs?createdAfter=0000-01-01T00:00:00Z", /query\.createdAfter/],
    ["/v1/runs?limit=0", /query\.limit/],
    ["/v1/runs?status=sleeping", /query\.status/],
    [`/v1/runs/${someRun}/metrics?after=3000000000`, /query\.after/],
    [`/v1/runs/${someRun}/metrics?points=1`, /query\.points/],
    [`/v1/runs/${someRun}/stream?after=3000000000`, /query\.after/],
  ];
  for (const [path, field] of cases) {
    const response = await fetch(`${api.baseUrl}${path}`, { headers: authHeader(api.baseUrl) });
    const body = await response.json();
    assert.equal(response.status, 400, `${path}: ${JSON.stringify(body)}`);
    assert.match(body.message, field, path);
  }
});

test("a plain GET of a run's stream is told to upgrade", async () => {
  const { json } = await postJson(api.baseUrl, "/v1/runs", airfoilSpec());
  const response = await fetch(`${api.baseUrl}/v1/runs/${json.id}/stream`, { headers: authHeader(api.baseUrl) });
  assert.equal(response.status, 426);
  assert.equal((await response.json()).error, "upgrade_required");
});
