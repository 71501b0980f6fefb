import * as tf from "@tensorflow/tfjs";
import type { Random } from "./random.js";

/** The book's linreg: y_hat = X w + b, with w: [featureDim, 1] and b: [1]. */
export interface LinearModel {
  readonly weights: tf.Variable;
  readonly bias: tf.Variable;
  readonly params: tf.Variable[];
  /** X: [batch, featureDim] -> [batch, 1]. */
  predict(features: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/** Weights drawn from N(0, 0.01^2) with the run's random source, bias 0 (as train_ch7 initialises them). */
export function createLinearModel(featureDim: number, random: Random): LinearModel {
  const initial = Float32Array.from({ length: featureDim }, () => random.normal(0, 0.01));
  const weights = tf.tidy(() => tf.variable(tf.tensor2d(initial, [featureDim, 1]), true));
  const bias = tf.tidy(() => tf.variable(tf.zeros([1]), true));
  return {
    weights,
    bias,
    params: [weights, bias],
    predict: (features) => tf.tidy(() => features.matMul(weights).add(bias)),
    dispose() {
      weights.dispose();
      bias.dispose();
    },
  };
}

/** The book's squared_loss, elementwise: (y_hat - y)^2 / 2. Both [batch, 1]. */
export function squaredLoss(predicted: tf.Tensor2D, labels: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => predicted.sub(labels).square().div(2));
}
