import * as tf from "@tensorflow/tfjs";
import { batchNormTraining } from "../kernels/batch-norm-training.js";
import { movingAverage } from "../kernels/moving-average.js";

type LayerVariable = tf.LayerVariable;

export interface ScratchBatchNormArgs {
  /** Weight of the old value in moving = momentum * moving + (1 - momentum) * batch; the book's 0.9. */
  momentum?: number;
  /** Added to the variance under the square root; the book's 1e-5. */
  epsilon?: number;
  name?: string;
  trainable?: boolean;
}

/**
 * The book's batch normalization written out (d2l 8.5), as a Keras-style layer over the last axis
 * of NHWC [n, h, w, c] input (after a convolution) or [n, features] input (after a dense layer).
 *
 * Training (`apply(x, { training: true })`, as in fit and the training loop): per channel, the
 * batch's mean and biased variance over n (and h, w), X_hat = (X - mean) / sqrt(var + eps),
 * Y = gamma * X_hat + beta; then the moving statistics move toward the batch's.
 * Inference (training false or absent): the same with the moving statistics.
 *
 * gamma (ones) and beta (zeros) are trainable weights; moving_mean (zeros) and moving_var (ones)
 * are non-trainable weights, written in place during the training call, as tfjs's own
 * BatchNormalization does: the write is a side effect on variables, not an output of the layer,
 * so gradient tapes (tf.variableGrads, optimizer.minimize) never differentiate through it, and
 * its intermediates are freed by its own tidy.
 *
 * Where the backend has the fused batch-norm-in-training kernel (the cpu backend with the oneDNN addon,
 * batch-norm-training.ts), the training call runs the same formulas as that one kernel and its one
 * gradient kernel instead of the dozen elementwise ops composed below; both agree to float rounding.
 */
export class ScratchBatchNorm extends tf.layers.Layer {
  static className = "ScratchBatchNorm";
  readonly momentum: number;
  readonly epsilon: number;
  private gamma!: LayerVariable;
  private beta!: LayerVariable;
  private movingMean!: LayerVariable;
  private movingVar!: LayerVariable;

  constructor(args: ScratchBatchNormArgs = {}) {
    super(args);
    this.momentum = args.momentum ?? 0.9;
    this.epsilon = args.epsilon ?? 1e-5;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const features = shape.at(-1);
    if ((shape.length !== 2 && shape.length !== 4) || features == null) {
      throw new TypeError(`${this.name}: batch norm takes [n, features] or [n, h, w, channels] input, got ${JSON.stringify(shape)}`);
    }
    this.gamma = this.addWeight("gamma", [features], "float32", tf.initializers.ones(), undefined, true);
    this.beta = this.addWeight("beta", [features], "float32", tf.initializers.zeros(), undefined, true);
    this.movingMean = this.addWeight("moving_mean", [features], "float32", tf.initializers.zeros(), undefined, false);
    this.movingVar = this.addWeight("moving_var", [features], "float32", tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (kwargs["training"] !== true) return this.normalize(x, this.movingMean.read(), this.movingVar.read());
      const fused = batchNormTraining(x, this.gamma.read(), this.beta.read(), this.epsilon);
      if (fused) {
        this.updateMovingStatistics(fused.mean, fused.variance);
        return fused.y;
      }
      // Every axis but the last: the batch (2-D), or the batch, height and width (4-D).
      const axes = x.shape.slice(0, -1).map((_, axis) => axis);
      const mean = x.mean(axes);
      const variance = x.sub(mean).square().mean(axes);
      this.updateMovingStatistics(mean, variance);
      return this.normalize(x, mean, variance);
    });
  }

  /** gamma * (x - mean) / sqrt(variance + eps) + beta, with [features] statistics broadcast over x. */
  private normalize(x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor): tf.Tensor {
    const xHat = x.sub(mean).div(variance.add(this.epsilon).sqrt());
    return xHat.mul(this.gamma.read()).add(this.beta.read());
  }

  private updateMovingStatistics(mean: tf.Tensor, variance: tf.Tensor): void {
    tf.tidy(() => {
      // moving * momentum + batch * (1 - momentum); one kernel where the backend has it (webgpu).
      const move = (moving: LayerVariable, batch: tf.Tensor) => moving.write(movingAverage(moving.read(), batch, this.momentum, "book"));
      move(this.movingMean, mean);
      move(this.movingVar, variance);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon };
  }
}

// Saved models name their layers by class name; loading one needs the class registered. Registering
// the same class again only rewrites the same entry, so importing this module twice is harmless.
tf.serialization.registerClass(ScratchBatchNorm);
