import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

/** Where Debian's dataset-fashion-mnist package puts the four standard IDX files. */
export const DEFAULT_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

export const FASHION_MNIST_FILES = {
  trainImages: "train-images-idx3-ubyte.gz",
  trainLabels: "train-labels-idx1-ubyte.gz",
  testImages: "t10k-images-idx3-ubyte.gz",
  testLabels: "t10k-labels-idx1-ubyte.gz",
} as const;

/** One split of an image data set: grey pixels 0..255 kept as bytes (a quarter of float32's memory). */
export interface ImageSplit {
  /** [count, height, width], row-major. */
  pixels: Uint8Array;
  /** [count], class indices. */
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
}

export interface ImageData {
  train: ImageSplit;
  test: ImageSplit;
  classes: number;
}

const IMAGES_MAGIC = 0x00000803; // unsigned bytes, 3 dimensions
const LABELS_MAGIC = 0x00000801; // unsigned bytes, 1 dimension

/**
 * Reads Fashion-MNIST from its four gzipped IDX files in `dir`. Throws an error naming the
 * directory and the file when one is missing or malformed (bad magic, sizes, or label values).
 */
export function loadFashionMnist(dir: string = DEFAULT_FASHION_MNIST_DIR): ImageData {
  const read = (name: string): Buffer => {
    const path = join(dir, name);
    if (!existsSync(path)) {
      throw new Error(`Fashion-MNIST: ${name} is missing from ${dir} (install dataset-fashion-mnist, or set FASHION_MNIST_DIR)`);
    }
    try {
      return gunzipSync(readFileSync(path));
    } catch (error) {
      throw new Error(`Fashion-MNIST: ${path} is not a gzip file: ${(error as Error).message}`);
    }
  };
  const split = (imagesFile: string, labelsFile: string): ImageSplit => {
    const images = parseImages(read(imagesFile), join(dir, imagesFile));
    const labels = parseLabels(read(labelsFile), join(dir, labelsFile));
    if (labels.length !== images.count) {
      throw new Error(`Fashion-MNIST in ${dir}: ${imagesFile} holds ${images.count} images but ${labelsFile} ${labels.length} labels`);
    }
    const bad = labels.findIndex((label) => label > 9);
    if (bad >= 0) throw new Error(`Fashion-MNIST: ${join(dir, labelsFile)} has label ${labels[bad]} at index ${bad}; classes are 0..9`);
    return { ...images, labels };
  };
  return {
    train: split(FASHION_MNIST_FILES.trainImages, FASHION_MNIST_FILES.trainLabels),
    test: split(FASHION_MNIST_FILES.testImages, FASHION_MNIST_FILES.testLabels),
    classes: 10,
  };
}

function parseImages(bytes: Buffer, path: string): Omit<ImageSplit, "labels"> {
  if (bytes.length < 16 || bytes.readUInt32BE(0) !== IMAGES_MAGIC) throw new Error(`Fashion-MNIST: ${path} is not an IDX image file (bad header)`);
  const count = bytes.readUInt32BE(4);
  const height = bytes.readUInt32BE(8);
  const width = bytes.readUInt32BE(12);
  if (height !== 28 || width !== 28) throw new Error(`Fashion-MNIST: ${path} holds ${height}x${width} images, expected 28x28`);
  const expected = 16 + count * height * width;
  if (bytes.length !== expected) throw new Error(`Fashion-MNIST: ${path} is ${bytes.length} bytes, expected ${expected} for ${count} images`);
  return { pixels: new Uint8Array(bytes.buffer, bytes.byteOffset + 16, count * height * width), count, height, width };
}

function parseLabels(bytes: Buffer, path: string): Uint8Array {
  if (bytes.length < 8 || bytes.readUInt32BE(0) !== LABELS_MAGIC) throw new Error(`Fashion-MNIST: ${path} is not an IDX label file (bad header)`);
  const count = bytes.readUInt32BE(4);
  if (bytes.length !== 8 + count) throw new Error(`Fashion-MNIST: ${path} is ${bytes.length} bytes, expected ${8 + count} for ${count} labels`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset + 8, count);
}

/** The first `count` examples of a split (a view, no copy). */
export function firstExamples(split: ImageSplit, count: number): ImageSplit {
  const kept = Math.min(count, split.count);
  return {
    ...split,
    pixels: split.pixels.subarray(0, kept * split.height * split.width),
    labels: split.labels.subarray(0, kept),
    count: kept,
  };
}
