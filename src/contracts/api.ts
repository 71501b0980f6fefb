import { z } from "zod";
import { epochSummarySchema, finalMetricsSchema, lossPointSchema } from "./events.js";
import { jobSpecSchema } from "./job-spec.js";
import { runStatusSchema } from "./run-status.js";

export const runIdParamsSchema = z.strictObject({ id: z.uuid({ error: "must be a run id (a UUID)" }) });

export const runLinksSchema = z.strictObject({ self: z.string(), metrics: z.string(), stream: z.string() });

export const runCreatedSchema = z
  .strictObject({ id: z.uuid(), status: runStatusSchema, links: runLinksSchema })
  .meta({ id: "RunCreated" });

const versionsSchema = z.record(z.string(), z.string());

/** Everything known about a run. Times are ISO 8601; null until they happen. */
export const runViewSchema = z
  .strictObject({
    id: z.uuid(),
    kind: z.string(),
    model: z.string(),
    dataset: z.string(),
    optimizer: z.string(),
    spec: jobSpecSchema,
    status: runStatusSchema,
    attempt: z.int(),
    cancelRequested: z.boolean(),
    workerId: z.string().nullable(),
    backend: z.string().nullable(),
    versions: versionsSchema.nullable(),
    failureReason: z.string().nullable(),
    finalMetrics: finalMetricsSchema.nullable(),
    samplesTotal: z.int(),
    createdAt: z.iso.datetime(),
    startedAt: z.iso.datetime().nullable(),
    finishedAt: z.iso.datetime().nullable(),
    latestPoint: lossPointSchema.nullable(),
    epochs: z.array(epochSummarySchema),
    links: runLinksSchema,
  })
  .meta({ id: "Run" });
export type RunView = z.infer<typeof runViewSchema>;

export const runSummarySchema = runViewSchema.omit({ latestPoint: true, epochs: true }).meta({ id: "RunSummary" });
export type RunSummary = z.infer<typeof runSummarySchema>;

export const listRunsQuerySchema = z.strictObject({
  status: runStatusSchema.optional(),
  kind: z.string().max(50).optional(),
  model: z.string().max(50).optional(),
  dataset: z.string().max(50).optional(),
  createdAfter: z.iso.datetime({ offset: true }).optional().describe("inclusive"),
  createdBefore: z.iso.datetime({ offset: true }).optional().describe("exclusive"),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional().describe("nextCursor of the previous page"),
});
export type ListRunsQuery = z.infer<typeof listRunsQuerySchema>;

export const runListSchema = z
  .strictObject({ runs: z.array(runSummarySchema), nextCursor: z.string().nullable() })
  .meta({ id: "RunList" });

export const metricsQuerySchema = z.strictObject({
  points: z.coerce
    .number()
    .int()
    .min(2)
    .max(1_000_000)
    .optional()
    .describe("downsample to at most this many points; each bucket keeps its min and max"),
  after: z.coerce.number().int().min(-1).default(-1).describe("only points with seq > after"),
});

export const metricsSchema = z
  .strictObject({
    runId: z.uuid(),
    status: runStatusSchema,
    totalPoints: z.int(),
    downsampled: z.boolean(),
    points: z.array(lossPointSchema),
    epochs: z.array(epochSummarySchema),
  })
  .meta({ id: "Metrics" });

export const streamQuerySchema = z.strictObject({
  after: z.coerce.number().int().min(-1).default(-1).describe("send stored points with seq > after, then live ones"),
});

export const errorBodySchema = z
  .strictObject({
    error: z.string().describe("machine-readable code"),
    message: z.string(),
    requestId: z.string(),
    issues: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: "Error" });
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const healthSchema = z.strictObject({ status: z.enum(["ok", "unavailable"]), checks: z.record(z.string(), z.string()) });
