import * as tf from "@tensorflow/tfjs";
import type { SeededLayers } from "./seeded-layers.js";

/**
 * LeNet: conv 6@5x5 (valid), [BN], sigmoid, 2x2/2 max pool, conv 16@5x5, [BN], sigmoid, max pool,
 * flatten, dense 120, [BN], sigmoid, dense 84, [BN], sigmoid, dense 10 (logits, no softmax).
 * Batch norm sits where the book's BNLeNet puts it, when `layers` makes any. Layer names follow
 * the summary's: "conv1", "batch_norm1", "sigmoid1", "max_pool1"... "dense3".
 * [n, size, size, 1] -> [n, 10]; at 28 the flattened map is 16 x 4 x 4 = 256.
 */
export function buildLeNet(layers: SeededLayers, size: number): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 1], name: "image" });
  const sigmoid = (x: tf.SymbolicTensor, index: number) =>
    tf.layers.activation({ activation: "sigmoid", name: `sigmoid${index}` }).apply(layers.batchNorm(x, `batch_norm${index}`)) as tf.SymbolicTensor;
  let x: tf.SymbolicTensor = input;
  for (const [index, filters] of [6, 16].entries()) {
    x = sigmoid(layers.conv(x, { filters, kernelSize: 5, name: `conv${index + 1}` }), index + 1);
    x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `max_pool${index + 1}` }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.flatten({ name: "flatten" }).apply(x) as tf.SymbolicTensor;
  for (const [index, units] of [120, 84].entries()) x = sigmoid(layers.dense(x, { units, name: `dense${index + 1}` }), index + 3);
  const logits = layers.dense(x, { units: 10, name: "dense3" });
  return tf.model({ inputs: input, outputs: logits, name: "lenet" });
}
