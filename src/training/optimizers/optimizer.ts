import type * as tf from "@tensorflow/tfjs";

/** An optimizer updates variables in place from gradients keyed by variable name. */
export interface Optimizer {
  readonly name: string;
  step(params: tf.Variable[], grads: tf.NamedTensorMap): void;
  dispose(): void;
}
