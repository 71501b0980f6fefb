import { z } from "zod";
import { finalMetricsSchema } from "./events.js";
import { runStatusSchema } from "./run-status.js";

/** A dotted path into a spec: "optimizer.lr", "batchSize". */
const specPath = z.string().regex(/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/, { error: "a dotted field path such as optimizer.lr" });
const specValue = z.union([z.number(), z.string().max(100), z.boolean(), z.null(), z.record(z.string(), z.unknown()), z.array(z.unknown())]);

export const MAX_SWEEP_RUNS = 100;

/**
 * One run per combination: every choice of the grid's values (cartesian product) crossed with every
 * variant (a set of path overrides), applied to the base spec. All runs share the base's seed, so
 * they start from the same weights and see the data in the same order.
 */
export const sweepRequestSchema = z
  .strictObject({
    name: z.string().min(1).max(200).regex(/^[^\u0000]*$/, { error: "must not contain NUL" }).optional(),
    base: z.record(z.string(), z.unknown()).describe("a job spec (POST /v1/runs body) that the combinations modify"),
    grid: z.record(specPath, z.array(specValue).min(1).max(MAX_SWEEP_RUNS)).optional(),
    variants: z.array(z.record(specPath, specValue)).min(1).max(MAX_SWEEP_RUNS).optional(),
  })
  .refine((request) => request.grid !== undefined || request.variants !== undefined, { path: ["grid"], message: "give a grid, variants, or both" })
  .meta({ id: "SweepRequest" });
export type SweepRequest = z.infer<typeof sweepRequestSchema>;

export const sweepQuerySchema = z.strictObject({
  metric: z.string().regex(/^[A-Za-z0-9_]{1,50}$/).default("loss").describe("final metric that picks the best run"),
  order: z.enum(["min", "max"]).default("min"),
});

const combinationSchema = z.record(z.string(), z.unknown());

export const sweepViewSchema = z
  .strictObject({
    id: z.uuid(),
    name: z.string().nullable(),
    base: z.record(z.string(), z.unknown()),
    grid: z.record(z.string(), z.array(z.unknown())).nullable(),
    variants: z.array(combinationSchema).nullable(),
    createdAt: z.iso.datetime(),
    runs: z.array(
      z.strictObject({
        id: z.uuid(),
        status: runStatusSchema,
        combination: combinationSchema,
        finalMetrics: finalMetricsSchema.nullable(),
        failureReason: z.string().nullable(),
        secondsPerEpoch: z.number().nullable().describe("mean over the epochs it finished"),
      }),
    ),
    best: z.strictObject({ runId: z.uuid(), metric: z.string(), value: z.number() }).nullable(),
  })
  .meta({ id: "Sweep" });

export const compareQuerySchema = z.strictObject({
  runs: z
    .string()
    .max(MAX_SWEEP_RUNS * 37)
    .transform((text) => text.split(","))
    .pipe(z.array(z.uuid()).min(1).max(MAX_SWEEP_RUNS))
    .describe("comma-separated run ids"),
  x: z.enum(["samples", "epoch", "seconds"]).default("samples"),
  points: z.coerce.number().int().min(2).max(100_000).default(1_000).describe("per run, downsampled keeping each bucket's min and max"),
});

export const comparisonSchema = z
  .strictObject({
    x: z.enum(["samples", "epoch", "seconds"]),
    runs: z.array(
      z.strictObject({
        id: z.uuid(),
        status: runStatusSchema,
        label: z.string(),
        totalPoints: z.int(),
        points: z.array(z.strictObject({ x: z.number(), value: z.number(), seq: z.int() })),
      }),
    ),
  })
  .meta({ id: "Comparison" });
