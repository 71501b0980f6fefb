import type { OptimizerSpec } from "../../contracts/job-spec.js";
import type { Optimizer } from "./optimizer.js";
import { createScratchSgd } from "./scratch-sgd.js";

export function createOptimizer(spec: OptimizerSpec): Optimizer {
  switch (spec.name) {
    case "sgd":
      return createScratchSgd(spec.lr);
  }
}
