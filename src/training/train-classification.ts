import * as tf from "@tensorflow/tfjs";
import { classificationExamples, type ClassificationSpec } from "../contracts/job-spec.js";
import { firstExamples, type ImageData, type ImageSplit } from "./fashion-mnist.js";
import { imageBatch } from "./image-batches.js";
import { batchSizes, passesMultiple } from "./loss-reporter.js";
import { createModel } from "./models/create-model.js";
import { baseLearningRate, createOptimizer } from "./optimizers/create-optimizer.js";
import type { Optimizer } from "./optimizers/optimizer.js";
import { createYielder, divergenceReason, type TrainingOutcome, type TrainingProgress } from "./progress.js";
import { readWeights, type TrainingCheckpoint } from "./checkpoint.js";
import { createRandom } from "./random.js";
import { createLearningRate } from "./schedules.js";

/** Images per forward pass when measuring test accuracy. */
const EVAL_BATCH = 256;

/**
 * The book's train_ch5: minibatch training of a convnet with cross-entropy loss. Each epoch visits
 * the training images in a seeded random order; a loss point (the mean training loss of the samples
 * since the previous point) is recorded whenever samplesSeen passes a multiple of `spec.lossEvery`;
 * each epoch ends with its mean loss, training accuracy, test accuracy (inference mode: batch norm
 * uses its moving statistics) and training seconds. Deterministic for a given spec on a given backend;
 * started from a checkpoint of the same spec it carries on exactly where that checkpoint was taken.
 */
