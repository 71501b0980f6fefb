import * as tf from "@tensorflow/tfjs";
import { createRandom } from "../random.js";
import { ScratchBatchNorm } from "./batch-norm.js";
import { withFusedTraining } from "./fused-training-batch-norm.js";

export type BatchNormKind = "none" | "builtin" | "scratch";

/**
 * Builds the layers of one model, applied straight to symbolic NHWC tensors, with every
 * initializer seeded from one stream drawn from the model's seed: the same seed gives the same
 * weights, layer for layer. Weights follow the book's init_cnn (Xavier uniform); biases follow
 * PyTorch's default, uniform in ±1/sqrt(fan_in), which init_cnn leaves alone.
 */
export interface SeededLayers {
  /** Convolution with bias. `padding`: "same" keeps the side at stride 1 (PyTorch's padding (k-1)/2); "valid" adds none. */
  conv(x: tf.SymbolicTensor, args: { filters: number; kernelSize: number; strides?: number; padding?: "same" | "valid"; name: string }): tf.SymbolicTensor;
  dense(x: tf.SymbolicTensor, args: { units: number; name: string }): tf.SymbolicTensor;
  /** Batch norm over the last axis (channels or features), as the model's spec asks; "none" returns `x`. */
  batchNorm(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor;
}

/** Batch norm as the book configures it: momentum 0.9 on the moving statistics, epsilon 1e-5. */
export const BATCH_NORM_MOMENTUM = 0.9;
export const BATCH_NORM_EPSILON = 1e-5;

export function createSeededLayers(batchNorm: BatchNormKind, seed: number): SeededLayers {
  const random = createRandom(seed);
  const nextSeed = () => Math.floor(random.uniform() * 2 ** 31);
  const biasInitializer = (fanIn: number) => {
    const bound = 1 / Math.sqrt(fanIn);
    return tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: nextSeed() });
  };
  return {
    conv(x, { filters, kernelSize, strides = 1, padding = "valid", name }) {
      const inChannels = x.shape[3]!;
      return tf.layers
        .conv2d({
          filters,
          kernelSize,
          strides,
          padding,
          name,
          kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
          biasInitializer: biasInitializer(inChannels * kernelSize * kernelSize),
        })
        .apply(x) as tf.SymbolicTensor;
    },
    dense(x, { units, name }) {
      return tf.layers
        .dense({
          units,
          name,
          kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
          biasInitializer: biasInitializer(x.shape[1]!),
        })
        .apply(x) as tf.SymbolicTensor;
    },
    batchNorm(x, name) {
      if (batchNorm === "none") return x;
      const args = { momentum: BATCH_NORM_MOMENTUM, epsilon: BATCH_NORM_EPSILON, name };
      const layer = batchNorm === "builtin" ? withFusedTraining(tf.layers.batchNormalization({ axis: -1, ...args })) : new ScratchBatchNorm(args);
      return layer.apply(x) as tf.SymbolicTensor;
    },
  };
}

export const relu = (x: tf.SymbolicTensor, name: string) => tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;

/**
 * Zero padding of `pixels` on every side, for PyTorch's symmetric padding where TensorFlow's
 * "same" would pad unevenly (stride 2 on an even side pads only bottom and right), so that the
 * windows sit where the book's do and odd sides give the book's sizes too.
 */
export const zeroPad = (x: tf.SymbolicTensor, pixels: number, name: string) =>
  tf.layers.zeroPadding2d({ padding: pixels, name }).apply(x) as tf.SymbolicTensor;

/**
 * PyTorch's MaxPool2d(poolSize, strides, padding=pixels) as one layer named `name`: tfjs's explicit pool
 * padding leaves padded pixels out of every window, as PyTorch's -inf padding does, in one pooling kernel
 * (and one gradient kernel) instead of a zero-padding copy before a "valid" pooling and a slice of its
 * gradient after. A maxPooling2d layer (no weights) whose call and output shape add the padding; its
 * config still says "valid", so the model is rebuilt from its spec, never from a saved topology.
 * [n, h, w, c] -> [n, floor((h + 2 pixels - poolSize) / strides) + 1, (same for w), c].
 */
export function paddedMaxPool(x: tf.SymbolicTensor, args: { poolSize: number; strides: number; pixels: number; name: string }): tf.SymbolicTensor {
  const { poolSize, strides, pixels, name } = args;
  const layer = tf.layers.maxPooling2d({ poolSize, strides, padding: "valid", name });
  const side = (length: number | null) => (length == null ? null : Math.floor((length + 2 * pixels - poolSize) / strides) + 1);
  layer.computeOutputShape = (inputShape) => {
    const [batch, height, width, channels] = inputShape as (number | null)[];
    return [batch!, side(height!)!, side(width!)!, channels!];
  };
  layer.call = (inputs) => {
    const input = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
    return tf.maxPool(input, poolSize, strides, pixels);
  };
  return layer.apply(x) as tf.SymbolicTensor;
}

/** An identity layer: gives a book stage's output a name the stage's own last layer cannot have. */
export const named = (x: tf.SymbolicTensor, name: string) => tf.layers.activation({ activation: "linear", name }).apply(x) as tf.SymbolicTensor;

/**
 * The book's AdaptiveAvgPool2d((1, 1)) then Flatten: [n, h, w, c] -> [n, 1, 1, c] -> [n, c]
 * (average over the whole map, whatever its size).
 */
export function globalAveragePool(x: tf.SymbolicTensor): tf.SymbolicTensor {
  const [height, width] = [x.shape[1]!, x.shape[2]!];
  const pooled = tf.layers.averagePooling2d({ poolSize: [height, width], strides: [height, width], name: "global_pool" }).apply(x);
  return tf.layers.flatten({ name: "flatten" }).apply(pooled) as tf.SymbolicTensor;
}
