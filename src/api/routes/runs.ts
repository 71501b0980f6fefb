import { randomUUID } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  errorBodySchema,
  errorResponses,
  listRunsQuerySchema,
  metricsQuerySchema,
  metricsSchema,
  runCreatedSchema,
  runIdParamsSchema,
  runListSchema,
  runViewSchema,
  traceSchema,
} from "../../contracts/api.js";
import { ConflictError, LosslineError, NotFoundError } from "../../contracts/errors.js";
import { jobSpecSchema, queueLane } from "../../contracts/job-spec.js";
import { runStatusSchema } from "../../contracts/run-status.js";
import { callerOf, ownerOf } from "../access-control.js";
import type { AppDeps } from "../app.js";
import { enqueueStoredRun } from "../enqueue-run.js";
import { decodeCursor, encodeCursor, runLinks, toRunSummary, toRunView } from "../run-view.js";

const cancelResultSchema = z
  .strictObject({ id: z.uuid(), status: runStatusSchema, cancelRequested: z.boolean() })
  .meta({ id: "CancelResult" });

export const runRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, { runs, metrics, queue, publisher, options }) => {
  // Another tenant's run is "no run", exactly as an unknown id: nothing tells whether it exists.
  const findRun = async (request: FastifyRequest, id: string) => {
    const run = await runs.findOwned(id, callerOf(request).tenantId);
    if (!run) throw new NotFoundError(`no run ${id}`);
    return run;
  };

  app.post(
    "/v1/runs",
    {
      schema: {
        summary: "Submit a training job",
        description: "The run is stored, then queued; 202 means it will reach a terminal state.",
        body: jobSpecSchema,
        response: { 202: runCreatedSchema, 413: errorBodySchema, 415: errorBodySchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const id = randomUUID();
      await runs.create(id, request.body, ownerOf(request, options.maxActiveRuns));
      await enqueueStoredRun({ runs, queue, timeoutMs: options.enqueueTimeoutMs, log: request.log }, id, queueLane(request.body));
      return reply.code(202).header("location", `/v1/runs/${id}`).send({ id, status: "queued", links: runLinks(id) });
    },
  );

  app.get(
    "/v1/runs",
    { schema: { summary: "List runs, newest first", querystring: listRunsQuerySchema, response: { 200: runListSchema, ...errorResponses } } },
    async (request) => {
      const { limit, cursor: cursorText, createdAfter, createdBefore, ...filter } = request.query;
      const cursor = cursorText === undefined ? undefined : decodeCursor(cursorText);
      if (cursor === null) throw new LosslineError("invalid_request", "query.cursor: not a cursor this API returned");
      const page = await runs.list(
        callerOf(request).tenantId,
        {
          ...filter,
          createdAfter: createdAfter ? new Date(createdAfter) : undefined,
          createdBefore: createdBefore ? new Date(createdBefore) : undefined,
        },
        limit,
        cursor,
      );
      return { runs: page.runs.map(toRunSummary), nextCursor: page.next ? encodeCursor(page.next) : null };
    },
  );

  app.get(
    "/v1/runs/:id",
    { schema: { summary: "One run", params: runIdParamsSchema, response: { 200: runViewSchema, ...errorResponses } } },
    async (request) => {
      const run = await findRun(request, request.params.id);
      const [latestPoint, epochs] = await Promise.all([metrics.latestPoint(run.id), metrics.listEpochs(run.id)]);
      return toRunView(run, latestPoint, epochs);
    },
  );

  app.get(
    "/v1/runs/:id/metrics",
    {
      schema: {
        summary: "A run's loss points and epoch summaries",
        params: runIdParamsSchema,
        querystring: metricsQuerySchema,
        response: { 200: metricsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const run = await findRun(request, request.params.id);
      const { points: maxPoints, after, limit } = request.query;
      const totalPoints = await metrics.countPoints(run.id, after);
      const downsampled = maxPoints !== undefined && totalPoints > maxPoints;
      const [points, epochs] = await Promise.all([
        downsampled ? metrics.downsample(run.id, maxPoints, after) : metrics.listPoints(run.id, after, limit),
        metrics.listEpochs(run.id),
      ]);
      const nextAfter = !downsampled && points.length === limit ? points.at(-1)!.seq : null;
      return { runId: run.id, status: run.status, totalPoints, downsampled, nextAfter, points, epochs };
    },
  );

  app.get(
    "/v1/runs/:id/trace",
    {
      schema: {
        summary: "An optimization run's iterates [{t, x, f, eta}], starting with the start point",
        description: "The objective and method are in GET /v1/runs/:id (model and optimizer). While the run goes on, what is stored so far.",
        params: runIdParamsSchema,
        response: { 200: traceSchema, ...errorResponses },
      },
    },
    async (request) => {
      const run = await findRun(request, request.params.id);
      if (run.kind !== "optimization") throw new NotFoundError(`run ${run.id} is a ${run.kind} run: only optimization runs have a trace`);
      const points = await metrics.listPoints(run.id, -1, run.samplesTotal + 1);
      return points.map((point) => ({ t: point.seq, x: point.x ?? [], f: point.value, eta: point.eta ?? null }));
    },
  );

  app.post(
    "/v1/runs/:id/cancel",
    {
      schema: {
        summary: "Cancel a run",
        description: "A queued run is canceled at once (200); a running one is stopped by its worker within seconds (202).",
        params: runIdParamsSchema,
        response: { 200: cancelResultSchema, 202: cancelResultSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const outcome = await runs.requestCancel(id, callerOf(request).tenantId);
      switch (outcome.kind) {
        case "missing":
          throw new NotFoundError(`no run ${id}`);
        case "finished":
          throw new ConflictError(`run ${id} already ended: ${outcome.status}`);
        case "canceled": {
          await Promise.allSettled([
            queue.remove(id),
            publisher.publish(id, {
              type: "status",
              status: "canceled",
              reason: "canceled before it started",
              attempt: 0,
              finalMetrics: null,
              at: new Date().toISOString(),
            }),
          ]);
          return reply.code(200).send({ id, status: "canceled", cancelRequested: true });
        }
        case "requested":
          // The worker also polls Postgres for the flag, so a lost message only delays the stop.
          await publisher.publishCancel(id).catch((error: unknown) => request.log.warn({ err: error }, "cancel signal not sent"));
          return reply.code(202).send({ id, status: "running", cancelRequested: true });
      }
    },
  );
};
