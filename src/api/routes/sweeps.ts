import { randomUUID } from "node:crypto";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses, runIdParamsSchema } from "../../contracts/api.js";
import { NotFoundError } from "../../contracts/errors.js";
import type { LossPoint } from "../../contracts/events.js";
import { queueLane } from "../../contracts/job-spec.js";
import { comparisonSchema, compareQuerySchema, sweepQuerySchema, sweepRequestSchema, sweepViewSchema } from "../../contracts/sweeps.js";
import type { Run } from "../../persistence/runs-repository.js";
import { callerOf, ownerOf } from "../access-control.js";
import type { AppDeps } from "../app.js";
import { enqueueStoredRun } from "../enqueue-run.js";
import { expandSweep } from "../sweep-expansion.js";

const sweepCreatedSchema = z
  .strictObject({
    id: z.uuid(),
    runs: z.array(z.strictObject({ id: z.uuid(), combination: z.record(z.string(), z.unknown()) })),
    links: z.strictObject({ self: z.string(), compare: z.string() }),
  })
  .meta({ id: "SweepCreated" });

export const sweepRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, { runs, sweeps, metrics, queue, options }) => {
  app.post(
    "/v1/sweeps",
    {
      schema: {
        summary: "Run a base spec over a grid of values",
        description: "Every combination is validated before anything is stored; then all runs are stored at once and queued.",
        body: sweepRequestSchema,
        response: { 202: sweepCreatedSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const combinations = expandSweep(request.body);
      const id = randomUUID();
      const planned = combinations.map((combination) => ({ id: randomUUID(), spec: combination.spec, combination: combination.values }));
      const { name, base, grid, variants } = request.body;
      const owner = ownerOf(request, options.maxActiveRuns);
      await sweeps.createWithRuns({ id, name: name ?? null, base, grid: grid ?? null, variants: variants ?? null }, planned, owner);
      const enqueue = { runs, queue, timeoutMs: options.enqueueTimeoutMs, log: request.log };
      await Promise.all(planned.map((run) => enqueueStoredRun(enqueue, run.id, queueLane(run.spec))));
      return reply.code(202).send({
        id,
        runs: planned.map((run) => ({ id: run.id, combination: run.combination })),
        links: { self: `/v1/sweeps/${id}`, compare: `/v1/compare?runs=${planned.map((run) => run.id).join(",")}` },
      });
    },
  );

  app.get(
    "/v1/sweeps/:id",
    {
      schema: {
        summary: "A sweep's runs, their status and final metrics, and the best run",
        params: runIdParamsSchema,
        querystring: sweepQuerySchema,
        response: { 200: sweepViewSchema, ...errorResponses },
      },
    },
    async (request) => {
      const sweep = await sweeps.findOwned(request.params.id, callerOf(request).tenantId);
      if (!sweep) throw new NotFoundError(`no sweep ${request.params.id}`);
      const { metric, order } = request.query;
      const views = sweep.runs.map((run) => ({
        id: run.id,
        status: run.status,
        combination: (run.combination ?? {}) as Record<string, unknown>,
        finalMetrics: run.finalMetrics as Record<string, number> | null,
        failureReason: run.failureReason,
        secondsPerEpoch: run.secondsPerEpoch,
      }));
      const scored = views.flatMap((run) => {
        const value = run.status === "succeeded" ? run.finalMetrics?.[metric] : undefined;
        return typeof value === "number" ? [{ runId: run.id, metric, value }] : [];
      });
      const best = scored.reduce<(typeof scored)[number] | null>(
        (champion, candidate) => (!champion || (order === "min" ? candidate.value < champion.value : candidate.value > champion.value) ? candidate : champion),
        null,
      );
      return {
        id: sweep.id,
        name: sweep.name,
        base: sweep.base as Record<string, unknown>,
        grid: sweep.grid as Record<string, unknown[]> | null,
        variants: sweep.variants as Record<string, unknown>[] | null,
        createdAt: sweep.createdAt.toISOString(),
        runs: views,
        best,
      };
    },
  );

  app.get(
    "/v1/compare",
    {
      schema: {
        summary: "Several runs' loss curves on one x axis",
        description: "samples (samples seen; comparable across batch sizes), epoch, or seconds since the run started.",
        querystring: compareQuerySchema,
        response: { 200: comparisonSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { runs: ids, x, points: maxPoints } = request.query;
      const { tenantId } = callerOf(request);
      // Every run is checked in one query before any points are read.
      const owned = new Map((await runs.findManyOwned(ids, tenantId)).map((run) => [run.id, run]));
      const missing = ids.find((id) => !owned.has(id));
      if (missing !== undefined) throw new NotFoundError(`runs: no run ${missing}`);
      const compared = await Promise.all(
        ids.map(async (id) => {
          const run = owned.get(id)!;
          const totalPoints = await metrics.countPoints(id);
          const points = totalPoints > maxPoints ? await metrics.downsample(id, maxPoints) : await metrics.listPoints(id, -1, maxPoints);
          return { id, status: run.status, label: labelOf(run), totalPoints, points: points.map(alignOn(x, run, points)) };
        }),
      );
      return { x, runs: compared };
    },
  );
};

/** A short name for a curve: the sweep combination if the run has one, else what it trains and how. */
function labelOf(run: Run): string {
  if (run.combination && typeof run.combination === "object") {
    return Object.entries(run.combination as Record<string, unknown>)
      .map(([path, value]) => `${path}=${typeof value === "object" ? JSON.stringify(value) : String(value)}`)
      .join(" ");
  }
  return `${run.kind} ${run.model} ${run.optimizer}`;
}

function alignOn(x: "samples" | "epoch" | "seconds", run: Run, points: LossPoint[]) {
  const origin = (run.startedAt ?? (points[0] ? new Date(points[0].wallTime) : new Date())).getTime();
  return (point: LossPoint) => ({
    x: x === "samples" ? point.samplesSeen : x === "epoch" ? point.epoch : (Date.parse(point.wallTime) - origin) / 1000,
    value: point.value,
    seq: point.seq,
  });
}
