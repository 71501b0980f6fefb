import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { StaleAttemptError } from "../../src/contracts/errors.js";
import type { LossPoint } from "../../src/contracts/events.js";
import { regressionSpecSchema } from "../../src/contracts/job-spec.js";
import { createMetricsRepository } from "../../src/persistence/metrics-repository.js";
import { createPrismaClient } from "../../src/persistence/prisma.js";
import { createRunsRepository } from "../../src/persistence/runs-repository.js";
import { airfoilSpec, ownerFor, testEnv } from "../helpers/services.js";

const prisma = createPrismaClient({ databaseUrl: process.env.DATABASE_URL!, poolSize: 4 });
const runs = createRunsRepository({ prisma });
const metrics = createMetricsRepository({ prisma });
const created: string[] = [];
const owner = ownerFor(testEnv());
const other = ownerFor(testEnv());
after(async () => {
  await prisma.run.deleteMany({ where: { id: { in: created } } });
  await prisma.$disconnect();
});

const worker = { workerId: "test-worker", backend: "cpu", versions: { tfjs: "4.22.0" } };
const makePoints = (from: number, count: number, value = (seq: number) => 1 / (seq + 1)): LossPoint[] =>
  Array.from({ length: count }, (_, i) => ({
    seq: from + i,
    samplesSeen: (from + i) * 100,
    epoch: ((from + i) * 100) / 1500,
    value: value(from + i),
    wallTime: new Date(1_800_000_000_000 + (from + i) * 1000).toISOString(),
  }));

async function newRun(model = "linear", by = owner): Promise<string> {
  const id = randomUUID();
  created.push(id);
  await runs.create(id, regressionSpecSchema.parse(airfoilSpec()), await by);
  if (model !== "linear") await prisma.run.update({ where: { id }, data: { model } });
  return id;
}

test("points are stored once per seq; a retried batch adds nothing", async () => {
  const id = await newRun();
  const { attempt } = (await runs.claim(id, worker))!;
  assert.equal((await metrics.insertPoints(id, attempt, makePoints(0, 5))).length, 5);
  const again = await metrics.insertPoints(id, attempt, makePoints(3, 4));
  assert.deepEqual(again.map((p) => p.seq), [5, 6], "only the new seqs come back");
  assert.deepEqual((await metrics.listPoints(id, -1, 100)).map((p) => p.seq), [0, 1, 2, 3, 4, 5, 6]);
});

test("trace iterates keep every bit of a double through Postgres", async () => {
  const id = await newRun();
  const { attempt } = (await runs.claim(id, worker))!;
  const x = [0.1 + 0.2, -0.9281253642268438, 5e-324, -1.7976931348623157e308];
  const [point] = makePoints(0, 1);
  const inserted = await metrics.insertPoints(id, attempt, [{ ...point!, x, eta: Math.exp(-0.2) * 0.1 }]);
  assert.deepEqual(inserted[0]!.x, x);
  const [stored] = await metrics.listPoints(id, -1, 10);
  assert.deepEqual(stored!.x, x);
  assert.equal(stored!.eta, Math.exp(-0.2) * 0.1);
});

test("writes of an attempt that lost the run are refused", async () => {
  const id = await newRun();
  const first = (await runs.claim(id, worker))!;
  const second = (await runs.claim(id, worker))!;
  assert.equal(second.attempt, first.attempt + 1);
  await assert.rejects(metrics.insertPoints(id, first.attempt, makePoints(0, 3)), StaleAttemptError);
  await assert.rejects(
    metrics.insertEpoch(id, first.attempt, { epoch: 1, loss: 1, trainAccuracy: null, testAccuracy: null, seconds: 1, wallTime: new Date().toISOString() }),
    StaleAttemptError,
  );
  assert.equal(await runs.finish(id, first.attempt, { status: "succeeded", reason: null, finalMetrics: null }), false);
  assert.equal(await metrics.countPoints(id), 0);
  assert.equal((await metrics.insertPoints(id, second.attempt, makePoints(0, 3))).length, 3);
  assert.equal(await runs.finish(id, second.attempt, { status: "succeeded", reason: null, finalMetrics: { loss: 1 } }), true);
  await assert.rejects(metrics.insertPoints(id, second.attempt, makePoints(3, 1)), StaleAttemptError, "no writes after the end");
  assert.equal(await runs.claim(id, worker), null, "a finished run cannot be claimed");
});

