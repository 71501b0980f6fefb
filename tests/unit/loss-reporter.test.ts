import assert from "node:assert/strict";
import { test } from "node:test";
import { batchSizes, createLossReporter } from "../../src/training/loss-reporter.js";

/** The samplesSeen values at which the reporter records over a whole run, the initial point (0) included. */
function reportSchedule(examples: number, batchSize: number, epochs: number, every: number): number[] {
  const reporter = createLossReporter(every);
  const schedule = [0];
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const size of batchSizes(examples, batchSize)) if (reporter.addBatch(size)) schedule.push(reporter.samplesSeen);
  }
  return schedule;
}

const range = (from: number, to: number, step: number) => Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);

// 1500 examples, 2 epochs, a point every 100 samples, as in the airfoil job.
test("batch size 1 and 10 record at 0, 100, ..., 3000: 31 points", () => {
  assert.deepEqual(reportSchedule(1500, 1, 2, 100), range(0, 3000, 100));
  assert.deepEqual(reportSchedule(1500, 10, 2, 100), range(0, 3000, 100));
  assert.equal(reportSchedule(1500, 10, 2, 100).length, 31);
});

test("batch size 30 records only where samples seen is a multiple of 100: every 300", () => {
  assert.deepEqual(reportSchedule(1500, 30, 2, 100), range(0, 3000, 300));
});

test("batch size 1500 records after every step", () => {
  assert.deepEqual(reportSchedule(1500, 1500, 2, 100), [0, 1500, 3000]);
});

test("batch size 7: the short last batch of epoch 1 (2 samples) shifts epoch 2's points", () => {
  // Epoch 1: 214 batches of 7 (700 and 1400 are multiples of 100), then one of 2 that ends at 1500.
  // Epoch 2 starts at 1500: 1500 + 7k is a multiple of 100 for k = 100 (2200) and k = 200 (2900),
  // and its short last batch ends at 3000.
  assert.deepEqual(reportSchedule(1500, 7, 2, 100), [0, 700, 1400, 1500, 2200, 2900, 3000]);
});

test("batchSizes keeps the remainder as a last, smaller batch", () => {
  assert.deepEqual(batchSizes(10, 4), [4, 4, 2]);
  assert.deepEqual(batchSizes(1500, 7).length, 215);
  assert.equal(batchSizes(1500, 7).at(-1), 2);
});

test("the reporter counts samples, not batches", () => {
  const reporter = createLossReporter(100);
  assert.equal(reporter.addBatch(60), false);
  assert.equal(reporter.addBatch(40), true);
  assert.equal(reporter.samplesSeen, 100);
});
