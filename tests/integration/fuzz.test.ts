import assert from "node:assert/strict";
import { after, before, test, type TestContext } from "node:test";
import fc from "fast-check";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { createApiService, type ApiService } from "../../src/api-service.js";
import { DEMO_CLASSIFICATION_SPEC, SEED_REGRESSION_SPEC } from "../../src/contracts/examples.js";
import { MODEL_NAMES } from "../../src/contracts/models.js";
import { OBJECTIVE_NAMES } from "../../src/contracts/objectives.js";
import { RUN_STATUSES } from "../../src/contracts/run-status.js";
import { QUEUE_LANES } from "../../src/queue/run-queue.js";
import { configFor, ensureTenantKey, inspect, testEnv } from "../helpers/services.js";

// Property-based fuzzing of every endpoint through app.inject, on this file's own queue (no worker:
// what is accepted stays queued). The property: the answer is a 4xx with an error body, or one of the
// endpoint's documented 2xx with a body that parses; never a 5xx. And nothing is stored or queued
// but what a 2xx accepted: rows created since the start and jobs in this file's queue are compared
// with the ids of accepted runs and sweeps.

const CASES = 1_000;
const env = testEnv();
const db = inspect(env);
let service: ApiService;
let since: Date;
const accepted = { runs: new Set<string>(), sweeps: new Set<string>() };
const fixtures = { runId: "", traceRunId: "", sweepId: "", cursor: "" };

before(async () => {
  const [clock] = await db.prisma.$queryRaw<{ now: Date }[]>`SELECT now()`;
  since = clock!.now;
  await new Promise((resolve) => setTimeout(resolve, 5)); // rows below are created strictly after `since`
  service = await createApiService(configFor(env));
  await ensureTenantKey(env.TEST_TENANT!, env.TEST_API_KEY!);
  const run = await send({ method: "POST", url: "/v1/runs", payload: SEED_REGRESSION_SPEC }, [202]);
  fixtures.runId = run.json().id;
  fixtures.traceRunId = (await send({ method: "POST", url: "/v1/runs", payload: OPTIMIZATION_SPEC }, [202])).json().id;
  const sweep = await send({ method: "POST", url: "/v1/sweeps", payload: { base: SEED_REGRESSION_SPEC, grid: { batchSize: [10, 20] } } }, [202]);
  fixtures.sweepId = sweep.json().id;
  fixtures.cursor = (await send({ method: "GET", url: "/v1/runs?limit=1" }, [200])).json().nextCursor;
});

after(async () => {
  await service?.close();
  await db.prisma.run.deleteMany({ where: { id: { in: [...accepted.runs] } } });
  await db.prisma.sweep.deleteMany({ where: { id: { in: [...accepted.sweeps] } } });
  await db.close(); // obliterates this file's queues
});

// ---- the property ----

/** Injects one request; asserts the answer is a 4xx error or a documented 2xx, and records what a 2xx accepted. */
async function send(request: InjectOptions, documented: number[] = [200]): Promise<LightMyRequestResponse> {
  // This file's key unless the request sets its own Authorization header (undefined: none at all).
  const headers: Record<string, unknown> = { authorization: `Bearer ${env.TEST_API_KEY}`, ...request.headers };
  if (headers.authorization === undefined) delete headers.authorization;
  const response = await service.app.inject({ ...request, headers: headers as InjectOptions["headers"] });
  const status = response.statusCode;
  const where = `${request.method} ${String(request.url).slice(0, 300)} (${String(request.headers?.["content-type"] ?? "")}) -> ${status}: ${response.body.slice(0, 500)}`;
  assert.ok(status < 500, `5xx: ${where}`);
  if (status >= 400) {
    if (request.method === "HEAD") return response;
    const body = response.json();
    assert.ok(typeof body.error === "string" && typeof body.message === "string", `4xx without an error body: ${where}`);
    return response;
  }
  assert.ok(documented.includes(status), `undocumented ${status}: ${where}`);
  const json = request.method !== "HEAD" && response.headers["content-type"]?.toString().startsWith("application/json");
  const body = json ? response.json() : response.body;
  if (status === 202 && request.url === "/v1/runs") accepted.runs.add(body.id);
  if (status === 202 && request.url === "/v1/sweeps") {
    accepted.sweeps.add(body.id);
    for (const run of body.runs) accepted.runs.add(run.id);
  }
  return response;
}