test("cancel: a queued run ends at once, a running one is flagged, a finished one is reported", async () => {
  const { tenantId } = await owner;
  const queued = await newRun();
  assert.deepEqual(await runs.requestCancel(queued, (await other).tenantId), { kind: "missing" }, "another tenant's run is missing");
  assert.equal((await runs.findById(queued))!.status, "queued", "and is left alone");
  assert.deepEqual(await runs.requestCancel(queued, tenantId), { kind: "canceled" });
  assert.equal((await runs.findById(queued))!.status, "canceled");
  assert.equal(await runs.claim(queued, worker), null, "a worker cannot start a canceled run");

  const running = await newRun();
  await runs.claim(running, worker);
  assert.deepEqual(await runs.requestCancel(running, tenantId), { kind: "requested" });
  assert.deepEqual(await runs.controlState(running), { cancelRequested: true, attempt: 1, status: "running" });
  assert.deepEqual(await runs.controlState(queued), { cancelRequested: true, attempt: 0, status: "canceled" });
  assert.equal((await runs.findById(running))!.status, "running");
  assert.deepEqual(await runs.requestCancel(queued, tenantId), { kind: "finished", status: "canceled" });
  assert.deepEqual(await runs.requestCancel(queued, (await other).tenantId), { kind: "missing" });
  assert.deepEqual(await runs.requestCancel(randomUUID(), tenantId), { kind: "missing" });
});

test("downsampling keeps each bucket's lowest and highest point, so a spike survives", async () => {
  const id = await newRun();
  const { attempt } = (await runs.claim(id, worker))!;
  const spikeAt = 777;
  await metrics.insertPoints(id, attempt, makePoints(0, 1000, (seq) => (seq === spikeAt ? 50 : 1 / (seq + 1))));
  const sampled = await metrics.downsample(id, 20);
  assert.ok(sampled.length <= 20 && sampled.length >= 10, `${sampled.length} points`);
  assert.ok(sampled.some((p) => p.seq === spikeAt && p.value === 50), "the spike is kept");
  assert.ok(sampled.some((p) => p.seq === 0), "the highest point of the first bucket is kept");
  assert.deepEqual(sampled.map((p) => p.seq), [...sampled.map((p) => p.seq)].sort((a, b) => a - b));
  assert.equal(new Set(sampled.map((p) => p.seq)).size, sampled.length);
});

test("listing: newest first, filters, and cursor pages that neither skip nor repeat", async () => {
  const model = `probe-${randomUUID().slice(0, 8)}`;
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push(await newRun(model));
  // Same created time for some, to exercise the id tie-break.
  await prisma.run.updateMany({ where: { id: { in: ids.slice(2, 5) } }, data: { createdAt: new Date("2026-01-01T00:00:00Z") } });
  const seen: string[] = [];
  let cursor;
  do {
    const page = await runs.list((await owner).tenantId, { model }, 3, cursor);
    seen.push(...page.runs.map((run) => run.id));
    cursor = page.next ?? undefined;
  } while (cursor);
  assert.equal(seen.length, 7);
  assert.equal(new Set(seen).size, 7);
  const all = (await runs.list((await owner).tenantId, { model }, 100)).runs;
  assert.deepEqual(seen, all.map((run) => run.id));
  for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.createdAt >= all[i]!.createdAt);
  assert.equal((await runs.list((await owner).tenantId, { model, status: "succeeded" }, 100)).runs.length, 0);
  assert.equal((await runs.list((await owner).tenantId, { model, createdBefore: new Date("2026-01-02T00:00:00Z") }, 100)).runs.length, 3);
});
