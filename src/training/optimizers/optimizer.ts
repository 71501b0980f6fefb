import type * as tf from "@tensorflow/tfjs";

/** An optimizer updates variables in place from gradients keyed by variable name. */
export interface Optimizer {
  readonly name: string;
  /** One update; `lr` is this step's learning rate (the schedule already applied). */
  step(params: tf.Variable[], grads: tf.NamedTensorMap, lr: number): void;
  dispose(): void;
}
