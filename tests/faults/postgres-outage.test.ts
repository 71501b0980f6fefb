import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { freePort } from "../../scripts/local-services.js";
import { ensureDatabase, migrate } from "../../src/persistence/migrate.js";
import { lenetSpec, writeFashionMnistFixture } from "../helpers/fashion-mnist-fixture.js";
import { getJson, inspect, postJson, startApi, startWorker, testEnv, waitFor, type RunningApi, type WorkerProcess } from "../helpers/services.js";

// A PostgreSQL server of this test's own (Debian's binaries, run as the postgres user), which it
// stops for 30 s in the middle of a run.
const binaries = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").map((v) => `/usr/lib/postgresql/${v}/bin`).find((dir) => existsSync(`${dir}/pg_ctl`)) : undefined;
const asRoot = process.getuid?.() === 0;
const skip = !binaries ? "no PostgreSQL server binaries in /usr/lib/postgresql" : false;

const dataDir = mkdtempSync(join(tmpdir(), "lossline-pg-"));
const port = await freePort();
const fixture = writeFashionMnistFixture(3000, 100);
let api: RunningApi | undefined;
let worker: WorkerProcess | undefined;

/** Runs a PostgreSQL binary as the postgres user (the server refuses to run as root). */
function pg(tool: string, args: string[]): void {
  const command = `${binaries}/${tool}`;
  if (asRoot) execFileSync("runuser", ["-u", "postgres", "--", command, ...args], { stdio: "ignore" });
  else execFileSync(command, args, { stdio: "ignore" });
}
const pgCtl = (action: "start" | "stop") =>
  pg("pg_ctl", ["-D", dataDir, "-w", "-m", "fast", "-o", `-p ${port} -k ${dataDir} -c listen_addresses=127.0.0.1`, action]);

after(async () => {
  await worker?.stop("SIGKILL");
  await api?.service.close();
  if (!skip) {
    try {
      pgCtl("stop");
    } catch {
      // already stopped
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
  fixture.remove();
});

test("Postgres stopped for 30 s mid-run: the API answers 503 meanwhile; afterwards every point is stored exactly once", { skip }, async () => {
  if (asRoot) execFileSync("chown", ["postgres:postgres", dataDir]);
  chmodSync(dataDir, 0o700);
  pg("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  pgCtl("start");
  const env = testEnv({
    DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/lossline_outage`,
    FASHION_MNIST_DIR: fixture.dir,
    TF_BACKEND: "wasm",
    CHECKPOINT_INTERVAL_MS: "1000",
  });
  await ensureDatabase(env.DATABASE_URL!);
  await migrate(env.DATABASE_URL!);
  [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
  const spec = lenetSpec({ seed: 31, epochs: 3, limit: { train: 3000, test: 100 } });
  const id = (await postJson(api.baseUrl, "/v1/runs", spec)).json.id as string;
  const db = inspect(env);
  try {
    await waitFor(async () => (await db.prisma.metricPoint.count({ where: { runId: id } })) >= 5, 120_000, "the run to train");
    await db.prisma.$disconnect();

    pgCtl("stop");
    const outageEnds = Date.now() + 30_000;
    const statuses = new Set<number>();
    while (Date.now() < outageEnds) {
      statuses.add((await getJson(api.baseUrl, `/v1/runs/${id}`)).status);
      statuses.add((await postJson(api.baseUrl, "/v1/runs", spec)).status);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    assert.deepEqual([...statuses], [503], "every answer during the outage is 503");
    pgCtl("start");

    await waitFor(async () => (await getJson(api!.baseUrl, `/v1/runs/${id}`)).json.status === "succeeded", 180_000, "the run to succeed");
    const run = (await getJson(api.baseUrl, `/v1/runs/${id}`)).json;
    const points = await db.prisma.metricPoint.findMany({ where: { runId: id }, orderBy: { seq: "asc" } });
    assert.deepEqual(points.map((point) => point.seq), points.map((_, i) => i), "seq 0..N-1, each once");
    assert.equal(points.at(-1)!.samplesSeen, run.samplesTotal, "nothing lost at the end");
    assert.equal(await db.prisma.epochSummary.count({ where: { runId: id } }), 3);
    assert.match(worker.output(), /could not write points yet; will retry/);
  } finally {
    await db.close();
  }
});
