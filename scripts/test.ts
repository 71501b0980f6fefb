// npm test: makes a fresh database on the configured Postgres server, applies the migrations,
// checks Redis, runs every test file with node's test runner against them, then drops the database.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { loadConfig } from "../src/config/config.js";
import { dropDatabase, ensureDatabase, migrate } from "../src/persistence/migrate.js";

const config = loadConfig();
const databaseUrl = new URL(config.DATABASE_URL);
databaseUrl.pathname = `/lossline_test_${Date.now()}_${process.pid}`;
const testDatabaseUrl = databaseUrl.toString();

await assertRedis(config.REDIS_URL);
await ensureDatabase(testDatabaseUrl);
let status = 1;
try {
  await migrate(testDatabaseUrl);
  const only = process.argv.slice(2);
  // Arguments are test files, folders of them, or node --test flags; none means unit and integration.
  const files = (only.length > 0 ? only : ["tests/unit", "tests/integration"]).flatMap((arg) =>
    !arg.startsWith("-") && statSync(arg).isDirectory() ? listTests(arg) : [arg],
  );
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
    { stdio: "inherit", env: { ...process.env, DATABASE_URL: testDatabaseUrl, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" } },
  );
  status = result.status ?? 1;
} finally {
  await dropDatabase(testDatabaseUrl);
}
process.exit(status);

function listTests(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".test.ts"))
    .sort()
    .map((name) => join(dir, name));
}

async function assertRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    console.error(`Redis at ${url} does not answer (${(error as Error).message}). Start it, or set REDIS_URL.`);
    process.exit(1);
  } finally {
    redis.disconnect();
  }
}
