import { z } from "zod";
import { DATASETS } from "./datasets.js";

const implementation = z
  .enum(["scratch", "builtin"])
  .default("scratch")
  .describe("scratch: the book's code, written with tensor ops; builtin: TensorFlow.js's tf.train optimizer");
const learningRate = (fallback: number) => z.number().positive().max(100).default(fallback).describe("learning rate, > 0");
const decay = (fallback: number) => z.number().gt(0).lt(1).default(fallback);

/**
 * The optimizers of the book's optimization chapter, with its default hyperparameters. Each exists
 * written from scratch as the chapter writes it, and as the TensorFlow.js built-in.
 */
export const optimizerSchema = z.discriminatedUnion("name", [
  z.strictObject({ name: z.literal("sgd"), lr: z.number().positive().max(100).describe("learning rate, > 0"), implementation }),
  z.strictObject({ name: z.literal("momentum"), lr: learningRate(0.02), momentum: z.number().min(0).lt(1).default(0.5), implementation }),
  z.strictObject({ name: z.literal("adagrad"), lr: learningRate(0.1), implementation }),
  z.strictObject({ name: z.literal("rmsprop"), lr: learningRate(0.01), gamma: decay(0.9), implementation }),
  z.strictObject({ name: z.literal("adadelta"), rho: decay(0.9), implementation }),
  z.strictObject({ name: z.literal("adam"), lr: learningRate(0.01), beta1: decay(0.9), beta2: decay(0.999), implementation }),
]);
export type OptimizerSpec = z.infer<typeof optimizerSchema>;

/**
 * Learning-rate schedules as the book defines them: a counter t starts at 1 and is incremented
 * before each use, and the rate used at that step is eta * factor(t).
 */
export const scheduleSchema = z.discriminatedUnion("name", [
  z.strictObject({ name: z.literal("constant") }),
  z.strictObject({ name: z.literal("exponential"), rate: z.number().positive().max(10).default(0.1).describe("factor exp(-rate * t)") }),
  z.strictObject({
    name: z.literal("polynomial"),
    rate: z.number().positive().max(10).default(0.1),
    power: z.number().positive().max(10).default(0.5).describe("factor (1 + rate * t)^(-power)"),
  }),
]);
export type ScheduleSpec = z.infer<typeof scheduleSchema>;

const seedSchema = z.int().min(0).max(2 ** 31 - 1).default(0).describe("seeds initialisation and shuffling");
const lossEverySchema = z
  .int()
  .min(1)
  .max(1_000_000)
  .default(100)
  .describe("a loss point is recorded each time the samples seen reach a multiple of this");

/** The optimization chapter's minibatch SGD on the airfoil self-noise data (train_ch7). */
export const regressionSpecSchema = z
  .strictObject({
    kind: z.literal("regression"),
    dataset: z.literal("airfoil"),
    model: z.literal("linear"),
    optimizer: optimizerSchema,
    schedule: scheduleSchema.default({ name: "constant" }),
    batchSize: z
      .int()
      .min(1)
      .max(DATASETS.airfoil.trainExamples, {
        error: `must be at most ${DATASETS.airfoil.trainExamples}, the number of training examples in airfoil`,
      }),
    epochs: z.int().min(1).max(1000),
    seed: seedSchema,
    lossEvery: lossEverySchema,
  })
  .meta({ id: "RegressionSpec" });

export const jobSpecSchema = z.discriminatedUnion("kind", [regressionSpecSchema]).meta({ id: "JobSpec" });

export type RegressionSpec = z.infer<typeof regressionSpecSchema>;
export type JobSpec = z.infer<typeof jobSpecSchema>;

/** Training samples a run visits in total: what progress bars count towards. */
export function samplesTotal(spec: JobSpec): number {
  return spec.epochs * DATASETS[spec.dataset].trainExamples;
}

/** The columns runs are filtered by. */
export function describeSpec(spec: JobSpec): { kind: string; model: string; dataset: string; optimizer: string } {
  return { kind: spec.kind, model: spec.model, dataset: spec.dataset, optimizer: spec.optimizer.name };
}
