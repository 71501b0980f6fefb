import { z } from "zod";

/**
 * The convolutional networks of the book's chapters on modern CNNs, by the names used in specs and
 * URLs. Batch norm is the book's layer written from scratch (`scratch`) or TensorFlow.js's
 * (`builtin`); plain LeNet has none.
 */
export const MODEL_NAMES = ["lenet", "resnet18", "densenet"] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

const batchNorm = (fallback: "builtin" | "scratch") =>
  z.enum(["builtin", "scratch"]).default(fallback).describe("builtin: tf.layers.batchNormalization; scratch: the book's formulas");

export const modelSpecSchema = z
  .discriminatedUnion("name", [
    z.strictObject({
      name: z.literal("lenet"),
      batchNorm: z.enum(["none", "builtin", "scratch"]).default("scratch").describe("none: the original LeNet"),
    }),
    z.strictObject({ name: z.literal("resnet18"), batchNorm: batchNorm("builtin") }),
    z.strictObject({ name: z.literal("densenet"), batchNorm: batchNorm("builtin") }),
  ])
  .meta({ id: "ModelSpec" });
export type ModelSpec = z.infer<typeof modelSpecSchema>;

/** What GET /v1/models says of each model. */
export const MODEL_DESCRIPTIONS: Record<ModelName, { title: string; defaultSize: number }> = {
  lenet: { title: "LeNet-5 (sigmoid, max pooling), optionally with batch normalisation", defaultSize: 28 },
  resnet18: { title: "ResNet-18: residual blocks of two 3x3 convolutions with batch norm", defaultSize: 96 },
  densenet: { title: "DenseNet: four dense blocks of four BN-ReLU-conv units, growth rate 32", defaultSize: 96 },
};
