import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import { generateApiKey } from "../../src/persistence/tenants-repository.js";
import { airfoilSpec, ensureTenantKey, getJson, inspect, postJson, startApi, testEnv, type RunningApi, upgradeStatus } from "../helpers/services.js";

// Two tenants on two API instances that share Postgres and Redis (no worker: runs stay queued, which
// is all isolation needs). Keys are re-checked on every request (API_KEY_CACHE_MS=0), so a revoke
// shows at once.
const env = testEnv({ API_KEY_CACHE_MS: "0" });
const db = inspect(env);
const tag = env.QUEUE_NAME!;
const alice = { tenant: `${tag}-alice`, key: generateApiKey() };
const bob = { tenant: `${tag}-bob`, key: generateApiKey() };
let api1: RunningApi;
let api2: RunningApi;
const created: string[] = [];

before(async () => {
  [api1, api2] = await Promise.all([startApi(env), startApi(env)]);
  await ensureTenantKey(alice.tenant, alice.key);
  await ensureTenantKey(bob.tenant, bob.key);
});

after(async () => {
  await Promise.all([api1?.service.close(), api2?.service.close()]);
  await db.prisma.run.deleteMany({ where: { id: { in: created } } });
  await db.close();
});

const submit = async (key: string, spec: unknown = airfoilSpec(), api = api1) => {
  const response = await postJson(api.baseUrl, "/v1/runs", spec, key);
  if (response.status === 202) created.push(response.json.id);
  return response;
};

test("every route and the WebSocket need a key; health, docs and the dashboard's files do not", async () => {
  const { json: run } = await submit(alice.key);
  const routes = [
    ["GET", "/v1/runs"],
    ["POST", "/v1/runs"],
    ["GET", `/v1/runs/${run.id}`],
    ["GET", `/v1/runs/${run.id}/metrics`],
    ["GET", `/v1/runs/${run.id}/trace`],
    ["POST", `/v1/runs/${run.id}/cancel`],
    ["POST", "/v1/sweeps"],
    ["GET", `/v1/sweeps/${run.id}`],
    ["GET", `/v1/compare?runs=${run.id}`],
    ["GET", "/v1/objectives"],
    ["GET", "/v1/models"],
    ["GET", "/v1/no-such-route"],
  ] as const;
  for (const [method, path] of routes) {
    for (const authorization of [undefined, "Bearer ll_not-a-key", `Basic ${alice.key}`, "Bearer"]) {
      const response = await fetch(`${api1.baseUrl}${path}`, {
        method,
        headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
        body: method === "POST" ? JSON.stringify(airfoilSpec()) : undefined,
      });
      assert.equal(response.status, 401, `${method} ${path} with ${authorization}`);
      const body = await response.json();
      assert.equal(body.error, "unauthorized");
      assert.match(body.message, authorization?.startsWith("Bearer ll_") ? /unknown or revoked/ : /API key is required/);
    }
  }
  assert.equal(await upgradeStatus(`${api1.wsUrl}/v1/runs/${run.id}/stream`), 401);
  assert.equal(await upgradeStatus(`${api1.wsUrl}/v1/runs/${run.id}/stream?token=ll_wrong`), 401);
  for (const path of ["/healthz", "/readyz", "/", "/app.js", "/docs/json"]) {
    assert.equal((await fetch(`${api1.baseUrl}${path}`)).status, 200, path);
  }
  assert.equal(await db.prisma.run.count({ where: { tenant: { name: alice.tenant }, NOT: { id: run.id } } }), 0, "no refused POST stored a run");
});