/** Rows created since the start are exactly the accepted ones, and the queue holds exactly the accepted runs still queued. */
async function assertOnlyAcceptedStored(): Promise<void> {
  const [row] = await db.prisma.$queryRaw<{ runs: bigint; sweeps: bigint; queued: bigint }[]>`
    SELECT (SELECT count(*) FROM runs WHERE created_at >= ${since}) AS runs,
           (SELECT count(*) FROM sweeps WHERE created_at >= ${since}) AS sweeps,
           (SELECT count(*) FROM runs WHERE id = ANY(${[...accepted.runs]}::uuid[]) AND status = 'queued') AS queued`;
  assert.equal(Number(row!.runs), accepted.runs.size, "runs stored since the start vs runs accepted");
  assert.equal(Number(row!.sweeps), accepted.sweeps.size, "sweeps stored since the start vs sweeps accepted");
  let jobs = 0;
  for (const lane of QUEUE_LANES) jobs += Object.values(await db.queue.counts(lane)).reduce((sum, count) => sum + count, 0);
  assert.equal(jobs, Number(row!.queued), "jobs in this file's queues vs accepted runs still queued");
}

/** Checks the property on CASES generated requests, then the store; reports how the answers were spread. */
async function fuzz<T>(t: TestContext, arbitrary: fc.Arbitrary<T>, toRequest: (value: T) => InjectOptions, documented: number[]): Promise<void> {
  const statuses = new Map<number, number>();
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      const { statusCode } = await send(toRequest(value), documented);
      statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
    }),
    { numRuns: CASES },
  );
  await assertOnlyAcceptedStored();
  const spread = [...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}: ${count}`);
  t.diagnostic(`${CASES} cases in ${Date.now() - started} ms; ${spread.join(", ")}`);
}

// ---- generators ----

/** Strings that have broken parsers before: number edge cases, prototype names, encodings, separators. */
const TRICKY = [
  "NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1e-400", "0x1F", "0b1", "0o7", "1_000", "-0", "0", "-1", "1.5", " 1", "1 ", "+1", "",
  "null", "undefined", "true", "[]", "{}", "[object Object]", "__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf",
  "%00", "\u0000", "%", "%zz", "%E0%A4%A", "%C0%AF", "..", ".", "/", "\\", "?", "#", "&", "=", ";", ",", "'", '"', "<script>", "' OR '1'='1",
  "😀", "\ud800", "\udfff", "\u202e", "e\u0301", "２", "٣", "\ufeff", "2147483647", "2147483648", "-2147483649", "9007199254740993",
  "1".repeat(400), "00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF", "00000000-0000-4000-8000-00000000000g",
  "2026-01-01T00:00:00Z", "+275760-09-13T00:00:00.001Z", "0000-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "WyIyMDI2Il0", "-".repeat(36),
];

const weirdText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: fc.bigInt().map(String) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("x", "😀", "%", "9", "/"), fc.integer({ min: 100, max: 5_000 })).map(([c, n]) => c.repeat(n)) },
);

/** Percent-encodes any string, lone surrogates included (encodeURIComponent would throw on those). */
const encode = (text: string) =>
  [...Buffer.from(text, "utf8")].map((byte) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, "0")}`)).join("");

/** A value for a query string or path segment: percent-encoded, or printable ASCII sent as it is (stray %, &, =, #, ..). */
const urlText = (values: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 3, arbitrary: values.map(encode) }, { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 20 }).map((s) => s.replace(/[ ]/g, "+").replace(/\\/g, "%5C")) });
// (A raw "\" is left out: light-my-request cannot even build "/\" as a URL, so it would test the injector.)

const query = (pairs: fc.Arbitrary<[string, string][]>) =>
  fc.oneof(
    { weight: 8, arbitrary: pairs.map((list) => list.map(([key, value]) => `${key}=${value}`).join("&")) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 60 }).map((s) => s.replace(/[ #]/g, "")) },
  );

/** Query pairs: known keys with plausible or hostile values, unknown keys, repeated keys. */
const queryPairs = (known: Record<string, fc.Arbitrary<string>>) => {
  const knownPair = fc.constantFrom(...Object.keys(known)).chain((key) => fc.tuple(fc.constant(key), fc.oneof(known[key]!.map(encode), urlText(weirdText))));
  const unknownPair = fc.tuple(urlText(weirdText), urlText(weirdText));
  return fc.array(fc.oneof({ weight: 4, arbitrary: knownPair }, { weight: 1, arbitrary: unknownPair }), { maxLength: 5 });
};

const KEYS = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "", "kind", "optimizer", "lr", "name", "base", "grid", "variants", "optimizer.lr", "a.b", "😀", "\u0000", "x".repeat(300)),
  fc.string({ maxLength: 10 }),
);

