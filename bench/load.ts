// Load on one API instance: autocannon POSTs valid runs, then GETs runs and history, while many
// WebSocket followers watch; afterwards every accepted run must be stored and queued once.
// Runs on a fresh database and its own queue (no worker: the runs stay queued), dropped at the end.
// Usage: npx tsx bench/load.ts [seconds per read phase=10] [connections=20] [followers=200] [submissions=3000]
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import autocannon from "autocannon";
import WebSocket from "ws";
import { createApiService } from "../src/api-service.js";
import { loadConfig } from "../src/config/config.js";
import { SEED_REGRESSION_SPEC } from "../src/contracts/examples.js";
import { createPrismaClient } from "../src/persistence/prisma.js";
import { dropDatabase, ensureDatabase, migrate } from "../src/persistence/migrate.js";
import { createRedis } from "../src/queue/redis.js";
import { RunQueue } from "../src/queue/run-queue.js";
import { createTenantsRepository } from "../src/persistence/tenants-repository.js";

const [seconds, connections, followers, submissions] = [10, 20, 200, 3000].map((fallback, i) => Number(process.argv[2 + i] ?? fallback));
const tag = randomUUID().slice(0, 8);
const base = loadConfig({ ...process.env });
const databaseUrl = base.DATABASE_URL.replace(/\/[^/?]+(\?|$)/, `/lossline_load_${tag}$1`);
const config = loadConfig({ ...process.env, DATABASE_URL: databaseUrl, QUEUE_NAME: `load-${tag}`, REDIS_PREFIX: `load-${tag}`, LOG_LEVEL: "warn" });
await ensureDatabase(databaseUrl);
await migrate(databaseUrl);
const api = await createApiService(config);
await api.app.listen({ host: "127.0.0.1", port: 0 });
const url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
// One tenant whose limits are out of the way: this measures the service, not the rate limit.
const prisma = createPrismaClient({ databaseUrl, poolSize: 2 });
const tenants = createTenantsRepository({ prisma });
const tenant = await tenants.ensureTenant("load", { rateLimitPerMinute: 1_000_000, maxActiveRuns: 1_000_000 });
const { key } = await tenants.createKey(tenant.id);
const auth = { authorization: `Bearer ${key}` };

const run = (options: autocannon.Options) => autocannon({ duration: seconds, connections, headers: auth, ...options });
const describe = (name: string, result: autocannon.Result) =>
  `${name.padEnd(28)} ${result.requests.average.toFixed(0).padStart(6)} req/s  p50 ${String(result.latency.p50).padStart(4)} ms  p99 ${String(result.latency.p99).padStart(4)} ms  ` +
  `2xx ${result["2xx"]}  non-2xx ${result.non2xx}  errors ${result.errors}  timeouts ${result.timeouts}`;

// 1. Submissions: a fixed number, so that every request sent is also counted (a timed run stops with some in flight).
const post = await autocannon({
  url: `${url}/v1/runs`,
  connections,
  amount: submissions,
  method: "POST",
  headers: { ...auth, "content-type": "application/json" },
  body: JSON.stringify(SEED_REGRESSION_SPEC),
});
const accepted = post["2xx"];

// 2. Reads, with followers watching runs that exist.
const ids = (await prisma.run.findMany({ select: { id: true }, take: followers })).map((row) => row.id);
const sockets = ids.map((id) => new WebSocket(`${url.replace("http", "ws")}/v1/runs/${id}/stream`, { headers: auth }));
let hellos = 0;
for (const socket of sockets) socket.on("message", (raw) => String(raw).includes('"hello"') && hellos++);
const getOne = await run({ url: `${url}/v1/runs/${ids[0]}` });
const list = await run({ url: `${url}/v1/runs?limit=50` });
const history = await run({ url: `${url}/v1/runs/${ids[0]}/metrics` });
const open = sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length;
for (const socket of sockets) socket.terminate();

// 3. The invariant: accepted = stored = queued.
const stored = await prisma.run.count();
const redis = createRedis(config.REDIS_URL, { blocking: false, name: "lossline-load-bench" });
const queue = new RunQueue({ connection: redis, queueName: config.QUEUE_NAME, prefix: config.REDIS_PREFIX });
const queued = (await queue.counts("cpu")).waiting!;

console.log(`${submissions} submissions, then ${seconds} s per read phase; ${connections} connections; ${followers} WebSocket followers during the reads`);
console.log(describe("POST /v1/runs", post));
console.log(describe("GET /v1/runs/:id", getOne));
console.log(describe("GET /v1/runs?limit=50", list));
console.log(describe("GET /v1/runs/:id/metrics", history));
console.log(`followers: ${open} of ${sockets.length} open at the end of the reads, ${hellos} greeted`);
console.log(`accepted ${accepted} = stored ${stored} = queued ${queued}: ${accepted === stored && stored === queued ? "yes" : "NO"}`);

await queue.obliterate();
await queue.close();
redis.disconnect();
await prisma.$disconnect();
await api.close();
await dropDatabase(databaseUrl);
process.exit(accepted === stored && stored === queued ? 0 : 1);
