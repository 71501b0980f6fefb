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

const finite = (value: number) => (Number.isFinite(value) ? value : null);

/** An axis' bounds once defaults are filled in; an empty or reversed one is the caller's mistake. */
function range(axis: "x" | "y", from: number, to: number): [number, number] {
  if (from < to) return [from, to];
  throw new LosslineError("invalid_request", `query.${axis}max: must exceed ${axis}min (the axis would run from ${from} to ${to})`);
}

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
      const x = linspace(...range("x", xmin ?? xRange![0], xmax ?? xRange![1]), points);
      const shownC = objective.defaultC === null ? null : c;
      if (objective.dim === 1) return { name: objective.name, dim: 1, c: shownC, x, f: x.map((v) => finite(objective.f([v], c))) };
      const y = linspace(...range("y", ymin ?? yRange![0], ymax ?? yRange![1]), points);
      const f = y.map((yj) => x.map((xi) => finite(objective.f([xi, yj], c))));
      return { name: objective.name, dim: 2, c: shownC, x, y, f };
    },
  );
};
