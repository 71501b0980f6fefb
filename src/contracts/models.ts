import { z } from "zod";

/**
 * The convolutional networks of the book's chapters on modern CNNs, by the names used in specs and
 * URLs. Batch norm is the book's layer written from scratch (`scratch`) or TensorFlow.js's
 * (`builtin`); plain LeNet has none.
 */
export const MODEL_NAMES = ["lenet", "resnet18", "densenet"] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** Each model's choices of batch norm, its default first. */
export const BATCH_NORM_CHOICES = {
  lenet: ["scratch", "builtin", "none"],
  resnet18: ["builtin", "scratch"],
  densenet: ["builtin", "scratch"],
} as const satisfies Record<ModelName, readonly string[]>;

const batchNorm = <Name extends ModelName>(name: Name) =>
  z
    .enum(BATCH_NORM_CHOICES[name])
    .default(BATCH_NORM_CHOICES[name][0] as never)
    .describe("builtin: tf.layers.batchNormalization; scratch: the book's formulas; none (LeNet only): the original LeNet");

export const modelSpecSchema = z
  .discriminatedUnion("name", [
    z.strictObject({ name: z.literal("lenet"), batchNorm: batchNorm("lenet") }),
    z.strictObject({ name: z.literal("resnet18"), batchNorm: batchNorm("resnet18") }),
    z.strictObject({ name: z.literal("densenet"), batchNorm: batchNorm("densenet") }),
  ])
  .meta({ id: "ModelSpec" });
export type ModelSpec = z.infer<typeof modelSpecSchema>;

/** What GET /v1/models says of each model. */
export const MODEL_DESCRIPTIONS: Record<ModelName, { title: string; defaultSize: number }> = {
  lenet: { title: "LeNet-5 (sigmoid, max pooling), optionally with batch normalisation", defaultSize: 28 },
  resnet18: { title: "ResNet-18: residual blocks of two 3x3 convolutions with batch norm", defaultSize: 96 },
  densenet: { title: "DenseNet: four dense blocks of four BN-ReLU-conv units, growth rate 32", defaultSize: 96 },
};
