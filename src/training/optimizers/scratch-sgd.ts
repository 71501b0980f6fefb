import * as tf from "@tensorflow/tfjs";
import type { Optimizer } from "./optimizer.js";

/** The book's sgd, written from scratch: param -= lr * grad. Keeps no state. */
export function createScratchSgd(lr: number): Optimizer {
  return {
    name: "sgd",
    step(params, grads) {
      tf.tidy(() => {
        for (const param of params) {
          const grad = grads[param.name];
          if (!grad) throw new Error(`no gradient for ${param.name}`);
          param.assign(param.sub(grad.mul(lr)));
        }
      });
    },
    dispose() {},
  };
}