/** An object with these own keys, "__proto__" included as a plain key (JSON.stringify then writes it). */
function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

const PLACEHOLDER = "\u0001RAW\u0001";
const extremeNumber = fc.constantFrom(0, -0, 1e308, -1e308, 5e-324, 2 ** 31, 2 ** 53 + 2, -1, 0.5, 1e-7, 1500, 1501, 100_001);
const { json } = fc.letrec<{ json: unknown; leaf: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
  json: fc.oneof({ depthSize: "small", maxDepth: 4 }, tie("leaf"), tie("array"), tie("object")),
  leaf: fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), extremeNumber, weirdText, fc.constant(PLACEHOLDER)),
  array: fc.array(tie("json"), { maxLength: 4 }),
  object: fc.array(fc.tuple(KEYS, tie("json")), { maxLength: 4 }).map(objectOf),
}));

/**
 * JSON text no JS value stringifies to, put where a PLACEHOLDER string was: numbers that overflow to
 * Infinity or are not JSON, string escapes Postgres' jsonb refuses, and nesting thousands deep
 * (JSON.stringify would overflow the stack on such a value, so it is spliced in as text).
 */
const rawToken = fc.oneof(
  fc.constantFrom("1e999", "-1e999", "1.0e+400", "NaN", "Infinity", "-0", "0.00000000000000000000000000001", "123456789012345678901234567890", "01", "1.", ".5", "0x10"),
  fc.constantFrom('"\\u0000"', '"a\\u0000b"', '"\\ud800"', '"\\udfff"', '{"\\u0000":1}'),
  fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.boolean()).map(([depth, objects]) =>
    objects ? '{"a":'.repeat(Math.ceil(depth / 2)) + "1" + "}".repeat(Math.ceil(depth / 2)) : "[".repeat(depth) + "]".repeat(depth),
  ),
);

const OPTIMIZATION_SPEC = { kind: "optimization", objective: OBJECTIVE_NAMES[0], method: "gd", eta: 0.1, steps: 10 };
const SPECS: Record<string, unknown>[] = [SEED_REGRESSION_SPEC, DEMO_CLASSIFICATION_SPEC, OPTIMIZATION_SPEC];
const SPEC_KEYS = ["kind", "dataset", "model", "optimizer", "schedule", "batchSize", "epochs", "seed", "lossEvery", "resize", "limit", "accelerator", "objective", "method", "eta", "steps", "start", "c", "noise"];
const NESTED_KEYS = ["name", "lr", "momentum", "beta1", "implementation", "batchNorm", "train", "test", "rate", "mean", "std"];

