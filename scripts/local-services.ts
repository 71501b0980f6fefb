// Finds Postgres and Redis for the demo, or brings up private ones: an embedded PostgreSQL (PGlite)
// and a redis-server child process, both keeping their files under .data/.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";

export const DATA_DIR = join(process.cwd(), ".data");

export interface LocalService {
  url: string;
  /** What was used, for the user: "PostgreSQL at ...", "embedded PostgreSQL (PGlite) ...". */
  description: string;
  /** Whether the database named in `url` must be created first (a real server) or already exists (PGlite). */
  createDatabase: boolean;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function postgresAnswers(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  url.pathname = "/postgres";
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function redisAnswers(redisUrl: string): Promise<boolean> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2_000 });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** Postgres: DATABASE_URL if set; else the local default if it answers; else an embedded PGlite server. */
export async function providePostgres(options: { configuredUrl?: string; defaultUrl: string; forceEmbedded: boolean }): Promise<LocalService> {
  const none = async () => undefined;
  if (options.configuredUrl && !options.forceEmbedded) {
    if (!(await postgresAnswers(options.configuredUrl))) throw new Error(`DATABASE_URL is set, but no PostgreSQL answers at ${redact(options.configuredUrl)}`);
    return { url: options.configuredUrl, description: `PostgreSQL at ${redact(options.configuredUrl)}`, createDatabase: true, stop: none };
  }
  if (!options.forceEmbedded && (await postgresAnswers(options.defaultUrl))) {
    return { url: options.defaultUrl, description: `PostgreSQL at ${redact(options.defaultUrl)}`, createDatabase: true, stop: none };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const dataDir = join(DATA_DIR, "pglite");
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const port = await freePort();
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections: 32 });
  await server.start();
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    description: `embedded PostgreSQL (PGlite, data in ${dataDir}) on 127.0.0.1:${port}`,
    createDatabase: false,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/** Redis: REDIS_URL if set; else the local default if it answers; else a private redis-server if one is installed. */
export async function provideRedis(options: { configuredUrl?: string; defaultUrl: string }): Promise<LocalService> {
  const none = async () => undefined;
  if (options.configuredUrl) {
    if (!(await redisAnswers(options.configuredUrl))) throw new Error(`REDIS_URL is set, but no Redis answers at ${redact(options.configuredUrl)}`);
    return { url: options.configuredUrl, description: `Redis at ${redact(options.configuredUrl)}`, createDatabase: false, stop: none };
  }
  if (await redisAnswers(options.defaultUrl)) {
    return { url: options.defaultUrl, description: `Redis at ${options.defaultUrl}`, createDatabase: false, stop: none };
  }
  if (spawnSync("redis-server", ["--version"]).status !== 0) {
    throw new Error(
      `No Redis answers at ${options.defaultUrl} and no redis-server is installed.\n` +
        "  Install one (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis),\n" +
        "  or point REDIS_URL at a running Redis, then run this again.",
    );
  }
  mkdirSync(DATA_DIR, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", DATA_DIR],
    { stdio: "ignore" },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let tries = 0; !(await redisAnswers(url)); tries++) {
    if (tries > 50) throw new Error("the private redis-server did not start");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    description: `private redis-server on 127.0.0.1:${port}`,
    createDatabase: false,
    async stop() {
      child.kill("SIGTERM");
    },
  };
}

export function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}
