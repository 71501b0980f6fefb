import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import type { AppOptions } from "../../src/api/app.js";
import { createApiService, type ApiService } from "../../src/api-service.js";
import { loadConfig, type Config } from "../../src/config/config.js";
import type { StreamMessage } from "../../src/contracts/events.js";
import { SEED_REGRESSION_SPEC } from "../../src/contracts/examples.js";
import { createPrismaClient } from "../../src/persistence/prisma.js";
import { createTenantsRepository, generateApiKey } from "../../src/persistence/tenants-repository.js";
import { runChannel } from "../../src/queue/live-events.js";
import { createRedis } from "../../src/queue/redis.js";
import { RunQueue } from "../../src/queue/run-queue.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A redis-server of a test's own on `port`, keeping nothing on disk (as production's), for tests that kill and restart it. */
export function redisServer(port: number): { child: ChildProcess; stopped: Promise<unknown> } {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  return { child, stopped: new Promise((resolve) => child.once("exit", resolve)) };
}

/**
 * The environment of one test: its own queue and Redis prefix, fast timers, and its own tenant
 * (TEST_TENANT) with a key (TEST_API_KEY) that the helpers below send. Limits are out of the way
 * unless a test sets them.
 */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const tag = randomUUID().slice(0, 8);
  return {
    TEST_TENANT: `test-${tag}`,
    TEST_API_KEY: generateApiKey(),
    METRICS_TOKEN: `metrics-${randomUUID()}`,
    RATE_LIMIT_PER_MINUTE: "1000000",
    MAX_ACTIVE_RUNS: "1000000",
    DATABASE_URL: process.env.DATABASE_URL ?? "",
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    QUEUE_NAME: `test-${tag}`,
    REDIS_PREFIX: `lltest-${tag}`,
    LOG_LEVEL: "warn",
    PORT: "0",
    STREAM_POLL_MS: "1000",
    POINT_FLUSH_MS: "50",
    RECONCILE_INTERVAL_MS: "300",
    RECONCILE_GRACE_MS: "60000",
    ...overrides,
  };
}

export const configFor = (env: Record<string, string>): Config => loadConfig(env);

export interface RunningApi {
  service: ApiService;
  baseUrl: string;
  wsUrl: string;
  /** The key of the env's tenant, which postJson, getJson and openStream send to this instance. */
  key: string;
}

const keysByUrl = new Map<string, string>();
const tenantsMade = new Map<string, Promise<{ tenantId: string; key: string }>>();

/**
 * Makes (once per key) a tenant and its key in the test database, or in `databaseUrl`'s. Limits:
 * null means the service's defaults.
 */
export function ensureTenantKey(
  tenant: string,
  key: string,
  limits: { rateLimitPerMinute?: number | null; maxActiveRuns?: number | null } = {},
  databaseUrl = process.env.DATABASE_URL ?? "",
): Promise<{ tenantId: string; key: string }> {
  let made = tenantsMade.get(key);
  if (!made) {
    made = (async () => {
      const prisma = createPrismaClient({ databaseUrl, poolSize: 1 });
      try {
        const tenants = createTenantsRepository({ prisma });
        const { id } = await tenants.ensureTenant(tenant, limits);
        await tenants.createKey(id, { key, name: "test" });
        return { tenantId: id, key };
      } finally {
        await prisma.$disconnect();
      }
    })();
    tenantsMade.set(key, made);
  }
  return made;
}

/**
 * An API instance listening on an ephemeral port of 127.0.0.1; the env's tenant and key exist in its
 * database, unless `storesKey` is false (a database that is not there).
 */