type Mutation = { path: string[]; op: "delete" } | { path: string[]; op: "set"; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc
  .tuple(
    fc.oneof(fc.constantFrom(...SPEC_KEYS), KEYS),
    fc.option(fc.oneof(fc.constantFrom(...NESTED_KEYS), KEYS), { nil: undefined }),
    json,
    fc.boolean(),
  )
  .map(([key, nested, value, remove]) => {
    const path = nested === undefined ? [key] : [key, nested];
    return remove ? { path, op: "delete" } : { path, op: "set", value };
  });

function mutate(spec: Record<string, unknown>, mutations: Mutation[]): Record<string, unknown> {
  const copy = structuredClone(spec);
  for (const change of mutations) {
    let node: Record<string, unknown> = copy;
    for (const key of change.path.slice(0, -1)) {
      const next = Object.hasOwn(node, key) ? node[key] : undefined;
      if (typeof next !== "object" || next === null) Object.defineProperty(node, key, { value: {}, enumerable: true, writable: true, configurable: true });
      node = node[key] as Record<string, unknown>;
    }
    const last = change.path.at(-1)!;
    if (change.op === "delete") delete node[last];
    else Object.defineProperty(node, last, { value: change.value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** A valid spec with 0-3 changes. */
const mutatedSpec = fc.tuple(fc.constantFrom(...SPECS), fc.array(mutation, { maxLength: 3 })).map(([spec, mutations]) => mutate(spec, mutations));
/** The value as JSON text, each PLACEHOLDER string replaced by the raw token. */
const toText = (value: unknown, token: string) => (JSON.stringify(value) ?? "null").replaceAll(JSON.stringify(PLACEHOLDER), token);

/** Nesting far deeper than any schema: arrays, objects, or either under a spec field. */
const deepJson = fc.tuple(fc.integer({ min: 1, max: 30_000 }), fc.constantFrom("array", "object", "in-spec")).map(([depth, shape]) => {
  const nested = shape === "object" ? '{"a":'.repeat(Math.min(depth, 12_000)) + "1" + "}".repeat(Math.min(depth, 12_000)) : "[".repeat(depth) + "]".repeat(depth);
  return shape === "in-spec" ? `{"kind":"regression","optimizer":${nested}}` : nested;
});

const notJson = fc.oneof(
  fc.constantFrom("", "{", "}", "[", "NaN", "{'kind':'regression'}", '{"kind":"regression",}', "\ufeff{}", "null", "0", '"text"', '{"a":1}{"b":2}', '{"a":1', "undefined", "{\"__proto__\":{\"x\":1}}", '{"constructor":{"prototype":{"x":1}}}'),
  fc.string({ maxLength: 60 }),
  fc.tuple(fc.constantFrom(...SPECS), fc.nat()).map(([spec, cut]) => JSON.stringify(spec).slice(0, cut % JSON.stringify(spec).length)),
);

const CONTENT_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "application/json; charset=utf-16", "application/json; charset=latin1", "APPLICATION/JSON", "application/jsonx", "application/vnd.api+json", "application/json;", "json", "*/*", "text/html; charset=utf-8", "application/octet-stream"];
const contentType = fc.oneof({ weight: 8, arbitrary: fc.constant<string | undefined>("application/json") }, { weight: 2, arbitrary: fc.constantFrom<string | undefined>(...CONTENT_TYPES, undefined) });

/** A request body as text: mostly JSON near a valid spec, also any JSON, broken JSON, deep nesting, oversized. */
const bodyText = (near: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 10, arbitrary: fc.tuple(near, rawToken).map(([value, token]) => toText(value, token)) },
    { weight: 3, arbitrary: fc.tuple(json, rawToken).map(([value, token]) => toText(value, token)) },
    { weight: 2, arbitrary: notJson },
    { weight: 1, arbitrary: deepJson },
    { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 200_000 }).map((size) => `{"kind":"regression","x":"${"a".repeat(size)}"}`) },
  );

const post = (url: string) => ([payload, type]: [string, string | undefined]): InjectOptions => ({
  method: "POST",
  url,
  payload,
  headers: type === undefined ? {} : { "content-type": type },
});

/** A path segment: a fixture run's id, random UUIDs (unknown runs), or anything else. */
const idSegment = () =>
  fc.oneof({ weight: 2, arbitrary: fc.constantFrom(fixtures.runId, fixtures.traceRunId) }, { weight: 3, arbitrary: fc.uuid() }, { weight: 5, arbitrary: urlText(weirdText) });
const int = (min: number, max: number) => fc.integer({ min, max }).map(String);

// ---- one property per endpoint ----

test(`POST /v1/runs: ${CASES} bodies and content types`, async (t) => {
  await fuzz(t, fc.tuple(bodyText(mutatedSpec), contentType), post("/v1/runs"), [202]);
});

test(`GET /v1/runs: ${CASES} query strings`, async (t) => {
  const pairs = queryPairs({
    status: fc.constantFrom(...RUN_STATUSES),
    kind: fc.constantFrom("regression", "optimization", "classification"),
    model: fc.constantFrom("linear", "lenet"),
    dataset: fc.constantFrom("airfoil", "fashion-mnist"),
    sweepId: fc.oneof(fc.uuid(), fc.constant(fixtures.sweepId)),
    createdAfter: fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
    createdBefore: fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
    limit: fc.oneof(int(-2, 5), fc.constantFrom("200", "201")),
    cursor: fc.oneof(fc.constant(fixtures.cursor), fc.base64String({ maxLength: 120 }), json.map((value) => Buffer.from(JSON.stringify(value) ?? "").toString("base64url"))),
  });
  await fuzz(t, query(pairs), (q) => ({ method: "GET", url: `/v1/runs?${q}` }), [200]);
});

test(`GET /v1/runs/:id: ${CASES} ids`, async (t) => {
  await fuzz(t, idSegment(), (id) => ({ method: "GET", url: `/v1/runs/${id}` }), [200]);
});

test(`GET /v1/runs/:id/metrics: ${CASES} ids and queries`, async (t) => {
  const pairs = queryPairs({ points: int(-2, 3_000_000), after: int(-3, 3_000_000_000), limit: int(-2, 2_000_000) });
  await fuzz(t, fc.tuple(idSegment(), query(pairs)), ([id, q]) => ({ method: "GET", url: `/v1/runs/${id}/metrics?${q}` }), [200]);
});

test(`GET /v1/runs/:id/trace and a plain GET of /stream: ${CASES} each`, async (t) => {
  await fuzz(t, idSegment(), (id) => ({ method: "GET", url: `/v1/runs/${id}/trace` }), [200]);
  const pairs = queryPairs({ after: int(-3, 3_000_000_000) });
  await fuzz(t, fc.tuple(idSegment(), query(pairs)), ([id, q]) => ({ method: "GET", url: `/v1/runs/${id}/stream?${q}` }), []);
});

test(`POST /v1/runs/:id/cancel: ${CASES} ids and bodies`, async (t) => {
  const body = fc.oneof(fc.constant(""), notJson, json.map((value) => JSON.stringify(value) ?? "null"));
  await fuzz(t, fc.tuple(idSegment(), body, contentType), ([id, payload, type]) => post(`/v1/runs/${id}/cancel`)([payload, type]), [200, 202]);
});

test(`POST /v1/sweeps: ${CASES} bodies`, async (t) => {
  const specPath = fc.oneof(
    fc.constantFrom("optimizer.lr", "batchSize", "epochs", "seed", "optimizer.name", "optimizer", "optimizer.implementation", "schedule.name", "schedule", "lossEvery", "kind", "model.name", "constructor.prototype", "toString.x", "a.b.c", "1a", "a..b", ""),
    KEYS,
  );
  const gridValue = fc.oneof(fc.constantFrom(0.01, 0.1, 1, 10, 100, "sgd", "adam", "builtin", { name: "sgd", lr: 0.1 }, { name: "sgd", lr: "\u0000" }), json);
  const overrides = fc.array(fc.tuple(specPath, gridValue), { maxLength: 2 }).map(objectOf);
  const sweep = fc
    .record(
      {
        name: fc.oneof(weirdText, json),
        base: fc.oneof({ weight: 3, arbitrary: mutatedSpec }, { weight: 1, arbitrary: json }),
        grid: fc.oneof({ weight: 3, arbitrary: fc.array(fc.tuple(specPath, fc.array(gridValue, { maxLength: 3 })), { maxLength: 2 }).map(objectOf) }, { weight: 1, arbitrary: json }),
        variants: fc.oneof({ weight: 3, arbitrary: fc.array(overrides, { maxLength: 3 }) }, { weight: 1, arbitrary: json }),
      },
      { requiredKeys: ["base"] },
    )
    .chain((request) => fc.option(fc.tuple(KEYS, json), { nil: undefined }).map((extra) => (extra ? objectOf([...Object.entries(request), extra]) : request)));
  // The base holds something hostile where a grid path then writes a valid value: every combination is
  // valid, so only what is stored as sent (the base) can still go wrong.
  const SHADOWING: Record<string, unknown[]> = { "optimizer.lr": [0.01, 0.1], batchSize: [10, 20], seed: [1, 2], optimizer: [{ name: "adam" }], schedule: [{ name: "constant" }] };
  const shadowed = fc
    .tuple(fc.constantFrom(...Object.keys(SHADOWING)), fc.oneof(json, fc.constantFrom("\u0000", "\ud800", "a\udfffb", objectOf([["\u0000", 1]]))), fc.boolean())
    .map(([path, hostile, asVariant]) => {
      const base = mutate(SEED_REGRESSION_SPEC, [{ path: path.split("."), op: "set", value: hostile }]);
      return asVariant ? { base, variants: SHADOWING[path]!.map((value) => ({ [path]: value })) } : { base, grid: { [path]: SHADOWING[path] } };
    });
  const body = fc.oneof({ weight: 3, arbitrary: sweep }, { weight: 1, arbitrary: shadowed });
  await fuzz(t, fc.tuple(bodyText(body), contentType), post("/v1/sweeps"), [202]);
});

test(`GET /v1/sweeps/:id and /v1/compare: ${CASES} each`, async (t) => {
  const sweepId = fc.oneof(fc.constant(fixtures.sweepId), idSegment());
  const sweepPairs = queryPairs({ metric: fc.constantFrom("loss", "seconds", "samplesPerSecond", "x"), order: fc.constantFrom("min", "max") });
  await fuzz(t, fc.tuple(sweepId, query(sweepPairs)), ([id, q]) => ({ method: "GET", url: `/v1/sweeps/${id}?${q}` }), [200]);
  const known = fc.constantFrom(fixtures.runId, fixtures.traceRunId);
  const ids = fc.oneof(
    { weight: 8, arbitrary: fc.array(fc.oneof({ weight: 4, arbitrary: known }, { weight: 1, arbitrary: fc.uuid() }, { weight: 1, arbitrary: weirdText }), { maxLength: 5 }).map((list) => list.join(",")) },
    { weight: 1, arbitrary: fc.integer({ min: 90, max: 140 }).map((count) => Array.from({ length: count }, () => fixtures.runId).join(",")) },
  );
  const comparePairs = queryPairs({ x: fc.constantFrom("samples", "epoch", "seconds"), points: int(-2, 200_000) });
  await fuzz(t, fc.tuple(ids, query(comparePairs)), ([list, q]) => ({ method: "GET", url: `/v1/compare?runs=${encode(list)}&${q}` }), [200]);
});

test(`GET /v1/objectives and /v1/objectives/:name/grid: ${CASES} each`, async (t) => {
  const anyQuery = query(queryPairs({ points: int(0, 10) }));
  await fuzz(t, anyQuery, (q) => ({ method: "GET", url: `/v1/objectives?${q}` }), [200]);
  const name = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...OBJECTIVE_NAMES) }, { weight: 1, arbitrary: urlText(weirdText) });
  // Small grids mostly: a 501x501 grid is valid but costs ~100 ms, and 1,000 of them would not fit the budget.
  const points = fc.oneof({ weight: 20, arbitrary: int(-3, 40) }, { weight: 1, arbitrary: fc.constantFrom("501", "502", "1e2", "0x10") });
  const bound = fc.oneof(int(-2_000_000, 2_000_000), fc.double({ min: -10, max: 10, noNaN: true }).map(String));
  const pairs = queryPairs({ points, xmin: bound, xmax: bound, ymin: bound, ymax: bound, c: bound });
  await fuzz(t, fc.tuple(name, query(pairs)), ([objective, q]) => ({ method: "GET", url: `/v1/objectives/${objective}/grid?${q}` }), [200]);
});

