import type { FastifyPluginAsync } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { RUN_STATUSES } from "../contracts/run-status.js";
import type { StatsRepository } from "../persistence/stats-repository.js";
import { withDeadline } from "../queue/redis.js";
import { QUEUE_LANES, type RunQueue } from "../queue/run-queue.js";

/**
 * Prometheus metrics at GET /metrics, in the text exposition format 0.0.4. Each app has its own
 * registry (several apps may live in one process); the gauges are read when scraped.
 *
 * | metric                                   | type      | labels                     | what                                                    |
 * | ---------------------------------------- | --------- | -------------------------- | ------------------------------------------------------- |
 * | lossline_http_request_duration_seconds   | histogram | method, route, status_code | request received to response sent; route is the pattern ("/v1/runs/:id"), "unmatched" when no route matched |
 * | lossline_queue_jobs                      | gauge     | lane, state                | jobs in this API's BullMQ queues: lane cpu or gpu, state waiting, active or delayed |
 * | lossline_runs                            | gauge     | status                     | runs in Postgres in each status (COUNT ... GROUP BY status) |
 * | lossline_loss_points_written_total       | counter   |                            | loss points inserted by every worker together, from Postgres' table statistics (lags by 1 to 10 s; restarts at 0 when they are reset): rate() is points written per second |
 * | lossline_websocket_clients               | gauge     |                            | open WebSocket connections (run streams) to this API instance |
 * | lossline_scrape_source_up                | gauge     | source                     | 1 when postgres or redis answered this scrape within SCRAPE_DEADLINE_MS, else 0 |
 *
 * A source that does not answer in time leaves its metrics out of the scrape (the family's HELP and
 * TYPE lines stay), so an outage shows as lossline_scrape_source_up 0 and gaps, never a hung scrape.
 */
export interface MetricsPluginOptions {
  queue: RunQueue;
  stats: StatsRepository;
}

/** How long a scrape waits for Postgres and for Redis (in parallel), in ms. */
export const SCRAPE_DEADLINE_MS = 1_000;

const QUEUE_STATES = ["waiting", "active", "delayed"] as const;
/** Seconds: from a 1 ms health check to a 10 s sweep submission. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const metricsPlugin: FastifyPluginAsync<MetricsPluginOptions> = async (app, { queue, stats }) => {
  const registry = new Registry();
  const registers = [registry];
  const requestDuration = new Histogram({
    name: "lossline_http_request_duration_seconds",
    help: "HTTP request latency, from request received to response sent",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const queueJobs = new Gauge({ name: "lossline_queue_jobs", help: "Jobs in the run queues by lane and state", labelNames: ["lane", "state"] as const, registers });
  const runs = new Gauge({ name: "lossline_runs", help: "Runs stored in Postgres by status", labelNames: ["status"] as const, registers });
  const pointsWritten = new Counter({
    name: "lossline_loss_points_written_total",
    help: "Loss points inserted into Postgres by all workers (Postgres table statistics)",
    registers,
  });
  const websocketClients = new Gauge({ name: "lossline_websocket_clients", help: "Open WebSocket connections to this API instance", registers });
  const sourceUp = new Gauge({
    name: "lossline_scrape_source_up",
    help: "1 when the source answered this scrape in time, else 0 (its metrics are then left out)",
    labelNames: ["source"] as const,
    registers,
  });

  // On the root instance (fastify-plugin): every route's responses, and the not-found handler's.
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    requestDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  /** Reads Postgres and Redis in parallel, each within the deadline, and sets the gauges from what came back. */
  async function refresh(): Promise<void> {
    const [store, lanes] = await Promise.all([
      settle(Promise.all([stats.countRunsByStatus(), stats.lossPointsInserted()])),
      settle(Promise.all(QUEUE_LANES.map(async (lane) => [lane, await queue.counts(lane)] as const))),
    ]);
    runs.reset();
    if (store) for (const status of RUN_STATUSES) runs.set({ status }, store[0][status] ?? 0);
    pointsWritten.reset();
    const inserted = store?.[1] ?? null;
    if (inserted === null) pointsWritten.remove(); // no sample rather than a 0 that would read as a reset
    else pointsWritten.inc(inserted);
    queueJobs.reset();
    for (const [lane, counts] of lanes ?? []) {
      for (const state of QUEUE_STATES) queueJobs.set({ lane, state }, counts[state] ?? 0);
    }
    sourceUp.set({ source: "postgres" }, store ? 1 : 0);
    sourceUp.set({ source: "redis" }, lanes ? 1 : 0);
    websocketClients.set(app.websocketServer?.clients.size ?? 0);
  }

  app.get(
    "/metrics",
    { schema: { security: [{ metricsToken: [] }], summary: "Prometheus metrics (text exposition format 0.0.4)", description: "See src/api/metrics.ts for the list." } },
    async (_request, reply) => {
      await refresh();
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  );
};

/** The value, or undefined when the promise rejects or takes longer than the deadline. */
const settle = <T>(promise: Promise<T>): Promise<T | undefined> =>
  withDeadline(promise, SCRAPE_DEADLINE_MS).then(
    (value) => value,
    () => undefined,
  );

export const metricsRoutes = fastifyPlugin(metricsPlugin, { name: "lossline-metrics" });
