import * as tf from "@tensorflow/tfjs";
import type { OptimizerSpec } from "../../contracts/job-spec.js";
import type { Optimizer, OptimizerState } from "./optimizer.js";

/**
 * TensorFlow.js's own optimizers, configured to run the chapter's algorithms with its
 * hyperparameters. One exception, kept on purpose because users ask for "the built-in": tf's
 * adadelta (tfjs-core 4.22) scales the gradient by the accumulator from before this step's
 * gradient is added, so its first update is the raw gradient; the book adds it first.
 */
export function createBuiltinOptimizer(spec: OptimizerSpec): Optimizer {
  const optimizer = builtin(spec);
  let currentRate = Number.NaN;
  return {
    name: spec.name,
    step(params, grads, lr) {
      if (lr !== currentRate) setLearningRate(spec, optimizer, lr);
      currentRate = lr;
      const owned: tf.NamedTensorMap = {};
      for (const param of params) {
        const grad = grads[param.name];
        if (!grad) throw new Error(`no gradient for ${param.name}`);
        owned[param.name] = grad;
      }
      optimizer.applyGradients(owned);
    },
    /** tf's own weights: the iteration count first, then its accumulators in creation order. */
    async saveState() {
      const weights = await optimizer.getWeights();
      const tensors: OptimizerState["tensors"] = [];
      for (const { tensor } of weights) tensors.push({ shape: tensor.shape, values: (await tensor.data()) as Float32Array });
      weights[0]?.tensor.dispose(); // a fresh scalar; the accumulators are the optimizer's own variables
      return { step: tensors[0]?.values[0] ?? 0, tensors };
    },
    async loadState(params, state) {
      const weights = state.tensors.map(({ shape, values }, i) => ({
        name: i === 0 ? "iter" : `${params[(i - 1) % Math.max(params.length, 1)]?.name ?? "param"}/state${i}`,
        tensor: tf.tensor(values, shape),
      }));
      await optimizer.setWeights(weights);
      tf.dispose(weights.map((weight) => weight.tensor));
    },
    dispose() {
      optimizer.dispose();
      // MomentumOptimizer.dispose() forgets the learning-rate scalar it inherits from SGDOptimizer.
      if (spec.name === "momentum") (optimizer as unknown as { c: tf.Scalar }).c.dispose();
    },
  };
}

/** SGD and momentum keep -lr as a scalar tensor; the others read `learningRate` on every update. */
function setLearningRate(spec: OptimizerSpec, optimizer: tf.Optimizer, lr: number): void {
  if (spec.name === "sgd" || spec.name === "momentum") (optimizer as tf.SGDOptimizer).setLearningRate(lr);
  else (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

function builtin(spec: OptimizerSpec): tf.Optimizer {
  switch (spec.name) {
    case "sgd":
      return tf.train.sgd(spec.lr);
    case "momentum":
      return tf.train.momentum(spec.lr, spec.momentum);
    case "adagrad":
      // The book's accumulator starts at 0 (tf's default is 0.1); tf adds its own epsilon (1e-7 in float32, the book 1e-6).
      return tf.train.adagrad(spec.lr, 0);
    case "rmsprop":
      return tf.train.rmsprop(spec.lr, spec.gamma, 0, 1e-6);
    case "adadelta":
      // The book's adadelta has no learning rate: 1.
      return tf.train.adadelta(1, spec.rho, 1e-5);
    case "adam":
      return tf.train.adam(spec.lr, spec.beta1, spec.beta2, 1e-6);
  }
}