test(`GET /v1/models and /v1/models/:name/summary: ${CASES} each`, async (t) => {
  await fuzz(t, query(queryPairs({ size: int(0, 600) })), (q) => ({ method: "GET", url: `/v1/models?${q}` }), [200]);
  const name = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...MODEL_NAMES) }, { weight: 1, arbitrary: urlText(weirdText) });
  const pairs = queryPairs({ size: int(-2, 600), batchNorm: fc.constantFrom("none", "builtin", "scratch") });
  await fuzz(t, fc.tuple(name, query(pairs)), ([model, q]) => ({ method: "GET", url: `/v1/models/${model}/summary?${q}` }), [200]);
});

test(`GET /healthz, /readyz and /metrics: ${CASES} queries`, async (t) => {
  const anyQuery = query(queryPairs({ verbose: fc.constantFrom("1", "true") }));
  // /metrics takes the operator's token, not the tenant key send() adds: without it every case would be a 401.
  const headers = (path: string) => (path === "/metrics" ? { authorization: `Bearer ${env.METRICS_TOKEN}` } : undefined);
  await fuzz(t, fc.tuple(fc.constantFrom("/healthz", "/readyz", "/metrics"), anyQuery), ([path, q]) => ({ method: "GET", url: `${path}?${q}`, headers: headers(path) }), [200]);
});

