import * as tf from "@tensorflow/tfjs";
import { globalAveragePool, named, paddedMaxPool, relu, type SeededLayers, zeroPad } from "./seeded-layers.js";

export interface ResidualOptions {
  /** Output channels of both 3x3 convolutions (the book's num_channels). */
  channels: number;
  /** A 1x1 convolution (stride `strides`) on the shortcut, needed when channels or size change. */
  use1x1Conv?: boolean;
  /** Stride of the first 3x3 convolution and of the 1x1 shortcut; 2 halves the side (rounding up). */
  strides?: 1 | 2;
  /** The block's output layer; its inner layers are `${name}.conv1`, `${name}.bn1`... */
  name: string;
}

/**
 * The book's Residual block: [n, h, w, c] -> [n, ceil(h / strides), ceil(w / strides), channels].
 * Y = BN(conv3x3(ReLU(BN(conv3x3/strides(X))))), output ReLU(Y + X), the shortcut X passing
 * through a 1x1 convolution when `use1x1Conv`.
 */
export function residualBlock(layers: SeededLayers, x: tf.SymbolicTensor, options: ResidualOptions): tf.SymbolicTensor {
  const { channels, use1x1Conv = false, strides = 1, name } = options;
  // PyTorch's padding=1: "same" is exactly that at stride 1; at stride 2 pad 1 on each side and slide.
  const first =
    strides === 1
      ? layers.conv(x, { filters: channels, kernelSize: 3, padding: "same", name: `${name}.conv1` })
      : layers.conv(zeroPad(x, 1, `${name}.pad1`), { filters: channels, kernelSize: 3, strides, name: `${name}.conv1` });
  let y = relu(layers.batchNorm(first, `${name}.bn1`), `${name}.relu1`);
  y = layers.batchNorm(layers.conv(y, { filters: channels, kernelSize: 3, padding: "same", name: `${name}.conv2` }), `${name}.bn2`);
  const shortcut = use1x1Conv ? layers.conv(x, { filters: channels, kernelSize: 1, strides, name: `${name}.conv3` }) : x;
  const sum = tf.layers.add({ name: `${name}.add` }).apply([y, shortcut]) as tf.SymbolicTensor;
  return relu(sum, name);
}

/**
 * The book's b1, shared by ResNet and DenseNet: 7x7/2 conv 64 with padding 3, BN, ReLU, 3x3/2 max
 * pool with padding 1. [n, s, s, 1] -> [n, ceil(ceil(s/2)/2), same, 64]; 224 -> 56, 96 -> 24.
 * Output layer "stage1".
 */
export function stem(layers: SeededLayers, x: tf.SymbolicTensor): tf.SymbolicTensor {
  const conv = layers.conv(zeroPad(x, 3, "stage1.pad"), { filters: 64, kernelSize: 7, strides: 2, name: "stage1.conv" });
  const activated = relu(layers.batchNorm(conv, "stage1.bn"), "stage1.relu");
  return paddedMaxPool(activated, { poolSize: 3, strides: 2, pixels: 1, name: "stage1" });
}

/**
 * ResNet-18 as in the book: stem, four stages of two residual blocks (64, 128, 256, 512 channels;
 * stages 3-5 start with a stride-2 block with a 1x1 shortcut), global average pooling, dense 10.
 * Stage outputs are the layers "stage1".."stage5"; the logits layer is "dense".
 * [n, size, size, 1] -> [n, 10].
 */
export function buildResNet18(layers: SeededLayers, size: number): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 1], name: "image" });
  let x = stem(layers, input);
  for (const [index, channels] of [64, 128, 256, 512].entries()) {
    const stage = `stage${index + 2}`;
    const downsample = index > 0;
    x = residualBlock(layers, x, { channels, use1x1Conv: downsample, strides: downsample ? 2 : 1, name: `${stage}.block1` });
    x = named(residualBlock(layers, x, { channels, name: `${stage}.block2` }), stage);
  }
  const logits = layers.dense(globalAveragePool(x), { units: 10, name: "dense" });
  return tf.model({ inputs: input, outputs: logits, name: "resnet18" });
}
