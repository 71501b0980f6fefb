import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { runIdParamsSchema, streamQuerySchema } from "../../contracts/api.js";
import { NotFoundError } from "../../contracts/errors.js";
import { callerOf } from "../access-control.js";
import type { AppDeps } from "../app.js";
import { streamRun } from "../run-stream.js";

export const streamRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  app.route({
    method: "GET",
    url: "/v1/runs/:id/stream",
    schema: {
      summary: "Watch a run (WebSocket)",
      description:
        "Messages (JSON): hello, then points (stored after `after`, then live; seq increasing, no gap, no duplicate), " +
        "epoch and status as they happen, and end when the run is terminal; then the server closes. See StreamMessage.",
      params: runIdParamsSchema,
      querystring: streamQuerySchema,
    },
    // Unknown runs, and other tenants' runs, get a plain 404 instead of an upgrade.
    preHandler: async (request) => {
      if (!(await deps.runs.findOwned(request.params.id, callerOf(request).tenantId))) throw new NotFoundError(`no run ${request.params.id}`);
    },
    // A plain GET, without the upgrade.
    handler: async (request, reply) =>
      reply.code(426).header("upgrade", "websocket").send({
        error: "upgrade_required",
        message: "this endpoint speaks WebSocket: connect with a WebSocket client",
        requestId: request.id,
      }),
    wsHandler: (socket, request) => {
      streamRun(socket, request.params.id, request.query.after, {
        runs: deps.runs,
        metrics: deps.metrics,
        liveEvents: deps.liveEvents,
        pollMs: deps.options.streamPollMs,
        heartbeatMs: deps.options.heartbeatMs,
        maxBufferedBytes: deps.options.maxStreamBufferBytes,
        log: request.log,
      });
    },
  });
};