test(`any method on any path (docs, dashboard files, unknown routes): ${CASES} requests`, async (t) => {
  const SEGMENTS = ["v1", "runs", "sweeps", "compare", "objectives", "models", "docs", "json", "static", "assets", "uplot", "index.html", "app.js", "healthz", "metrics", "..", "%2e%2e", "%2F", "%00"];
  const segment = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...SEGMENTS, fixtures.runId) }, { weight: 1, arbitrary: urlText(weirdText) });
  const method = fc.constantFrom<InjectOptions["method"]>("GET", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS");
  const request = fc.tuple(method, fc.array(segment, { minLength: 0, maxLength: 4 }), fc.option(query(queryPairs({ a: fc.constant("1") })), { nil: undefined }));
  // Static files and the docs answer 200 (a redirect for /docs); bodies are only read for JSON.
  await fuzz(t, request, ([verb, path, q]) => ({ method: verb, url: `/${path.join("/")}${q === undefined ? "" : `?${q}`}` }), [200, 301, 302]);
});

test(`API keys: ${CASES} Authorization headers and ?token= values on every protected route, all 401`, async (t) => {
  const path = fc.constantFrom("/v1/runs", `/v1/runs/${fixtures.runId}`, `/v1/runs/${fixtures.runId}/stream`, "/v1/models", "/metrics", "/v1/nothing");
  const almostKey = fc.constantFrom(env.TEST_API_KEY!.slice(0, -1), `${env.TEST_API_KEY}x`, env.TEST_API_KEY!.toUpperCase(), "ll_", "");
  const credential = fc.oneof(almostKey, weirdText, fc.string({ maxLength: 300 }));
  const scheme = fc.constantFrom("Bearer ", "bearer  ", "Basic ", "", "Bearer\t", "Token ");
  const toRequest = ([url, prefix, key, asQuery]: [string, string, string, boolean]): InjectOptions =>
    asQuery
      ? { method: "GET", url: `${url}?token=${encodeURIComponent(key.replace(/[\ud800-\udfff]/g, "?"))}`, headers: { authorization: undefined } }
      : { method: "GET", url, headers: { authorization: `${prefix}${key}`.replace(/[^\t\x20-\x7e]/g, "?") } };
  await fc.assert(
    fc.asyncProperty(fc.tuple(path, scheme, credential, fc.boolean()), async (value) => {
      const response = await send(toRequest(value), []);
      assert.equal(response.statusCode, 401, `${JSON.stringify(value)}: ${response.body.slice(0, 300)}`);
      assert.equal(response.json().error, "unauthorized");
    }),
    { numRuns: CASES },
  );
  await assertOnlyAcceptedStored();
  t.diagnostic(`${CASES} requests, all 401`);
});

