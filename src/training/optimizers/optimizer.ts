import type * as tf from "@tensorflow/tfjs";

/** An optimizer's state as plain arrays: enough to resume it in another process. */
export interface OptimizerState {
  /** Updates made so far. */
  step: number;
  /** Its state tensors in a fixed order (per parameter, in the order of `params`). */
  tensors: { shape: number[]; values: Float32Array }[];
}

/** An optimizer updates variables in place from gradients keyed by variable name. */
export interface Optimizer {
  readonly name: string;
  /** One update; `lr` is this step's learning rate (the schedule already applied). */
  step(params: tf.Variable[], grads: tf.NamedTensorMap, lr: number): void;
  /** Copies its state out; `params` in the order step() gets them. */
  saveState(params: tf.Variable[]): Promise<OptimizerState>;
  /** Replaces its state with a saved one, for `params` in the same order as when it was saved. */
  loadState(params: tf.Variable[], state: OptimizerState): Promise<void>;
  dispose(): void;
}
