import { z } from "zod";
import { DATASETS } from "./datasets.js";
import { minimumSize } from "./model-summary.js";
import { modelSpecSchema } from "./models.js";
import { findObjective, OBJECTIVE_NAMES } from "./objectives.js";

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

/**
 * The chapter's traces: gradient descent, Newton's method or noisy SGD run on a small function,
 * every iterate recorded. The start point has as many coordinates as the objective has inputs.
 */
export const optimizationSpecSchema = z
  .strictObject({
    kind: z.literal("optimization"),
    objective: z.enum(OBJECTIVE_NAMES),
    c: z.number().min(-1_000).max(1_000).optional().describe("overrides the objective's constant c"),
    method: z.enum(["gd", "newton", "sgd"]).describe("gd: x -= eta f'(x); newton: x -= eta f'(x) / f''(x); sgd: gd with noisy gradients"),
    eta: z.number().positive().max(100),
    steps: z.int().min(1).max(100_000),
    start: z.array(z.number().min(-1e6).max(1e6)).min(1).max(2).optional().describe("default: the book's start point"),
    schedule: scheduleSchema.default({ name: "constant" }),
    noise: z
      .strictObject({ mean: z.number().min(-100).max(100).default(0), std: z.number().min(0).max(100).default(1) })
      .optional()
      .describe("sgd only: Gaussian noise added to each gradient component; default mean 0, std 1"),
    seed: seedSchema,
  })
  .superRefine((spec, context) => {
    const objective = findObjective(spec.objective)!;
    if (spec.start && spec.start.length !== objective.dim) {
      context.addIssue({ code: "custom", path: ["start"], message: `${spec.objective} takes ${objective.dim} coordinate(s), got ${spec.start.length}` });
    }
    if (spec.c !== undefined && objective.defaultC === null) {
      context.addIssue({ code: "custom", path: ["c"], message: `${spec.objective} has no constant c` });
    }
    if (spec.noise && spec.method !== "sgd") {
      context.addIssue({ code: "custom", path: ["noise"], message: "noise applies to method sgd only" });
    }
  })
  .meta({ id: "OptimizationSpec" });

const fashionMnist = DATASETS["fashion-mnist"];

/**
 * Largest batchSize x size^2 a classification spec may ask for: bounds the activations a step
 * holds (ResNet-18 at 96x96 with batch 227, at 224x224 with batch 41, LeNet at 28x28 with batch 2,048).
 */
export const MAX_BATCH_PIXELS = 2 ** 21;

/** The book's convnets trained on Fashion-MNIST (train_ch5): cross-entropy, accuracy per epoch. */
export const classificationSpecSchema = z
  .strictObject({
    kind: z.literal("classification"),
    dataset: z.literal("fashion-mnist"),
    model: modelSpecSchema,
    optimizer: optimizerSchema,
    schedule: scheduleSchema.default({ name: "constant" }),
    batchSize: z.int().min(1).max(2048),
    epochs: z.int().min(1).max(100),
    seed: seedSchema,
    lossEvery: lossEverySchema,
    resize: z
      .int()
      .min(28)
      .max(224)
      .optional()
      .describe("side of the square the 28x28 images are resized to (bilinear, like the book's Resize)"),
    limit: z
      .strictObject({
        train: z.int().min(1).max(fashionMnist.trainExamples).optional(),
        test: z.int().min(1).max(fashionMnist.testExamples).optional(),
      })
      .optional()
      .describe("use only the first N images of each split, for quick runs"),
    accelerator: z
      .enum(["cpu", "gpu"])
      .default("cpu")
      .describe("gpu: only GPU workers take the run (they serve both queues; CPU workers only the cpu queue)"),
  })
  .superRefine((spec, context) => {
    const size = spec.resize ?? fashionMnist.height;
    const minimum = minimumSize(spec.model.name);
    if (size < minimum) {
      context.addIssue({ code: "custom", path: ["resize"], message: `${spec.model.name} needs images of at least ${minimum}x${minimum}, got ${size}` });
    }
    if (spec.batchSize * size * size > MAX_BATCH_PIXELS) {
      const most = Math.floor(MAX_BATCH_PIXELS / (size * size));
      context.addIssue({ code: "custom", path: ["batchSize"], message: `at ${size}x${size} the batch size can be at most ${most}` });
    }
  })
  .meta({ id: "ClassificationSpec" });

export const jobSpecSchema = z
  .discriminatedUnion("kind", [regressionSpecSchema, optimizationSpecSchema, classificationSpecSchema])
  .meta({ id: "JobSpec" });

export type RegressionSpec = z.infer<typeof regressionSpecSchema>;
export type OptimizationSpec = z.infer<typeof optimizationSpecSchema>;
export type ClassificationSpec = z.infer<typeof classificationSpecSchema>;
export type JobSpec = z.infer<typeof jobSpecSchema>;

/** Training and test images a classification run uses (its limit applied). */
export function classificationExamples(spec: ClassificationSpec): { train: number; test: number } {
  return {
    train: spec.limit?.train ?? fashionMnist.trainExamples,
    test: spec.limit?.test ?? fashionMnist.testExamples,
  };
}

/** Which queue a run's job goes to: GPU workers serve both lanes, CPU workers only "cpu". */
export type QueueLane = "cpu" | "gpu";
export function queueLane(spec: unknown): QueueLane {
  // Reads stored specs too: only classification specs have an accelerator.
  return (spec as { accelerator?: unknown } | null)?.accelerator === "gpu" ? "gpu" : "cpu";
}

/** What a run's progress counts towards: training samples, or steps of a trace. */
export function samplesTotal(spec: JobSpec): number {
  switch (spec.kind) {
    case "regression":
      return spec.epochs * DATASETS[spec.dataset].trainExamples;
    case "optimization":
      return spec.steps;
    case "classification":
      return spec.epochs * classificationExamples(spec).train;
  }
}

/** The columns runs are filtered by. A trace's "model" is its objective; it has no data set. */
export function describeSpec(spec: JobSpec): { kind: string; model: string; dataset: string; optimizer: string } {
  switch (spec.kind) {
    case "regression":
      return { kind: spec.kind, model: spec.model, dataset: spec.dataset, optimizer: spec.optimizer.name };
    case "optimization":
      return { kind: spec.kind, model: spec.objective, dataset: "none", optimizer: spec.method };
    case "classification":
      return { kind: spec.kind, model: spec.model.name, dataset: spec.dataset, optimizer: spec.optimizer.name };
  }
}
