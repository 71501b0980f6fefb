import { z } from "zod";
import { runStatusSchema } from "./run-status.js";

/** One loss point. `seq` counts 0, 1, 2, ... within a run; `epoch` is fractional (samplesSeen / epoch size). */
export const lossPointSchema = z
  .strictObject({
    seq: z.int().min(0),
    samplesSeen: z.int().min(0),
    epoch: z.number().min(0),
    value: z.number(),
    wallTime: z.iso.datetime(),
    /** Optimization traces only: the iterate, and the step size that produced it (null at t = 0). */
    x: z.array(z.number()).optional(),
    eta: z.number().nullable().optional(),
  })
  .meta({ id: "LossPoint" });
export type LossPoint = z.infer<typeof lossPointSchema>;

/** What a run measured at the end of an epoch (1-based). Accuracies only for classification. */
export const epochSummarySchema = z
  .strictObject({
    epoch: z.int().min(1),
    loss: z.number(),
    trainAccuracy: z.number().nullable(),
    testAccuracy: z.number().nullable(),
    seconds: z.number().min(0),
    wallTime: z.iso.datetime(),
  })
  .meta({ id: "EpochSummary" });
export type EpochSummary = z.infer<typeof epochSummarySchema>;

export const finalMetricsSchema = z.record(z.string(), z.number()).meta({ id: "FinalMetrics" });
export type FinalMetrics = z.infer<typeof finalMetricsSchema>;

/** A status change, as published by workers and API and forwarded to watchers. */
export const statusEventSchema = z.strictObject({
  type: z.literal("status"),
  status: runStatusSchema,
  reason: z.string().nullable(),
  attempt: z.int().min(0),
  finalMetrics: finalMetricsSchema.nullable(),
  at: z.iso.datetime(),
});
export type StatusEvent = z.infer<typeof statusEventSchema>;

/** Events that travel between processes on a run's Redis channel. */
export const liveEventSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("points"), points: z.array(lossPointSchema) }),
  z.strictObject({ type: z.literal("epoch"), summary: epochSummarySchema }),
  statusEventSchema,
]);
export type LiveEvent = z.infer<typeof liveEventSchema>;

/**
 * Messages a client receives on GET /v1/runs/:id/stream, in this order: one `hello`, then `points`
 * (stored ones after `after`, then live ones; seq strictly increasing, no gap, no duplicate), `epoch`
 * and `status` as they happen, and a final `end` once the run is terminal, after which the server closes.
 */
export const streamMessageSchema = z
  .discriminatedUnion("type", [
    z.strictObject({ type: z.literal("hello"), runId: z.uuid(), status: runStatusSchema, after: z.int().min(-1) }),
    z.strictObject({ type: z.literal("points"), points: z.array(lossPointSchema) }),
    z.strictObject({ type: z.literal("epoch"), summary: epochSummarySchema }),
    statusEventSchema,
    z.strictObject({
      type: z.literal("end"),
      status: runStatusSchema,
      reason: z.string().nullable(),
      finalMetrics: finalMetricsSchema.nullable(),
      lastSeq: z.int().min(-1),
    }),
  ])
  .meta({ id: "StreamMessage" });
export type StreamMessage = z.infer<typeof streamMessageSchema>;

/** The job payload: only the run's id; everything else is read from Postgres. */
export const runJobSchema = z.strictObject({ runId: z.uuid() });
export type RunJob = z.infer<typeof runJobSchema>;
