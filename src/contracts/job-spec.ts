import { z } from "zod";
import { DATASETS } from "./datasets.js";

/** Plain minibatch SGD written from scratch: param -= lr * grad. */
export const sgdOptimizerSchema = z.strictObject({
  name: z.literal("sgd"),
  lr: z.number().positive().max(100).describe("learning rate, > 0"),
});

export const optimizerSchema = z.discriminatedUnion("name", [sgdOptimizerSchema]);
export type OptimizerSpec = z.infer<typeof optimizerSchema>;

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
