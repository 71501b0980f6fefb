import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { buildApp, type AppOptions } from "./api/app.js";
import type { Config } from "./config/config.js";
import { createMetricsRepository } from "./persistence/metrics-repository.js";
import { createPrismaClient } from "./persistence/prisma.js";
import { createRunsRepository } from "./persistence/runs-repository.js";
import { createStatsRepository } from "./persistence/stats-repository.js";
import { createSweepsRepository } from "./persistence/sweeps-repository.js";
import { createTenantsRepository } from "./persistence/tenants-repository.js";
import { createLiveEventPublisher, LiveEventHub } from "./queue/live-events.js";
import { closeRedis, createRedis, withDeadline } from "./queue/redis.js";
import { RunQueue } from "./queue/run-queue.js";

export interface ApiService {
  app: FastifyInstance;
  /** Closes the HTTP server, then every connection. Idempotent. */
  close(): Promise<void>;
}

/** Config -> dependencies -> app. The caller decides whether and where to listen. */
export async function createApiService(config: Config, overrides: Partial<AppOptions> = {}): Promise<ApiService> {
  const prisma = createPrismaClient({ databaseUrl: config.DATABASE_URL });
  let log: FastifyBaseLogger | undefined; // the app's logger, once the app exists
  const onError = (error: Error) => log?.warn({ err: error.message }, "redis connection error");
  const commands = createRedis(config.REDIS_URL, { blocking: false, name: "lossline-api-commands", onError });
  const subscriber = createRedis(config.REDIS_URL, { blocking: true, name: "lossline-api-subscriber", onError });
  const queueConnection = createRedis(config.REDIS_URL, { blocking: false, name: "lossline-api-queue", onError });
  const liveEvents = new LiveEventHub(subscriber, config.REDIS_PREFIX);
  const queue = new RunQueue({ connection: queueConnection, queueName: config.QUEUE_NAME, prefix: config.REDIS_PREFIX });
  const app = await buildApp({
    runs: createRunsRepository({ prisma }),
    sweeps: createSweepsRepository({ prisma }),
    metrics: createMetricsRepository({ prisma }),
    stats: createStatsRepository({ prisma }),
    tenants: createTenantsRepository({ prisma }),
    rateLimitRedis: commands,
    queue,
    publisher: createLiveEventPublisher({ redis: commands, prefix: config.REDIS_PREFIX }),
    liveEvents,
    checks: {
      postgres: async () => void (await prisma.$queryRaw`SELECT 1`),
      redis: async () => void (await commands.ping()),
    },
    options: {
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      logLevel: config.LOG_LEVEL,
      streamPollMs: config.STREAM_POLL_MS,
      heartbeatMs: 30_000,
      maxStreamBufferBytes: 8 * 1024 * 1024,
      enqueueTimeoutMs: 2_000,
      rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
      maxActiveRuns: config.MAX_ACTIVE_RUNS,
      keyCacheMs: config.API_KEY_CACHE_MS,
      redisPrefix: config.REDIS_PREFIX,
      metricsToken: config.METRICS_TOKEN,
      ...overrides,
    },
  });
  log = app.log;

  let closing: Promise<void> | undefined;
  return {
    app,
    close() {
      closing ??= (async () => {
        await app.close();
        liveEvents.close();
        await withDeadline(queue.close(), 2_000).catch(() => undefined); // Redis may be the thing that is down
        await Promise.all([commands, subscriber, queueConnection].map((connection) => closeRedis(connection)));
        await prisma.$disconnect();
      })();
      return closing;
    },
  };
}