export async function trainClassification(
  spec: ClassificationSpec,
  data: ImageData,
  progress: TrainingProgress,
  resumeFrom?: TrainingCheckpoint,
): Promise<TrainingOutcome> {
  const examples = classificationExamples(spec);
  const train = firstExamples(data.train, examples.train);
  const test = firstExamples(data.test, examples.test);
  const size = spec.resize ?? train.height;
  const model = createModel(spec.model, { size, seed: spec.seed });
  const params = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const optimizer = createOptimizer(spec.optimizer);
  const learningRate = createLearningRate(baseLearningRate(spec.optimizer), spec.schedule);
  const pause = createYielder();
  const started = performance.now();
  const at = {
    epoch: resumeFrom?.epoch ?? 1,
    batchesDone: resumeFrom?.batchesDone ?? 0,
    samplesSeen: resumeFrom?.samplesSeen ?? 0,
    nextSeq: resumeFrom?.nextSeq ?? 0,
    epochRandomState: resumeFrom?.epochRandomState ?? spec.seed >>> 0,
  };
  const sums = { pointLoss: 0, pointSamples: 0, epochLoss: 0, epochCorrect: 0, epochSamples: 0, ...resumeFrom?.sums };
  let last = { loss: NaN, trainAccuracy: NaN, testAccuracy: NaN };
  const samplesAtStart = at.samplesSeen;

  const checkpoint = async (): Promise<TrainingCheckpoint> => ({
    ...at,
    scheduleSteps: learningRate.t - 1,
    sums: { ...sums },
    weights: await readWeights(model.weights.map((weight) => weight.read())),
    optimizer: await optimizer.saveState(params),
  });

  try {
    if (resumeFrom) {
      const saved = resumeFrom.weights.map(({ shape, values }) => tf.tensor(values, shape));
      model.setWeights(saved);
      tf.dispose(saved);
      await optimizer.loadState(params, resumeFrom.optimizer);
      for (let t = 0; t < resumeFrom.scheduleSteps; t++) learningRate.next();
    }
    for (; at.epoch <= spec.epochs; at.epoch++, at.batchesDone = 0) {
      const random = createRandom(spec.seed, at.epochRandomState);
      const order = random.permutation(train.count);
      const sizes = batchSizes(train.count, spec.batchSize);
      const epochStarted = performance.now();
      for (; at.batchesDone < sizes.length; ) {
        const batchSize = sizes[at.batchesDone]!;
        const first = at.batchesDone * spec.batchSize;
        const batch = imageBatch(train, order.subarray(first, first + batchSize), size);
        const step = await trainStep(model, params, optimizer, learningRate.next(), batch);
        tf.dispose([batch.images, batch.labels]);
        at.batchesDone += 1;
        at.samplesSeen += batchSize;
        if (!Number.isFinite(step.loss)) return { kind: "diverged", reason: divergenceReason(step.loss, at.samplesSeen), samplesSeen: at.samplesSeen };
        sums.epochLoss += step.loss * batchSize;
        sums.epochCorrect += step.correct;
        sums.epochSamples += batchSize;
        sums.pointLoss += step.loss * batchSize;
        sums.pointSamples += batchSize;
        if (passesMultiple(at.samplesSeen, batchSize, spec.lossEvery)) {
          progress.onPoint({
            seq: at.nextSeq++,
            samplesSeen: at.samplesSeen,
            epoch: at.samplesSeen / train.count,
            value: sums.pointLoss / sums.pointSamples,
            wallTime: new Date().toISOString(),
          });
          sums.pointLoss = 0;
          sums.pointSamples = 0;
        }
        await pause();
        if (progress.checkpointDue?.()) await progress.saveCheckpoint?.(await checkpoint());
        if (progress.shouldStop()) return { kind: "stopped", samplesSeen: at.samplesSeen };
      }
      const seconds = (performance.now() - epochStarted) / 1000;
      const testAccuracy = await accuracy(model, test, size, progress);
      if (testAccuracy === undefined) return { kind: "stopped", samplesSeen: at.samplesSeen };
      last = { loss: sums.epochLoss / sums.epochSamples, trainAccuracy: sums.epochCorrect / sums.epochSamples, testAccuracy };
      progress.onEpoch({ epoch: at.epoch, ...last, seconds, wallTime: new Date().toISOString() });
      Object.assign(sums, { epochLoss: 0, epochCorrect: 0, epochSamples: 0 });
      at.epochRandomState = random.state();
      if (at.epoch < spec.epochs && progress.saveCheckpoint) {
        // An epoch's end is always worth keeping: the next epoch starts from here.
        await progress.saveCheckpoint({ ...(await checkpoint()), epoch: at.epoch + 1, batchesDone: 0 });
      }
      if (at.epoch < spec.epochs && progress.shouldStop()) return { kind: "stopped", samplesSeen: at.samplesSeen };
    }
    const seconds = (performance.now() - started) / 1000;
    const samplesSeen = at.samplesSeen;
    return { kind: "completed", finalMetrics: { ...last, samplesSeen, seconds, samplesPerSecond: (samplesSeen - samplesAtStart) / seconds } };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

/**
 * One minibatch step in training mode: gradients of the mean cross-entropy, then the optimizer's
 * update at rate `lr`. Returns the batch's mean loss and how many of its images were classified right.
 */
export async function trainStep(
  model: tf.LayersModel,
  params: tf.Variable[],
  optimizer: Optimizer,
  lr: number,
  batch: { images: tf.Tensor4D; labels: tf.Tensor1D },
): Promise<{ loss: number; correct: number }> {
  let correct: tf.Scalar | undefined;
  const loss = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.apply(batch.images, { training: true }) as tf.Tensor2D;
      correct = tf.keep(countCorrect(logits, batch.labels));
      return tf.losses.softmaxCrossEntropy(tf.oneHot(batch.labels, logits.shape[1]), logits) as tf.Scalar;
    }, params);
    optimizer.step(params, grads, lr);
    return value;
  });
  try {
    const [lossValue, correctValue] = await Promise.all([loss.data(), correct!.data()]);
    return { loss: lossValue[0]!, correct: correctValue[0]! };
  } finally {
    tf.dispose([loss, correct!]);
  }
}

/** Fraction of `split` classified right in inference mode; undefined when the run must stop. */
async function accuracy(model: tf.LayersModel, split: ImageSplit, size: number, progress: TrainingProgress): Promise<number | undefined> {
  let correct = 0;
  let start = 0;
  for (const batchSize of batchSizes(split.count, EVAL_BATCH)) {
    const indices = Int32Array.from({ length: batchSize }, (_, i) => start + i);
    start += batchSize;
    const count = tf.tidy(() => {
      const batch = imageBatch(split, indices, size);
      return countCorrect(model.apply(batch.images, { training: false }) as tf.Tensor2D, batch.labels);
    });
    correct += (await count.data())[0]!;
    count.dispose();
    if (progress.shouldStop()) return undefined;
  }
  return correct / split.count;
}

/** How many rows of `logits` [n, classes] have their largest value at `labels` [n]. */
function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => logits.argMax(1).equal(labels).sum().toFloat() as tf.Scalar);
}
