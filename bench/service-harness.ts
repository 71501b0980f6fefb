import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createApiService } from "../src/api-service.js";
import { createApiClient } from "../src/cli/api-client.js";
import { loadConfig } from "../src/config/config.js";
import { ensureDatabase, migrate } from "../src/persistence/migrate.js";
import { createPrismaClient } from "../src/persistence/prisma.js";
import { createTenantsRepository } from "../src/persistence/tenants-repository.js";

/**
 * The whole service for a benchmark: the configured database migrated, an API on an ephemeral port
 * of 127.0.0.1 and one worker process, on a queue of the bench's own, and `client`, the API's client
 * with a key of the tenant "bench". `close()` stops both and revokes the key.
 */
export async function startService() {
  const env = { ...process.env, QUEUE_NAME: `bench-${randomUUID().slice(0, 8)}`, LOG_LEVEL: "warn" };
  const config = loadConfig(env);
  await ensureDatabase(config.DATABASE_URL);
  await migrate(config.DATABASE_URL);
  const prisma = createPrismaClient({ databaseUrl: config.DATABASE_URL, poolSize: 1 });
  const tenants = createTenantsRepository({ prisma });
  const tenant = await tenants.ensureTenant("bench");
  const { key, record } = await tenants.createKey(tenant.id, { name: "bench" });
  const api = await createApiService(config);
  await api.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = api.app.server.address() as AddressInfo;
  const worker = spawn(process.execPath, ["--import", "tsx", "workers/main.ts"], { env: { ...env, LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "inherit"] });
  const release = async () => {
    await Promise.allSettled([api.close(), tenants.revokeKey(record.id)]);
    await prisma.$disconnect();
  };
  try {
    // A worker that cannot start or dies before it is ready (no database, a crash at start) fails the
    // bench with an error that says how it exited.
    await new Promise<void>((resolve, reject) => {
      worker.stdout!.on("data", (chunk) => String(chunk).includes("worker ready") && resolve());
      worker.once("error", reject);
      worker.once("exit", (code, signal) => reject(new Error(`the worker exited before it was ready (${signal ?? `code ${code}`})`)));
    });
  } catch (error) {
    await release();
    throw error;
  }
  return {
    port,
    /** The API's client with the bench's key (post, get, wsUrl, headers for a WebSocket). */
    client: createApiClient(`http://127.0.0.1:${port}`, key),
    async close() {
      worker.kill("SIGTERM");
      await release();
    },
  };
}