test("a tenant sees and acts on its own runs and sweeps only: another tenant's are 404, on either API instance", async () => {
  const { json: run } = await submit(alice.key);
  const { json: trace } = await submit(alice.key, { kind: "optimization", objective: "quadratic-2d", method: "gd", eta: 0.1, steps: 20 });
  const sweep = await postJson(api1.baseUrl, "/v1/sweeps", { base: airfoilSpec(), grid: { batchSize: [10, 20] } }, alice.key);
  assert.equal(sweep.status, 202);
  created.push(...sweep.json.runs.map((r: { id: string }) => r.id));

  for (const api of [api1, api2]) {
    for (const path of [`/v1/runs/${run.id}`, `/v1/runs/${run.id}/metrics`, `/v1/runs/${trace.id}/trace`, `/v1/sweeps/${sweep.json.id}`, `/v1/compare?runs=${run.id}`]) {
      const theirs = await getJson(api.baseUrl, path, bob.key);
      assert.equal(theirs.status, 404, `bob ${path}`);
      assert.match(theirs.json.message, /no (run|sweep)/);
      assert.equal((await getJson(api.baseUrl, path, alice.key)).status, 200, `alice ${path}`);
    }
    const listed = await getJson(api.baseUrl, "/v1/runs?limit=100", bob.key);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.json.runs, [], "bob has no runs");
    const bySweep = await getJson(api.baseUrl, `/v1/runs?sweepId=${sweep.json.id}`, bob.key);
    assert.deepEqual(bySweep.json.runs, []);
    const mine = (await getJson(api.baseUrl, "/v1/runs?limit=100", alice.key)).json.runs.map((r: { id: string }) => r.id);
    assert.ok(mine.includes(run.id) && sweep.json.runs.every((r: { id: string }) => mine.includes(r.id)));
    assert.equal(await upgradeStatus(`${api.wsUrl}/v1/runs/${run.id}/stream`, { authorization: `Bearer ${bob.key}` }), 404);
  }
  // The same 404 as for a run that does not exist at all.
  const unknown = await getJson(api1.baseUrl, "/v1/runs/00000000-0000-4000-8000-000000000000", bob.key);
  const foreign = await getJson(api1.baseUrl, `/v1/runs/${run.id}`, bob.key);
  assert.equal(foreign.json.error, unknown.json.error);

  const cancel = await postJson(api2.baseUrl, `/v1/runs/${run.id}/cancel`, {}, bob.key);
  assert.equal(cancel.status, 404);
  assert.equal((await db.prisma.run.findUniqueOrThrow({ where: { id: run.id } })).status, "queued", "bob's cancel changed nothing");
  assert.equal((await postJson(api2.baseUrl, `/v1/runs/${run.id}/cancel`, {}, alice.key)).status, 200);
});

test("a browser's ?token= works for reads and for the stream, and is redacted where the API repeats the URL", async () => {
  const { json: run } = await submit(alice.key);
  const response = await fetch(`${api1.baseUrl}/v1/runs/${run.id}?token=${alice.key}`);
  assert.equal(response.status, 200, "the token is not taken for an unknown query field");
  assert.equal((await fetch(`${api1.baseUrl}/v1/runs/${run.id}?token=${bob.key}`)).status, 404);
  const socket = new WebSocket(`${api1.wsUrl}/v1/runs/${run.id}/stream?after=-1&token=${alice.key}`);
  const hello = await new Promise<{ type: string; runId: string }>((resolve, reject) => {
    socket.once("message", (data) => resolve(JSON.parse(String(data))));
    socket.once("error", reject);
  });
  socket.close();
  assert.deepEqual([hello.type, hello.runId], ["hello", run.id]);
  // The 404 body quotes the URL through the same redaction as the request log's serializer.
  const notFound = await (await fetch(`${api1.baseUrl}/v1/nope?after=1&token=${alice.key}&b=1`)).json();
  assert.equal(notFound.message, "no route GET /v1/nope?after=1&token=[redacted]&b=1");
  assert.ok(!JSON.stringify(notFound).includes(alice.key.slice(3)));
});

