import { z } from "zod";
import { epochSummarySchema, finalMetricsSchema, lossPointSchema } from "./events.js";
import { jobSpecSchema } from "./job-spec.js";
import { runStatusSchema } from "./run-status.js";

/** seq is a Postgres int4. */
const MAX_SEQ = 2 ** 31 - 1;
const afterSchema = z.coerce.number().int().min(-1).max(MAX_SEQ).default(-1);
const filterValue = z.string().regex(/^[A-Za-z0-9_.-]{1,50}$/, { error: "letters, digits, '_', '.' or '-', at most 50" });
const timestamp = z.iso
  .datetime({ offset: true })
  .refine((text) => {
    const year = new Date(text).getUTCFullYear();
    return year >= 1970 && year <= 9999;
  }, "must be between the years 1970 and 9999");

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
    sweepId: z.uuid().nullable(),
    combination: z.record(z.string(), z.unknown()).nullable().describe("within a sweep: the values this run varies"),
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
  kind: filterValue.optional(),
  model: filterValue.optional(),
  dataset: filterValue.optional(),
  sweepId: z.uuid().optional().describe("only the runs of this sweep"),
  createdAfter: timestamp.optional().describe("inclusive"),
  createdBefore: timestamp.optional().describe("exclusive"),
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
  after: afterSchema.describe("only points with seq > after"),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(100_000)
    .describe("without `points`: at most this many points; `nextAfter` continues"),
});

export const metricsSchema = z
  .strictObject({
    runId: z.uuid(),
    status: runStatusSchema,
    totalPoints: z.int().describe("points with seq > after when the request was served"),
    downsampled: z.boolean(),
    nextAfter: z.int().nullable().describe("more points follow: ask again with after=nextAfter"),
    points: z.array(lossPointSchema),
    epochs: z.array(epochSummarySchema),
  })
  .meta({ id: "Metrics" });

export const streamQuerySchema = z.strictObject({
  after: afterSchema.describe("send stored points with seq > after, then live ones"),
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

/** The error answers every data endpoint can give, for route response schemas. */
export const errorResponses = { 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema };

export const healthSchema = z.strictObject({ status: z.enum(["ok", "unavailable"]), checks: z.record(z.string(), z.string()) });

/** An optimization run's trajectory, starting with the start point (t = 0, eta null). */
export const traceSchema = z
  .array(z.strictObject({ t: z.int(), x: z.array(z.number()), f: z.number(), eta: z.number().nullable().describe("null at t = 0") }))
  .meta({ id: "Trace" });

export const objectiveSummarySchema = z
  .strictObject({
    name: z.string(),
    dim: z.int(),
    formula: z.string(),
    c: z.number().nullable().describe("default of the overridable constant, null when there is none"),
    defaultStart: z.array(z.number()),
    plotRange: z.array(z.tuple([z.number(), z.number()])),
    illustration: z.boolean(),
    links: z.strictObject({ grid: z.string() }),
  })
  .meta({ id: "Objective" });

export const objectiveParamsSchema = z.strictObject({ name: z.string().regex(/^[a-z0-9-]{1,50}$/) });

const bound = z.coerce.number().min(-1e6).max(1e6);
export const gridQuerySchema = z
  .strictObject({
    points: z.coerce.number().int().min(2).max(501).default(101).describe("samples per axis"),
    xmin: bound.optional(),
    xmax: bound.optional(),
    ymin: bound.optional(),
    ymax: bound.optional(),
    c: z.coerce.number().min(-1_000).max(1_000).optional(),
  })
  .refine((q) => q.xmin === undefined || q.xmax === undefined || q.xmin < q.xmax, { path: ["xmax"], message: "must exceed xmin" })
  .refine((q) => q.ymin === undefined || q.ymax === undefined || q.ymin < q.ymax, { path: ["ymax"], message: "must exceed ymin" });

export const gridSchema = z
  .strictObject({
    name: z.string(),
    dim: z.int(),
    c: z.number().nullable(),
    x: z.array(z.number()),
    y: z.array(z.number()).optional().describe("2-D objectives"),
    f: z
      .union([z.array(z.number().nullable()), z.array(z.array(z.number().nullable()))])
      .describe("1-D: f[i] = f(x[i]); 2-D: f[j][i] = f(x[i], y[j]); null where f overflows"),
  })
  .meta({ id: "Grid" });
