import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { runIdParamsSchema, streamQuerySchema } from "../../contracts/api.js";
import { NotFoundError } from "../../contracts/errors.js";
import type { AppDeps } from "../app.js";
import { streamRun } from "../run-stream.js";

export const streamRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  app.get(
    "/v1/runs/:id/stream",
    {
      websocket: true,
      schema: {
        summary: "Watch a run (WebSocket)",
        description:
          "Messages (JSON): hello, then points (stored after `after`, then live; seq increasing, no gap, no duplicate), " +
          "epoch and status as they happen, and end when the run is terminal; then the server closes. See StreamMessage.",
        params: runIdParamsSchema,
        querystring: streamQuerySchema,
      },
      // Unknown runs get a plain 404 instead of an upgrade.
      preHandler: async (request) => {
        const { id } = request.params as { id: string };
        if (!(await deps.runs.findById(id))) throw new NotFoundError(`no run ${id}`);
      },
    },
    (socket, request) => {
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
  );
};
