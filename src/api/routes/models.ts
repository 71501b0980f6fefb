import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorBodySchema } from "../../contracts/api.js";
import { InvalidRequestError } from "../../contracts/errors.js";
import { modelInfoSchema, modelParamsSchema, modelSummaryQuerySchema } from "../../contracts/model-api.js";
import { minimumSize, modelSummarySchema, summarizeModel } from "../../contracts/model-summary.js";
import { BATCH_NORM_CHOICES, MODEL_DESCRIPTIONS, MODEL_NAMES, modelSpecSchema } from "../../contracts/models.js";

/** The classification networks and their layer-by-layer shapes, computed without building them. */
export const modelRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/v1/models",
    { schema: { summary: "The networks classification jobs can train", response: { 200: z.strictObject({ models: z.array(modelInfoSchema) }) } } },
    async () => ({
      models: MODEL_NAMES.map((name) => ({
        name,
        ...MODEL_DESCRIPTIONS[name],
        minimumSize: minimumSize(name),
        batchNorm: [...BATCH_NORM_CHOICES[name]],
        links: { summary: `/v1/models/${name}/summary?size=${MODEL_DESCRIPTIONS[name].defaultSize}` },
      })),
    }),
  );

  app.get(
    "/v1/models/:name/summary",
    {
      schema: {
        summary: "Each layer's output shape (NCHW, batch 1, as the book prints it) and parameter count",
        params: modelParamsSchema,
        querystring: modelSummaryQuerySchema,
        response: { 200: modelSummarySchema, 400: errorBodySchema },
      },
    },
    async (request) => {
      const { name } = request.params;
      const { size = MODEL_DESCRIPTIONS[name].defaultSize, batchNorm } = request.query;
      const parsed = modelSpecSchema.safeParse(batchNorm === undefined ? { name } : { name, batchNorm });
      if (!parsed.success) refuse("batchNorm", `${name} takes ${BATCH_NORM_CHOICES[name].join(", ")}`);
      if (size < minimumSize(name)) refuse("size", `${name} needs images of at least ${minimumSize(name)}x${minimumSize(name)}, got ${size}`);
      return summarizeModel(parsed.data, size);
    },
  );
};

function refuse(field: string, message: string): never {
  throw new InvalidRequestError(`query.${field}: ${message}`, [{ path: `query.${field}`, message }]);
}
