import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { FASHION_MNIST_FILES } from "../../src/training/fashion-mnist.js";

/** IDX image file bytes: magic 0x803, count, 28, 28, then the pixels. */
export function idxImages(pixels: Uint8Array, count: number, side = 28): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x803, 0);
  header.writeUInt32BE(count, 4);
  header.writeUInt32BE(side, 8);
  header.writeUInt32BE(side, 12);
  return Buffer.concat([header, Buffer.from(pixels)]);
}

/** IDX label file bytes: magic 0x801, count, then the labels. */
export function idxLabels(labels: Uint8Array): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(0x801, 0);
  header.writeUInt32BE(labels.length, 4);
  return Buffer.concat([header, Buffer.from(labels)]);
}

/**
 * A learnable stand-in for Fashion-MNIST: image i has label i % 10 and a bright horizontal bar at
 * rows 2 + 2 * label, over faint deterministic noise. Small enough for tests, easy enough that a
 * LeNet learns it within a few hundred samples.
 */
export function syntheticImages(count: number, offset = 0): { pixels: Uint8Array; labels: Uint8Array } {
  const pixels = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const label = (i + offset) % 10;
    labels[i] = label;
    for (let p = 0; p < 784; p++) pixels[i * 784 + p] = ((i + offset) * 7919 + p * 104_729) % 61;
    for (let row = 2 + 2 * label; row < 4 + 2 * label; row++) {
      for (let column = 4; column < 24; column++) pixels[i * 784 + row * 28 + column] = 230;
    }
  }
  return { pixels, labels };
}

/** Writes the four gzipped IDX files into a fresh temporary directory; `remove()` deletes it. */
export function writeFashionMnistFixture(train: number, test: number): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "lossline-fmnist-"));
  const trainSet = syntheticImages(train);
  const testSet = syntheticImages(test, 3);
  writeFileSync(join(dir, FASHION_MNIST_FILES.trainImages), gzipSync(idxImages(trainSet.pixels, train)));
  writeFileSync(join(dir, FASHION_MNIST_FILES.trainLabels), gzipSync(idxLabels(trainSet.labels)));
  writeFileSync(join(dir, FASHION_MNIST_FILES.testImages), gzipSync(idxImages(testSet.pixels, test)));
  writeFileSync(join(dir, FASHION_MNIST_FILES.testLabels), gzipSync(idxLabels(testSet.labels)));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A LeNet-with-scratch-batch-norm classification spec (unparsed, as a client posts it) with some fields changed. */
export const lenetSpec = (overrides: Record<string, unknown> = {}) => ({
  kind: "classification",
  dataset: "fashion-mnist",
  model: { name: "lenet", batchNorm: "scratch" },
  optimizer: { name: "adam", lr: 0.01 },
  batchSize: 32,
  epochs: 2,
  seed: 1,
  ...overrides,
});
