import assert from "node:assert/strict";
import { test } from "node:test";
import { SEED_REGRESSION_SPEC } from "../../src/contracts/examples.js";
import { getJson, postJson, useApiAndWorker, waitFor } from "../helpers/services.js";

const stack = useApiAndWorker();
const { db } = stack;

async function finishedSweep(id: string, query = "") {
  let sweep: any;
  await waitFor(
    async () => {
      sweep = (await getJson(stack.api.baseUrl, `/v1/sweeps/${id}${query}`)).json;
      return sweep.runs.every((run: { status: string }) => ["succeeded", "failed", "canceled"].includes(run.status));
    },
    120_000,
    "the sweep's runs to end",
  );
  return sweep;
}

test("the book's comparison: gd, sgd and minibatch sgd all settle near 0.245, with time per epoch", async () => {
  const created = await postJson(stack.api.baseUrl, "/v1/sweeps", {
    name: "train_ch7 comparison",
    base: SEED_REGRESSION_SPEC,
    variants: [
      { "optimizer.lr": 1, batchSize: 1500, epochs: 6 },
      { "optimizer.lr": 0.005, batchSize: 1, epochs: 2 },
      { "optimizer.lr": 0.05, batchSize: 10, epochs: 2 },
    ],
  });
  assert.equal(created.status, 202, JSON.stringify(created.json));
  assert.equal(created.json.runs.length, 3);
  const sweep = await finishedSweep(created.json.id);
  assert.equal(sweep.name, "train_ch7 comparison");
  for (const run of sweep.runs) {
    assert.equal(run.status, "succeeded");
    assert.ok(run.finalMetrics.loss > 0.235 && run.finalMetrics.loss < 0.26, `${JSON.stringify(run.combination)}: loss ${run.finalMetrics.loss}`);
    assert.ok(run.secondsPerEpoch > 0);
  }
  assert.deepEqual(sweep.runs.map((run: { combination: object }) => run.combination), created.json.runs.map((run: { combination: object }) => run.combination));
  const lowest = Math.min(...sweep.runs.map((run: { finalMetrics: { loss: number } }) => run.finalMetrics.loss));
  assert.equal(sweep.best.value, lowest);
  assert.equal(sweep.best.metric, "loss");
  const slowest = (await getJson(stack.api.baseUrl, `/v1/sweeps/${created.json.id}?metric=loss&order=max`)).json.best;
  assert.equal(slowest.value, Math.max(...sweep.runs.map((run: { finalMetrics: { loss: number } }) => run.finalMetrics.loss)));

  // Compare on samples seen: each curve starts at 0 samples and ends at its total.
  const ids = sweep.runs.map((run: { id: string }) => run.id);
  const comparison = (await getJson(stack.api.baseUrl, `/v1/compare?runs=${ids.join(",")}&x=samples&points=10`)).json;
  assert.equal(comparison.x, "samples");
  assert.deepEqual(comparison.runs.map((run: { id: string }) => run.id), ids);
  const totals = [9000, 3000, 3000];
  comparison.runs.forEach((run: { points: { x: number }[]; label: string; totalPoints: number }, i: number) => {
    assert.ok(run.points.length <= 10);
    assert.equal(run.points[0]!.x, 0);
    assert.ok(run.points.every((point, j) => j === 0 || point.x > run.points[j - 1]!.x));
    assert.ok(run.points.at(-1)!.x <= totals[i]!);
    assert.match(run.label, /optimizer\.lr=/);
  });
  const byEpoch = (await getJson(stack.api.baseUrl, `/v1/compare?runs=${ids[0]}&x=epoch`)).json.runs[0];
  assert.equal(byEpoch.points.at(-1).x, 6);
  assert.equal(byEpoch.totalPoints, 7);
});

test("a grid is the cartesian product; every run shares the seed, and lists under the sweep", async () => {
  const created = await postJson(stack.api.baseUrl, "/v1/sweeps", {
    base: { ...SEED_REGRESSION_SPEC, epochs: 1 },
    grid: { "optimizer.name": ["sgd", "momentum", "adam"], batchSize: [10, 100] },
  });
  assert.equal(created.status, 202, JSON.stringify(created.json));
  assert.equal(created.json.runs.length, 6);
  const rows = await db.prisma.run.findMany({ where: { sweepId: created.json.id } });
  assert.equal(rows.length, 6);
  const listed = (await getJson(stack.api.baseUrl, `/v1/runs?sweepId=${created.json.id}`)).json.runs;
  assert.deepEqual(
    listed.map((run: { id: string }) => run.id),
    [...created.json.runs].reverse().map((run: { id: string }) => run.id),
    "newest first: the combinations in reverse order",
  );
  assert.ok(rows.every((row) => (row.spec as { seed: number }).seed === 1));
  const combinations = rows.map((row) => row.combination as { "optimizer.name": string; batchSize: number });
  assert.deepEqual(
    new Set(combinations.map((combination) => `${combination["optimizer.name"]}/${combination.batchSize}`)),
    new Set(["sgd/10", "sgd/100", "momentum/10", "momentum/100", "adam/10", "adam/100"]),
  );
  await finishedSweep(created.json.id);
});

