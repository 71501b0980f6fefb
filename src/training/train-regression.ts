import * as tf from "@tensorflow/tfjs";
import type { RegressionSpec } from "../contracts/job-spec.js";
import type { RegressionData } from "./airfoil.js";
import { readWeights, type TrainingCheckpoint } from "./checkpoint.js";
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
 * `spec.lossEvery`. Deterministic for a given spec on a given backend; started from a checkpoint of
 * the same spec it carries on exactly where that checkpoint was taken (the same points follow).
 */
export async function trainRegression(
  spec: RegressionSpec,
  data: RegressionData,
  progress: TrainingProgress,
  resumeFrom?: TrainingCheckpoint,
): Promise<TrainingOutcome> {
  const random = createRandom(spec.seed);
  const model = createLinearModel(data.featureDim, random);
  const optimizer = createOptimizer(spec.optimizer);
  const learningRate = createLearningRate(baseLearningRate(spec.optimizer), spec.schedule);
  const features = tf.tensor2d(data.features, [data.examples, data.featureDim]);
  const labels = tf.tensor2d(data.labels, [data.examples, 1]);
  const reporter = createLossReporter(spec.lossEvery, resumeFrom?.samplesSeen ?? 0);
  const pause = createYielder();
  const started = performance.now();
  const samplesAtStart = reporter.samplesSeen;
  let seq = resumeFrom?.nextSeq ?? 0;
  let lastLoss = NaN;
  // Where the loop is, for a checkpoint: the epoch in progress, its batches done, and the random
  // source's state before the epoch drew its order (after the model's initialisation drew its weights).
  const at = { epoch: resumeFrom?.epoch ?? 1, batchesDone: resumeFrom?.batchesDone ?? 0, epochRandomState: resumeFrom?.epochRandomState ?? random.state() };

  const checkpoint = async (): Promise<TrainingCheckpoint> => ({
    ...at,
    samplesSeen: reporter.samplesSeen,
    nextSeq: seq,
    scheduleSteps: learningRate.t - 1,
    sums: {},
    weights: await readWeights(model.params),
    optimizer: await optimizer.saveState(model.params),
  });

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
    if (resumeFrom) {
      tf.tidy(() => resumeFrom.weights.forEach(({ values }, i) => model.params[i]!.assign(tf.tensor(values, model.params[i]!.shape))));
      await optimizer.loadState(model.params, resumeFrom.optimizer);
      for (let t = 0; t < resumeFrom.scheduleSteps; t++) learningRate.next();
    } else if (!Number.isFinite(await evaluate(true))) return diverged(lastLoss, 0);
    for (; at.epoch <= spec.epochs; at.epoch++, at.batchesDone = 0) {
      const epochStarted = performance.now();
      const epochRandom = createRandom(spec.seed, at.epochRandomState);
      const order = epochRandom.permutation(data.examples);
      const sizes = batchSizes(data.examples, spec.batchSize);
      for (; at.batchesDone < sizes.length; ) {
        const size = sizes[at.batchesDone]!;
        const start = at.batchesDone * spec.batchSize;
        const batchIndices = order.subarray(start, start + size);
        const stepLoss = await readScalar(trainStep(model, optimizer, learningRate.next(), features, labels, batchIndices));
        at.batchesDone += 1;
        const due = reporter.addBatch(size);
        if (!Number.isFinite(stepLoss)) return diverged(stepLoss, reporter.samplesSeen);
        if (due && !Number.isFinite(await evaluate(true))) return diverged(lastLoss, reporter.samplesSeen);
        await pause();
        if (progress.checkpointDue?.()) await progress.saveCheckpoint?.(await checkpoint());
        if (progress.shouldStop()) return { kind: "stopped", samplesSeen: reporter.samplesSeen };
      }
      at.epochRandomState = epochRandom.state();
      const epochLoss = await evaluate(false);
      if (!Number.isFinite(epochLoss)) return diverged(epochLoss, reporter.samplesSeen);
      progress.onEpoch({
        epoch: at.epoch,
        loss: epochLoss,
        trainAccuracy: null,
        testAccuracy: null,
        seconds: (performance.now() - epochStarted) / 1000,
        wallTime: new Date().toISOString(),
      });
      // Airfoil epochs take milliseconds: an epoch's end is checkpointed only when one is due anyway.
      if (at.epoch < spec.epochs && progress.checkpointDue?.()) {
        await progress.saveCheckpoint?.({ ...(await checkpoint()), epoch: at.epoch + 1, batchesDone: 0 });
      }
      if (at.epoch < spec.epochs && progress.shouldStop()) return { kind: "stopped", samplesSeen: reporter.samplesSeen };
    }
    const seconds = (performance.now() - started) / 1000;
    const samplesSeen = reporter.samplesSeen;
    return {
      kind: "completed",
      finalMetrics: { loss: lastLoss, samplesSeen, seconds, samplesPerSecond: (samplesSeen - samplesAtStart) / seconds },
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
