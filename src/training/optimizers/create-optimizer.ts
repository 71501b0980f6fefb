import type { OptimizerSpec } from "../../contracts/job-spec.js";
import { createBuiltinOptimizer } from "./builtin-optimizers.js";
import type { Optimizer } from "./optimizer.js";
import { createScratchOptimizer } from "./scratch-optimizers.js";

export function createOptimizer(spec: OptimizerSpec): Optimizer {
  return spec.implementation === "builtin" ? createBuiltinOptimizer(spec) : createScratchOptimizer(spec);
}

/** The learning rate a schedule scales: adadelta has none of its own (the book's update uses 1). */
export const baseLearningRate = (spec: OptimizerSpec): number => (spec.name === "adadelta" ? 1 : spec.lr);