test("variants replace objects and the grid refines them: every run gets the implementation it claims", async () => {
  const created = await postJson(stack.api.baseUrl, "/v1/sweeps", {
    base: { ...SEED_REGRESSION_SPEC, epochs: 1 },
    grid: { "optimizer.implementation": ["scratch", "builtin"] },
    variants: [{ optimizer: { name: "adam" } }, { optimizer: { name: "momentum" } }],
  });
  assert.equal(created.status, 202, JSON.stringify(created.json));
  const rows = await db.prisma.run.findMany({ where: { sweepId: created.json.id } });
  const specs = rows.map((row) => (row.spec as { optimizer: { name: string; implementation: string } }).optimizer);
  assert.deepEqual(new Set(specs.map((o) => `${o.name}/${o.implementation}`)), new Set(["adam/scratch", "adam/builtin", "momentum/scratch", "momentum/builtin"]));
  await finishedSweep(created.json.id);
});

test("invalid combinations are rejected before anything runs, each named", async () => {
  const [runsBefore, sweepsBefore] = [await db.prisma.run.count(), await db.prisma.sweep.count()];
  const rejected = await postJson(stack.api.baseUrl, "/v1/sweeps", {
    base: SEED_REGRESSION_SPEC,
    grid: { "optimizer.name": ["sgd", "adadelta", "lion"] },
  });
  assert.equal(rejected.status, 400);
  const messages = rejected.json.issues.map((issue: { message: string }) => issue.message);
  assert.equal(messages.length, 2);
  assert.match(messages[0], /^\{"optimizer.name":"adadelta"\}: optimizer\.lr: unknown field$/);
  assert.match(messages[1], /^\{"optimizer.name":"lion"\}: optimizer\.name: /);
  for (const [body, pattern] of [
    [{ base: SEED_REGRESSION_SPEC }, /grid/],
    [{ base: SEED_REGRESSION_SPEC, grid: { "optimizer.lr": Array.from({ length: 11 }, (_, i) => i + 1), batchSize: Array.from({ length: 10 }, (_, i) => i + 1) } }, /110 combinations/],
    [{ base: SEED_REGRESSION_SPEC, grid: { "batchSize.inner": [1] } }, /not an object/],
    [{ base: SEED_REGRESSION_SPEC, grid: { "../x": [1] } }, /^grid\./],
    [{ base: SEED_REGRESSION_SPEC, grid: { epochs: [1, 2] }, variants: [{ epochs: 3 }] }, /epochs is set by both the grid and a variant/],
    [{ base: SEED_REGRESSION_SPEC, grid: Object.fromEntries(["a", "b", "c", "d"].map((key) => [key, Array.from({ length: 100 }, (_, i) => i)])) }, /100000000 combinations/],
    [{ name: "bad\u0000name", base: SEED_REGRESSION_SPEC, grid: { epochs: [1] } }, /name/],
    [{ base: JSON.parse("[".repeat(0) + `{"a":${"[".repeat(3000)}${"]".repeat(3000)}}`), grid: { epochs: [1] } }, /nested too deeply/],
  ] as const) {
    const response = await postJson(stack.api.baseUrl, "/v1/sweeps", body);
    assert.equal(response.status, 400, JSON.stringify(response.json));
    assert.match(response.json.message, pattern);
  }
  assert.equal(await db.prisma.run.count(), runsBefore);
  assert.equal(await db.prisma.sweep.count(), sweepsBefore);
  assert.equal((await getJson(stack.api.baseUrl, "/v1/sweeps/00000000-0000-4000-8000-000000000000")).status, 404);
  assert.equal((await getJson(stack.api.baseUrl, "/v1/compare?runs=00000000-0000-4000-8000-000000000000")).status, 404);
  assert.equal((await getJson(stack.api.baseUrl, "/v1/compare?runs=a,b")).status, 400);
  assert.equal((await getJson(stack.api.baseUrl, "/v1/compare?runs=00000000-0000-4000-8000-000000000000&x=hours")).status, 400);
});