test("a revoked key is refused at once (API_KEY_CACHE_MS=0)", async () => {
  const carol = { tenant: `${tag}-carol`, key: generateApiKey() };
  await ensureTenantKey(carol.tenant, carol.key);
  assert.equal((await getJson(api1.baseUrl, "/v1/runs", carol.key)).status, 200);
  await db.prisma.apiKey.updateMany({ where: { tenant: { name: carol.tenant } }, data: { revokedAt: new Date() } });
  const refused = await getJson(api1.baseUrl, "/v1/runs", carol.key);
  assert.equal(refused.status, 401);
  assert.match(refused.json.message, /unknown or revoked/);
});

test("the rate limit hits the flooding tenant only, counted across API instances, with Retry-After", async () => {
  const flood = { tenant: `${tag}-flood`, key: generateApiKey() };
  const calm = { tenant: `${tag}-calm`, key: generateApiKey() };
  await ensureTenantKey(flood.tenant, flood.key, { rateLimitPerMinute: 10 });
  await ensureTenantKey(calm.tenant, calm.key, { rateLimitPerMinute: 10 });
  const statuses: number[] = [];
  let limited: Response | undefined;
  for (let i = 0; i < 14; i++) {
    // Alternating instances: one shared count in Redis, not one per instance.
    const response = await fetch(`${(i % 2 ? api2 : api1).baseUrl}/v1/runs`, { headers: { authorization: `Bearer ${flood.key}` } });
    statuses.push(response.status);
    if (response.status === 429) limited ??= response;
    else await response.arrayBuffer();
  }
  assert.deepEqual(statuses, [...Array(10).fill(200), ...Array(4).fill(429)]);
  const retryAfter = Number(limited!.headers.get("retry-after"));
  assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  const body = await limited!.json();
  assert.equal(body.error, "rate_limited");
  assert.match(body.message, new RegExp(`tenant ${flood.tenant} sent more than 10 requests in a minute`));
  // The other tenant, meanwhile, on both instances.
  for (const api of [api1, api2]) assert.equal((await getJson(api.baseUrl, "/v1/runs", calm.key)).status, 200);
  assert.equal((await getJson(api1.baseUrl, "/v1/runs", alice.key)).status, 200);
  // Refused before anything else: a flooding POST stores nothing.
  assert.equal((await submit(flood.key)).status, 429);
  assert.equal(await db.prisma.run.count({ where: { tenant: { name: flood.tenant } } }), 0);
});

test("a tenant's queued+running runs are capped: 429 with the numbers, sweeps all or nothing, concurrent POSTs cannot overshoot", async () => {
  const capped = { tenant: `${tag}-capped`, key: generateApiKey() };
  await ensureTenantKey(capped.tenant, capped.key, { maxActiveRuns: 3 });
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => submit(capped.key, airfoilSpec(), i % 2 ? api2 : api1)));
  assert.deepEqual(results.map((r) => r.status).sort(), [202, 202, 202, 429, 429, 429, 429, 429]);
  const refusal = results.find((r) => r.status === 429)!.json;
  assert.equal(refusal.error, "too_many_active_runs");
  assert.match(refusal.message, new RegExp(`tenant ${capped.tenant} has 3 queued or running runs and may have at most 3`));
  assert.equal(await db.prisma.run.count({ where: { tenant: { name: capped.tenant } } }), 3);

  const accepted = results.filter((r) => r.status === 202).map((r) => r.json.id as string);
  assert.equal((await postJson(api1.baseUrl, `/v1/runs/${accepted[0]}/cancel`, {}, capped.key)).status, 200);
  const sweep = await postJson(api1.baseUrl, "/v1/sweeps", { base: airfoilSpec(), grid: { batchSize: [10, 20] } }, capped.key);
  assert.equal(sweep.status, 429, "2 more runs would make 4");
  assert.match(sweep.json.message, /2 more runs would pass that/);
  assert.equal(await db.prisma.sweep.count({ where: { tenant: { name: capped.tenant } } }), 0, "nothing of the sweep is stored");
  assert.equal((await submit(capped.key)).status, 202, "a canceled run frees its place");
  assert.equal((await submit(capped.key)).status, 429);
  // Other tenants are not affected by this tenant's cap.
  assert.equal((await submit(bob.key)).status, 202);
});
