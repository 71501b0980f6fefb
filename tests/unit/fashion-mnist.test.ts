import assert from "node:assert/strict";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gzipSync } from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/training/backend.js";
import { DEFAULT_FASHION_MNIST_DIR, FASHION_MNIST_FILES, firstExamples, loadFashionMnist } from "../../src/training/fashion-mnist.js";
import { imageBatch } from "../../src/training/image-batches.js";
import { idxImages, idxLabels, syntheticImages, writeFashionMnistFixture } from "../helpers/fashion-mnist-fixture.js";

let fixture: ReturnType<typeof writeFashionMnistFixture>;
before(async () => {
  await initBackend("cpu", () => undefined);
  fixture = writeFashionMnistFixture(30, 20);
});
after(() => fixture.remove());

test("reads the four IDX files: counts, sizes, pixels and labels as written", () => {
  const data = loadFashionMnist(fixture.dir);
  assert.equal(data.train.count, 30);
  assert.equal(data.test.count, 20);
  assert.equal(data.train.height, 28);
  const expected = syntheticImages(30);
  assert.deepEqual(data.train.labels, expected.labels);
  assert.deepEqual(data.train.pixels, expected.pixels);
  assert.deepEqual(Array.from(data.test.labels.subarray(0, 3)), [3, 4, 5]);
});

test("a missing file is named with its directory and the way to fix it", () => {
  const broken = writeFashionMnistFixture(10, 10);
  rmSync(join(broken.dir, FASHION_MNIST_FILES.testLabels));
  assert.throws(() => loadFashionMnist(broken.dir), (error: Error) => {
    assert.match(error.message, new RegExp(`t10k-labels-idx1-ubyte.gz is missing from ${broken.dir}`));
    assert.match(error.message, /FASHION_MNIST_DIR/);
    return true;
  });
  broken.remove();
});

test("malformed files are refused with the file and the reason", () => {
  const cases: [string, Buffer | string, RegExp][] = [
    [FASHION_MNIST_FILES.trainImages, "not gzip", /is not a gzip file/],
    [FASHION_MNIST_FILES.trainImages, gzipSync(idxLabels(new Uint8Array(10))), /not an IDX image file/],
    [FASHION_MNIST_FILES.trainImages, gzipSync(idxImages(new Uint8Array(5 * 784), 10)), /expected 7856 for 10 images/],
    [FASHION_MNIST_FILES.trainImages, gzipSync(idxImages(new Uint8Array(10 * 16 * 16), 10, 16)), /16x16 images, expected 28x28/],
    [FASHION_MNIST_FILES.trainLabels, gzipSync(idxLabels(new Uint8Array(9))), /holds 10 images but train-labels-idx1-ubyte.gz 9 labels/],
    [FASHION_MNIST_FILES.trainLabels, gzipSync(idxLabels(new Uint8Array(10).fill(12))), /has label 12 at index 0/],
  ];
  for (const [file, contents, message] of cases) {
    const broken = writeFashionMnistFixture(10, 10);
    writeFileSync(join(broken.dir, file), contents);
    assert.throws(() => loadFashionMnist(broken.dir), message, `${file}: ${message}`);
    broken.remove();
  }
});

test("a batch scales pixels to [0, 1], keeps labels, and resizes bilinearly without leaking", () => {
  const data = loadFashionMnist(fixture.dir);
  const tensorsBefore = tf.memory().numTensors;
  const { images, labels } = imageBatch(data.train, [4, 0], 28);
  assert.deepEqual(images.shape, [2, 28, 28, 1]);
  const values = images.dataSync();
  assert.equal(values[0], Math.fround(data.train.pixels[4 * 784]! / 255));
  assert.equal(values[784 + 100], Math.fround(data.train.pixels[100]! / 255));
  assert.deepEqual(Array.from(labels.dataSync()), [4, 0]);
  const resized = imageBatch(data.train, [4], 56);
  assert.deepEqual(resized.images.shape, [1, 56, 56, 1]);
  // Doubling with half-pixel centres: output pixel (2r+1, 2c+1) lies a quarter pixel from input (r, c).
  const big = resized.images.dataSync();
  const [r, c] = [10, 10];
  const at = (row: number, column: number) => data.train.pixels[4 * 784 + row * 28 + column]! / 255;
  const expected = 0.75 * (0.75 * at(r, c) + 0.25 * at(r, c + 1)) + 0.25 * (0.75 * at(r + 1, c) + 0.25 * at(r + 1, c + 1));
  assert.ok(Math.abs(big[(2 * r + 1) * 56 + (2 * c + 1)]! - expected) < 1e-6);
  tf.dispose([images, labels, resized.images, resized.labels]);
  assert.equal(tf.memory().numTensors, tensorsBefore);
  assert.equal(firstExamples(data.train, 7).count, 7);
  assert.equal(firstExamples(data.train, 7).pixels.length, 7 * 784);
});

test("the real data set, where installed, has the standard sizes", { skip: !existsSync(DEFAULT_FASHION_MNIST_DIR) }, () => {
  const data = loadFashionMnist();
  assert.equal(data.train.count, 60_000);
  assert.equal(data.test.count, 10_000);
  const counts = new Array(10).fill(0);
  for (const label of data.test.labels) counts[label]++;
  assert.deepEqual(counts, new Array(10).fill(1000));
});