test("sweeps the fuzzer broke (500 before the fix) now get 400 and store nothing", async () => {
  const deep = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
  const spec = JSON.stringify({ ...SEED_REGRESSION_SPEC, optimizer: { name: "sgd", lr: PLACEHOLDER } });
  const bodies = [
    // Postgres' jsonb refuses these in the stored base, though the grid overwrites them in every combination.
    `{"base":${spec.replace(JSON.stringify(PLACEHOLDER), '"\\u0000"')},"grid":{"optimizer.lr":[0.01,0.1]}}`,
    `{"base":${spec.replace(JSON.stringify(PLACEHOLDER), '"\\ud800"')},"grid":{"optimizer.lr":[0.1]}}`,
    `{"base":${spec.replace(JSON.stringify(PLACEHOLDER), '{"\\u0000":1}')},"grid":{"optimizer":[{"name":"adam"}]}}`,
    // Nesting that exhausted the stack: measuring the base, and printing a combination in the error.
    `{"base":{"a":${deep(30_000)}},"grid":{"seed":[1]}}`,
    `{"base":${JSON.stringify(SEED_REGRESSION_SPEC)},"variants":[{"optimizer":${deep(30_000)}}]}`,
    `{"base":${JSON.stringify(SEED_REGRESSION_SPEC)},"grid":{"seed":[${deep(30_000)}]}}`,
  ];
  for (const payload of bodies) {
    const response = await send({ method: "POST", url: "/v1/sweeps", payload, headers: { "content-type": "application/json" } }, []);
    assert.equal(response.statusCode, 400, response.body);
    assert.match(response.json().message, /^(base|grid|variants): (contains \\u0000 or an unpaired surrogate|nested too deeply)$/);
  }
  await assertOnlyAcceptedStored();
});
