import assert from "node:assert/strict";
import { after, test } from "node:test";
import { freePort } from "../../scripts/local-services.js";
import { airfoilSpec, getJson, inspect, postJson, startApi, testEnv, type RunningApi } from "../helpers/services.js";

// An API whose Postgres or Redis does not answer (a port nothing listens on): it must say 503 or keep
// its promise, quickly, and never answer 500.
const apis: RunningApi[] = [];
after(async () => {
  for (const api of apis) await api.service.close().catch(() => undefined);
});

test("Postgres unreachable: readyz and every data endpoint answer 503, not 500 (a key it never checked cannot be checked now)", async () => {
  const env = testEnv({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${await freePort()}/nowhere` });
  const api = await startApi(env, {}, false);
  apis.push(api);
  const ready = await getJson(api.baseUrl, "/readyz");
  assert.equal(ready.status, 503);
  assert.match(ready.json.checks.postgres, /^unavailable/);
  assert.equal(ready.json.checks.redis, "ok");
  const started = Date.now();
  for (const response of [
    await postJson(api.baseUrl, "/v1/runs", airfoilSpec()),
    await getJson(api.baseUrl, "/v1/runs"),
    await getJson(api.baseUrl, "/v1/runs/00000000-0000-4000-8000-000000000000"),
  ]) {
    assert.equal(response.status, 503, JSON.stringify(response.json));
    assert.equal(response.json.error, "service_unavailable");
  }
  assert.ok(Date.now() - started < 10_000, "answers come quickly");
  const unchecked = await postJson(api.baseUrl, "/v1/runs", { kind: "nope" });
  assert.equal(unchecked.status, 503, "the key comes first, and Postgres holds the keys");
  assert.match(unchecked.json.message, /cannot check the API key: Postgres is unreachable/);
  assert.equal((await postJson(api.baseUrl, "/v1/runs", { kind: "nope" }, null)).status, 401, "no key at all needs no Postgres to refuse");
});

test("Redis unreachable: a submitted run is stored and answered 202 at once; the reconciler queues it later", async () => {
  const env = testEnv({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
  const db = inspect({ ...env, REDIS_URL: "redis://127.0.0.1:6379" });
  const api = await startApi(env);
  apis.push(api);
  const started = Date.now();
  const submitted = await postJson(api.baseUrl, "/v1/runs", airfoilSpec());
  assert.equal(submitted.status, 202);
  assert.ok(Date.now() - started < 3_000, `answered in ${Date.now() - started} ms`);
  const run = await db.prisma.run.findUniqueOrThrow({ where: { id: submitted.json.id } });
  assert.equal(run.status, "queued");
  assert.equal(run.enqueuedAt, null, "not in Redis: left to the reconciler");
  const ready = await getJson(api.baseUrl, "/readyz");
  assert.equal(ready.status, 503);
  assert.match(ready.json.checks.redis, /^unavailable/);
  await db.prisma.run.delete({ where: { id: run.id } });
  await db.close();
});
