import * as tf from "@tensorflow/tfjs";
import type { RegressionSpec } from "../contracts/job-spec.js";
import type { RegressionData } from "./airfoil.js";
import { createLinearModel, squaredLoss, type LinearModel } from "./linear-regression.js";
import { batchSizes, createLossReporter } from "./loss-reporter.js";
import { baseLearningRate, createOptimizer } from "./optimizers/create-optimizer.js";
import { createYielder, divergenceReason, type TrainingOutcome, type TrainingProgress } from "./progress.js";
import type { Optimizer } from "./optimizers/optimizer.js";
import { createRandom } from "./random.js";
import { createLearningRate } from "./schedules.js";

/**
 * The book's train_ch7: minibatch training of a linear model with squared loss, the mean loss over
 * the whole data set recorded before training and then each time samplesSeen reaches a multiple of
 * `spec.lossEvery`. Deterministic for a given spec on a given backend.
 */
export async function trainRegression(
  spec: RegressionSpec,
  data: RegressionData,
  progress: TrainingProgress,
): Promise<TrainingOutcome> {
  const random = createRandom(spec.seed);
  const model = createLinearModel(data.featureDim, random);
  const optimizer = createOptimizer(spec.optimizer);
  const learningRate = createLearningRate(baseLearningRate(spec.optimizer), spec.schedule);
  const features = tf.tensor2d(data.features, [data.examples, data.featureDim]);
  const labels = tf.tensor2d(data.labels, [data.examples, 1]);
  const reporter = createLossReporter(spec.lossEvery);
  const pause = createYielder();
  const started = performance.now();
  let seq = 0;
  let lastLoss = NaN;

  /** Mean loss over all examples; records a point when `record` is set. Read with data(): webgpu has no dataSync in Node. */
  const evaluate = async (record: boolean): Promise<number> => {
    lastLoss = await readScalar(tf.tidy(() => squaredLoss(model.predict(features), labels).mean() as tf.Scalar));
    if (record && Number.isFinite(lastLoss)) {
      const samplesSeen = reporter.samplesSeen;
      progress.onPoint({
        seq: seq++,
        samplesSeen,
        epoch: samplesSeen / data.examples,
        value: lastLoss,
        wallTime: new Date().toISOString(),
      });
    }
    return lastLoss;
  };

  try {
    if (!Number.isFinite(await evaluate(true))) return diverged(lastLoss, 0);
    for (let epoch = 1; epoch <= spec.epochs; epoch++) {
      const epochStarted = performance.now();
      const order = random.permutation(data.examples);
      let start = 0;
      for (const size of batchSizes(data.examples, spec.batchSize)) {
        const batchIndices = order.subarray(start, start + size);
        start += size;
        const stepLoss = await readScalar(trainStep(model, optimizer, learningRate.next(), features, labels, batchIndices));
        const due = reporter.addBatch(size);
        if (!Number.isFinite(stepLoss)) return diverged(stepLoss, reporter.samplesSeen);
        if (due && !Number.isFinite(await evaluate(true))) return diverged(lastLoss, reporter.samplesSeen);
        await pause();
        if (progress.shouldStop()) return { kind: "stopped", samplesSeen: reporter.samplesSeen };
      }
      const epochLoss = await evaluate(false);
      if (!Number.isFinite(epochLoss)) return diverged(epochLoss, reporter.samplesSeen);
      progress.onEpoch({
        epoch,
        loss: epochLoss,
        trainAccuracy: null,
        testAccuracy: null,
        seconds: (performance.now() - epochStarted) / 1000,
        wallTime: new Date().toISOString(),
      });
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      kind: "completed",
      finalMetrics: { loss: lastLoss, samplesSeen: reporter.samplesSeen, seconds, samplesPerSecond: reporter.samplesSeen / seconds },
    };
  } finally {
    tf.dispose([features, labels]);
    model.dispose();
    optimizer.dispose();
  }
}

/** One minibatch step: gradients of the mean squared loss, then the optimizer's update at rate `lr`. Returns the batch loss (a scalar the caller disposes). */
function trainStep(
  model: LinearModel,
  optimizer: Optimizer,
  lr: number,
  features: tf.Tensor2D,
  labels: tf.Tensor2D,
  batchIndices: Int32Array,
): tf.Scalar {
  return tf.tidy(() => {
    const indices = tf.tensor1d(batchIndices, "int32");
    const batchFeatures = tf.gather(features, indices);
    const batchLabels = tf.gather(labels, indices);
    const { value, grads } = tf.variableGrads(
      () => squaredLoss(model.predict(batchFeatures), batchLabels).mean() as tf.Scalar,
      model.params,
    );
    optimizer.step(model.params, grads, lr);
    return value;
  });
}

/** The value of a scalar tensor, which is then disposed. */
async function readScalar(scalar: tf.Scalar): Promise<number> {
  try {
    return (await scalar.data())[0]!;
  } finally {
    scalar.dispose();
  }
}

function diverged(value: number, samplesSeen: number): TrainingOutcome {
  return { kind: "diverged", reason: divergenceReason(value, samplesSeen), samplesSeen };
}
