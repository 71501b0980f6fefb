import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import { dropDatabase, ensureDatabase, migrate, MIGRATIONS_DIR } from "../../src/persistence/migrate.js";
import { createPrismaClient, type PrismaClient } from "../../src/persistence/prisma.js";

const url = new URL(process.env.DATABASE_URL!);
url.pathname = `/lossline_migrate_${randomUUID().slice(0, 8)}`;
const databaseUrl = url.toString();
let prisma: PrismaClient;

before(async () => {
  assert.equal(await ensureDatabase(databaseUrl), true);
});
after(async () => {
  await prisma?.$disconnect();
  await dropDatabase(databaseUrl);
});

test("a fresh database is migrated once and recorded as Prisma Migrate records it", async () => {
  const first = await migrate(databaseUrl);
  const all = readdirSync(MIGRATIONS_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  assert.ok(all.length >= 2);
  assert.deepEqual(first.applied, all);
  const second = await migrate(databaseUrl);
  assert.deepEqual(second, { applied: [], alreadyApplied: all });

  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const { rows } = await client.query(`SELECT * FROM "_prisma_migrations"`);
  await client.end();
  assert.equal(rows.length, all.length);
  for (const name of all) {
    const row = rows.find((candidate) => candidate.migration_name === name);
    const sql = readFileSync(join(MIGRATIONS_DIR, name, "migration.sql"));
    assert.equal(row.checksum, createHash("sha256").update(sql).digest("hex"));
    assert.equal(row.applied_steps_count, 1);
    assert.ok(row.finished_at instanceof Date);
    assert.equal(row.rolled_back_at, null);
  }
});

test("every model round-trips through the generated client", async () => {
  prisma = createPrismaClient({ databaseUrl, poolSize: 2 });
  const id = randomUUID();
  const spec = { kind: "regression", dataset: "airfoil", model: "linear", optimizer: { name: "sgd", lr: 0.05 } };
  const tenant = { id: randomUUID(), name: "acme", rateLimitPerMinute: 60, maxActiveRuns: 3, createdAt: new Date("2026-01-01T00:00:00.000Z") };
  await prisma.tenant.create({ data: tenant });
  assert.deepEqual(await prisma.tenant.findUniqueOrThrow({ where: { id: tenant.id } }), tenant);
  const key = { id: randomUUID(), tenantId: tenant.id, hash: "ab".repeat(32), prefix: "ll_abcdefgh", name: "ci", createdAt: tenant.createdAt, revokedAt: null };
  await prisma.apiKey.create({ data: key });
  assert.deepEqual(await prisma.apiKey.findUniqueOrThrow({ where: { hash: key.hash } }), key);
  await assert.rejects(prisma.apiKey.create({ data: { ...key, id: randomUUID() } }), /Unique constraint/, "one row per key hash");
  assert.equal((await prisma.tenant.findUniqueOrThrow({ where: { name: "default" } })).id, "00000000-0000-0000-0000-000000000000", "older runs' tenant");
  const sweep = {
    id: randomUUID(),
    tenantId: tenant.id,
    name: "lr sweep",
    base: spec,
    grid: { "optimizer.lr": [1, 0.05] },
    variants: [{ batchSize: 10 }],
    createdAt: new Date("2026-01-02T03:04:05.000Z"),
  };
  await prisma.sweep.create({ data: sweep });
  assert.deepEqual(await prisma.sweep.findUniqueOrThrow({ where: { id: sweep.id } }), sweep);
  const run = {
    id,
    tenantId: tenant.id,
    kind: "regression",
    model: "linear",
    dataset: "airfoil",
    optimizer: "sgd",
    spec,
    status: "failed" as const,
    attempt: 3,
    cancelRequested: true,
    workerId: "host-1",
    backend: "cpu",
    versions: { tfjs: "4.22.0" },
    failureReason: "diverged: loss is NaN at 1,200 samples",
    finalMetrics: { loss: 0.25 },
    samplesTotal: 3000,
    sweepId: sweep.id,
    combination: { "optimizer.lr": 0.05 },
    createdAt: new Date("2026-01-02T03:04:05.678Z"),
    enqueuedAt: new Date("2026-01-02T03:04:05.700Z"),
    startedAt: new Date("2026-01-02T03:04:06.000Z"),
    finishedAt: new Date("2026-01-02T03:04:07.000Z"),
  };
  await prisma.run.create({ data: run });
  assert.deepEqual(await prisma.run.findUniqueOrThrow({ where: { id } }), run);

  const point = {
    runId: id,
    seq: 0,
    samplesSeen: 100,
    epoch: 0.0666,
    value: 0.1234567890123,
    wallTime: new Date("2026-01-02T03:04:06.123Z"),
    // Prisma's client writes float8[] elements with 15 significant digits (0.1 + 0.2 comes back 0.3), which
    // is why the worker writes iterates through its own array literal (see repositories.test.ts).
    x: [-5, 0.123456789012345],
    eta: 0.1 * Math.exp(-0.2),
  };
  await prisma.metricPoint.create({ data: point });
  assert.deepEqual(await prisma.metricPoint.findUniqueOrThrow({ where: { runId_seq: { runId: id, seq: 0 } } }), point);
  await assert.rejects(prisma.metricPoint.create({ data: point }), /Unique constraint/);

  const summary = { runId: id, epoch: 1, loss: 0.3, trainAccuracy: 0.8, testAccuracy: null, seconds: 1.5, wallTime: new Date("2026-01-02T03:04:06.500Z") };
  await prisma.epochSummary.create({ data: summary });
  assert.deepEqual(await prisma.epochSummary.findUniqueOrThrow({ where: { runId_epoch: { runId: id, epoch: 1 } } }), summary);

  await prisma.sweep.delete({ where: { id: sweep.id } });
  assert.equal((await prisma.run.findUniqueOrThrow({ where: { id } })).sweepId, null, "a run outlives its sweep");
  await prisma.run.delete({ where: { id } });
  assert.equal(await prisma.metricPoint.count({ where: { runId: id } }), 0, "points go with their run");
});

test("a migration whose file changed after it was applied is refused", async () => {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(`UPDATE "_prisma_migrations" SET checksum = 'tampered'`);
  await client.end();
  await assert.rejects(migrate(databaseUrl), /was changed after it was applied/);
});
