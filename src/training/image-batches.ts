import * as tf from "@tensorflow/tfjs";
import type { ImageSplit } from "./fashion-mnist.js";

/**
 * The images at `indices` as a float batch [n, size, size, 1] with pixels scaled to [0, 1], and
 * their labels [n] (int32). When `size` differs from the stored images they are resized bilinearly
 * with half-pixel centres, as the book's transforms.Resize does on PIL images.
 */
export function imageBatch(split: ImageSplit, indices: ArrayLike<number>, size: number): { images: tf.Tensor4D; labels: tf.Tensor1D } {
  const pixelsPerImage = split.height * split.width;
  const values = new Float32Array(indices.length * pixelsPerImage);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    const source = split.pixels.subarray(index * pixelsPerImage, (index + 1) * pixelsPerImage);
    const offset = i * pixelsPerImage;
    for (let p = 0; p < pixelsPerImage; p++) values[offset + p] = source[p]! / 255;
    labels[i] = split.labels[index]!;
  }
  return tf.tidy(() => {
    const images = tf.tensor4d(values, [indices.length, split.height, split.width, 1]);
    const sized = size === split.height && size === split.width ? images : tf.image.resizeBilinear(images, [size, size], false, true);
    return { images: sized, labels: tf.tensor1d(labels, "int32") };
  });
}

