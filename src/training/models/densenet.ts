import * as tf from "@tensorflow/tfjs";
import { stem } from "./resnet.js";
import { globalAveragePool, relu, type SeededLayers } from "./seeded-layers.js";

/** Units per dense block and channels each adds, as in the book. */
const CONVS_PER_BLOCK = 4;
const GROWTH_RATE = 32;

/**
 * The book's DenseBlock: `convs` conv blocks (BN, ReLU, 3x3 conv of `growth` channels, padding 1),
 * each fed the concatenation of the block's input and every earlier unit's output.
 * [n, h, w, c] -> [n, h, w, c + convs * growth]. Output layer `name`.
 */
export function denseBlock(layers: SeededLayers, x: tf.SymbolicTensor, options: { convs: number; growth: number; name: string }): tf.SymbolicTensor {
  const { convs, growth, name } = options;
  for (let unit = 1; unit <= convs; unit++) {
    const prefix = `${name}.unit${unit}`;
    const activated = relu(layers.batchNorm(x, `${prefix}.bn`), `${prefix}.relu`);
    const y = layers.conv(activated, { filters: growth, kernelSize: 3, padding: "same", name: `${prefix}.conv` });
    const concatName = unit === convs ? name : `${prefix}.concat`;
    x = tf.layers.concatenate({ axis: -1, name: concatName }).apply([x, y]) as tf.SymbolicTensor;
  }
  return x;
}

/**
 * The book's transition_block: BN, ReLU, 1x1 conv to `channels`, 2x2/2 average pool.
 * [n, h, w, c] -> [n, floor(h/2), floor(w/2), channels]. Output layer `name`.
 */
export function transitionBlock(layers: SeededLayers, x: tf.SymbolicTensor, options: { channels: number; name: string }): tf.SymbolicTensor {
  const { channels, name } = options;
  const activated = relu(layers.batchNorm(x, `${name}.bn`), `${name}.relu`);
  const reduced = layers.conv(activated, { filters: channels, kernelSize: 1, name: `${name}.conv` });
  return tf.layers.averagePooling2d({ poolSize: 2, strides: 2, name }).apply(reduced) as tf.SymbolicTensor;
}

/**
 * DenseNet as in the book: the ResNet stem, four dense blocks of four units (growth rate 32) with
 * a transition halving the channels between blocks, BN, ReLU, global average pooling, dense 10.
 * Layers "stage1", "dense_block1".."dense_block4", "transition1".."transition3", "dense".
 * [n, size, size, 1] -> [n, 10]; channels 64 -> 192 -> 96 -> 224 -> 112 -> 240 -> 120 -> 248.
 */
export function buildDenseNet(layers: SeededLayers, size: number): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 1], name: "image" });
  let x = stem(layers, input);
  for (let block = 1; block <= 4; block++) {
    x = denseBlock(layers, x, { convs: CONVS_PER_BLOCK, growth: GROWTH_RATE, name: `dense_block${block}` });
    if (block < 4) x = transitionBlock(layers, x, { channels: Math.floor(x.shape[3]! / 2), name: `transition${block}` });
  }
  x = relu(layers.batchNorm(x, "batch_norm"), "relu");
  const logits = layers.dense(globalAveragePool(x), { units: 10, name: "dense" });
  return tf.model({ inputs: input, outputs: logits, name: "densenet" });
}
