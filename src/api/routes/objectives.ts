import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorBodySchema, gridQuerySchema, gridSchema, objectiveParamsSchema, objectiveSummarySchema } from "../../contracts/api.js";
import { LosslineError, NotFoundError } from "../../contracts/errors.js";
import { findObjective, OBJECTIVE_NAMES, OBJECTIVES, type Objective } from "../../contracts/objectives.js";

const summary = (objective: Objective) => ({
  name: objective.name,
  dim: objective.dim,
  formula: objective.formula,
  c: objective.defaultC,
  defaultStart: objective.defaultStart,
  plotRange: objective.plotRange,
  illustration: objective.illustration,
  links: { grid: `/v1/objectives/${objective.name}/grid` },
});

/** `points` evenly spaced values from `from` to `to`, both included. */
const linspace = (from: number, to: number, points: number) =>
  Array.from({ length: points }, (_, i) => from + ((to - from) * i) / (points - 1));

export const objectiveRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/v1/objectives",
    { schema: { summary: "The functions optimization jobs can trace", response: { 200: z.strictObject({ objectives: z.array(objectiveSummarySchema) }) } } },
    async () => ({ objectives: OBJECTIVES.map(summary) }),
  );

  app.get(
    "/v1/objectives/:name/grid",
    {
      schema: {
        summary: "An objective's values on a grid, for curves (1-D) and contour plots (2-D)",
        params: objectiveParamsSchema,
        querystring: gridQuerySchema,
        response: { 200: gridSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request) => {
      const objective = findObjective(request.params.name);
      if (!objective) throw new NotFoundError(`no objective ${request.params.name}; known: ${OBJECTIVE_NAMES.join(", ")}`);
      const { points, xmin, xmax, ymin, ymax, c: override } = request.query;
      if (override !== undefined && objective.defaultC === null) throw new LosslineError("invalid_request", `query.c: ${objective.name} has no constant c`);
      const c = override ?? objective.defaultC ?? 0;
      const [xRange, yRange] = objective.plotRange;
      const x = linspace(xmin ?? xRange![0], xmax ?? xRange![1], points);
      if (objective.dim === 1) return { name: objective.name, dim: 1, c: objective.defaultC === null ? null : c, x, f: x.map((v) => objective.f([v], c)) };
      const y = linspace(ymin ?? yRange![0], ymax ?? yRange![1], points);
      const f = y.map((yj) => x.map((xi) => objective.f([xi, yj], c)));
      return { name: objective.name, dim: 2, c: objective.defaultC === null ? null : c, x, y, f };
    },
  );
};
