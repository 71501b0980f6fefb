import { randomUUID } from "node:crypto";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import fastifyWebsocket from "@fastify/websocket";
import Fastify, { type FastifyInstance } from "fastify";
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import type { MetricsRepository } from "../persistence/metrics-repository.js";
import type { RunsRepository } from "../persistence/runs-repository.js";
import type { StatsRepository } from "../persistence/stats-repository.js";
import type { SweepsRepository } from "../persistence/sweeps-repository.js";
import type { TenantsRepository } from "../persistence/tenants-repository.js";
import type { LiveEventHub, LiveEventPublisher } from "../queue/live-events.js";
import type { Redis } from "../queue/redis.js";
import type { RunQueue } from "../queue/run-queue.js";
import { redactToken, registerAccessControl } from "./access-control.js";
import { errorHandler } from "./error-handler.js";
import { metricsRoutes } from "./metrics.js";
import { dashboardRoutes } from "./routes/dashboard.js";
import { healthRoutes, type HealthChecks } from "./routes/health.js";
import { modelRoutes } from "./routes/models.js";
import { objectiveRoutes } from "./routes/objectives.js";
import { runRoutes } from "./routes/runs.js";
import { streamRoutes } from "./routes/stream.js";
import { sweepRoutes } from "./routes/sweeps.js";

export interface AppOptions {
  bodyLimitBytes: number;
  logLevel: string;
  streamPollMs: number;
  /** WebSocket ping interval, in ms. */
  heartbeatMs: number;
  /** Unsent bytes after which a watcher is dropped. */
  maxStreamBufferBytes: number;
  /** How long POST /v1/runs waits for Redis before leaving the run to the reconciler, in ms. */
  enqueueTimeoutMs: number;
  /** Requests per minute of a tenant without its own limit. */
  rateLimitPerMinute: number;
  /** Queued plus running runs of a tenant without its own cap. */
  maxActiveRuns: number;
  /** How long an API instance trusts a checked key before asking Postgres again, in ms. */
  keyCacheMs: number;
  /** Prefix of the rate limit's Redis keys. */
  redisPrefix: string;
  /** Bearer token of GET /metrics; unset: /metrics is off. */
  metricsToken: string | undefined;
}

export interface AppDeps {
  runs: RunsRepository;
  sweeps: SweepsRepository;
  metrics: MetricsRepository;
  /** Store-wide counts for GET /metrics. */
  stats: StatsRepository;
  tenants: TenantsRepository;
  /** Holds the rate limit's counters (a connection that fails fast while Redis is down). */
  rateLimitRedis: Redis;
  queue: RunQueue;
  publisher: LiveEventPublisher;
  liveEvents: LiveEventHub;
  checks: HealthChecks;
  options: AppOptions;
}

/** Builds the HTTP + WebSocket API over its dependencies. Never listens: the caller does. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: deps.options.logLevel,
      serializers: {
        req: (request) => ({ method: request.method, url: redactToken(request.url), remoteAddress: request.ip }),
      },
    },
    bodyLimit: deps.options.bodyLimitBytes,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: "not_found", message: `no route ${request.method} ${redactToken(request.url)}`, requestId: request.id }),
  );

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: "Lossline",
        version: "0.1.0",
        description:
          "Training as a service: submit a job, watch its loss live, query the history of every run. " +
          "Every /v1 route and the stream need a tenant's API key (`Authorization: Bearer <key>`, or `?token=<key>` for a browser's WebSocket); " +
          "another tenant's runs answer 404. GET /metrics needs the operator's METRICS_TOKEN. Limits per tenant: 429 `rate_limited` (with Retry-After) and 429 `too_many_active_runs`.",
      },
      components: {
        securitySchemes: {
          apiKey: { type: "http", scheme: "bearer", description: "a tenant's key: `lossline keys create <tenant>`" },
          metricsToken: { type: "http", scheme: "bearer", description: "the operator's METRICS_TOKEN (GET /metrics only)" },
        },
      },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/docs" });
  await app.register(fastifyWebsocket, { options: { maxPayload: 4096 } });
  await registerAccessControl(app, {
    tenants: deps.tenants,
    redis: deps.rateLimitRedis,
    redisPrefix: deps.options.redisPrefix,
    rateLimitPerMinute: deps.options.rateLimitPerMinute,
    keyCacheMs: deps.options.keyCacheMs,
    metricsToken: deps.options.metricsToken,
  });
  await app.register(metricsRoutes, deps); // before the routes: its onResponse hook times them all

  await app.register(healthRoutes, { checks: deps.checks });
  await app.register(runRoutes, deps);
  await app.register(objectiveRoutes);
  await app.register(modelRoutes);
  await app.register(sweepRoutes, deps);
  await app.register(dashboardRoutes);
  await app.register(streamRoutes, deps);
  return app;
}
