import type * as tf from "@tensorflow/tfjs";
import { minimumSize } from "../../contracts/model-summary.js";
import type { ModelSpec } from "../../contracts/models.js";
import { buildDenseNet } from "./densenet.js";
import { buildLeNet } from "./lenet.js";
import { buildResNet18 } from "./resnet.js";
import { createSeededLayers } from "./seeded-layers.js";

export interface CreateModelOptions {
  /** Side of the square grey input image, in pixels; at least minimumSize(spec.name). */
  size: number;
  /** Seeds every initializer: two models with the same spec, size and seed have identical weights. */
  seed: number;
}

/**
 * The network `spec` names, NHWC inside: [n, size, size, 1] images -> [n, 10] logits (no softmax).
 * Layer names and shapes are those summarizeModel (src/contracts/model-summary.ts) prints.
 */
export function createModel(spec: ModelSpec, options: CreateModelOptions): tf.LayersModel {
  const { size, seed } = options;
  const minimum = minimumSize(spec.name);
  if (!Number.isInteger(size) || size < minimum) throw new RangeError(`${spec.name} needs images of at least ${minimum}x${minimum}, got ${size}`);
  const layers = createSeededLayers(spec.batchNorm, seed);
  switch (spec.name) {
    case "lenet":
      return buildLeNet(layers, size);
    case "resnet18":
      return buildResNet18(layers, size);
    case "densenet":
      return buildDenseNet(layers, size);
  }
}