export async function startApi(env: Record<string, string>, overrides: Partial<AppOptions> = {}, storesKey = true): Promise<RunningApi> {
  const [service] = await Promise.all([
    createApiService(configFor(env), overrides),
    storesKey ? ensureTenantKey(env.TEST_TENANT!, env.TEST_API_KEY!, {}, env.DATABASE_URL) : undefined,
  ]);
  await service.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = service.app.server.address() as AddressInfo;
  const api = { service, baseUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}`, key: env.TEST_API_KEY! };
  keysByUrl.set(api.baseUrl, api.key).set(api.wsUrl, api.key);
  return api;
}

/** The Authorization header for a key (by default the key of the API instance at `url`). */
export function authHeader(url: string, key?: string | null): Record<string, string> {
  const chosen = key === undefined ? keysByUrl.get(url) : key;
  return chosen ? { authorization: `Bearer ${chosen}` } : {};
}

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A real worker process (workers/main.ts), resolved once it logs "worker ready". */
export async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "workers/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await waitFor(() => output.includes("worker ready") || child.exitCode !== null, 60_000, "worker to start");
  if (child.exitCode !== null) throw new Error(`worker exited at start:\n${output}`);
  return {
    child,
    output: () => output,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface StreamRecording {
  messages: StreamMessage[];
  closed: Promise<{ code: number; reason: string }>;
  socket: WebSocket;
}

/** Opens a run's stream and records every message until the server closes it. `key` null: send none. */
export function openStream(wsUrl: string, runId: string, after?: number, key?: string | null): StreamRecording {
  const query = after === undefined ? "" : `?after=${after}`;
  const socket = new WebSocket(`${wsUrl}/v1/runs/${runId}/stream${query}`, { headers: authHeader(wsUrl, key) });
  const messages: StreamMessage[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(String(data)) as StreamMessage));
  const closed = new Promise<{ code: number; reason: string }>((resolve, reject) => {
    socket.once("close", (code, reason) => resolve({ code, reason: String(reason) }));
    socket.once("error", reject);
  });
  return { messages, closed, socket };
}

export const streamedSeqs = (messages: StreamMessage[]) =>
  messages.flatMap((message) => (message.type === "points" ? message.points.map((point) => point.seq) : []));

/** POST with the instance's key, or `key` (null: none). */
export async function postJson(baseUrl: string, path: string, body: unknown, key?: string | null): Promise<{ status: number; json: any }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...authHeader(baseUrl, key) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

/** GET with the instance's key, or `key` (null: none). */
export async function getJson(baseUrl: string, path: string, key?: string | null): Promise<{ status: number; json: any }> {
  const response = await fetch(`${baseUrl}${path}`, { headers: authHeader(baseUrl, key) });
  return { status: response.status, json: await response.json() };
}

/** Direct handles on this test's Postgres and queue, for assertions and clean-up. */
export function inspect(env: Record<string, string>) {
  const config = configFor(env);
  const prisma = createPrismaClient({ databaseUrl: config.DATABASE_URL, poolSize: 2 });
  const redis = createRedis(config.REDIS_URL, { blocking: false, name: "lossline-test-inspect" });
  const queue = new RunQueue({ connection: redis, queueName: config.QUEUE_NAME, prefix: config.REDIS_PREFIX });
  return {
    prisma,
    queue,
    /** How many connections subscribe to a run's live channel (all API instances together). */
    async watchers(runId: string): Promise<number> {
      const reply = (await redis.call("PUBSUB", "NUMSUB", runChannel(config.REDIS_PREFIX, runId))) as [string, number];
      return Number(reply[1]);
    },
    async close() {
      await queue.obliterate().catch(() => undefined);
      await queue.close();
      redis.disconnect();
      await prisma.$disconnect();
    },
  };
}

/** The seed job with some fields changed. */
export const airfoilSpec = (overrides: Record<string, unknown> = {}) => ({ ...SEED_REGRESSION_SPEC, ...overrides });

/**
 * For a test file: one API instance and one real worker process on the file's own queue and Redis
 * prefix, started before its tests and stopped after them. `api` and `worker` are set once started.
 */
export function useApiAndWorker(envOverrides: Record<string, string> = {}) {
  const env = testEnv(envOverrides);
  const stack = { env, db: inspect(env), api: undefined as unknown as RunningApi, worker: undefined as unknown as WorkerProcess };
  before(async () => {
    [stack.api, stack.worker] = await Promise.all([startApi(env), startWorker(env)]);
  });
  after(async () => {
    await stack.worker?.stop();
    await stack.api?.service.close();
    await stack.db.close();
  });
  return stack;
}

/** Submits a spec and follows its stream to the end: the run's id, every stream message, and the `end` message. */
export async function runToEnd(api: RunningApi, spec: unknown) {
  const submitted = await postJson(api.baseUrl, "/v1/runs", spec);
  assert.equal(submitted.status, 202, JSON.stringify(submitted.json));
  const stream = openStream(api.wsUrl, submitted.json.id);
  await stream.closed;
  const end = stream.messages.at(-1)!;
  assert.equal(end.type, "end", JSON.stringify(stream.messages.slice(-3)));
  return { id: submitted.json.id as string, messages: stream.messages, end: end as Extract<StreamMessage, { type: "end" }> };
}

/** The env's tenant as the owner of runs a test stores directly (no cap in the way). */
export async function ownerFor(env: Record<string, string>) {
  const { tenantId } = await ensureTenantKey(env.TEST_TENANT!, env.TEST_API_KEY!);
  return { tenantId, tenantName: env.TEST_TENANT!, maxActiveRuns: 1_000_000 };
}

/** GET /metrics with the operator's token; asserts a 200. */
export async function scrapeMetrics(baseUrl: string, token: string): Promise<{ contentType: string | null; text: string }> {
  const response = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  return { contentType: response.headers.get("content-type"), text: await response.text() };
}

/** The value of the Prometheus sample `name{labels}` (labels in any order), or undefined when the scrape has none. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/** The status of a WebSocket upgrade: 101 when it opened (then closed), else the HTTP status the server answered. */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
    socket.once("open", () => {
      socket.close();
      resolve(101);
    });
    socket.once("error", (error) => (error.message.includes("Unexpected server response") ? undefined : reject(error)));
  });
}
