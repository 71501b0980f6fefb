import * as tf from "@tensorflow/tfjs";
import type { OneDnnAddon } from "./onednn-addon.js";
import { type AnyKernel, cpuOutput, cpuValues, uninitialized } from "./onednn-host.js";

/**
 * Lossline's kernels for batch norm in training over the last axis, registered on the cpu backend with
 * the oneDNN addon (register-training-kernels.ts; webgpu-batch-norm.ts has them for webgpu). The forward takes x [..., c], scale [c], offset [c]
 * and attrs.varianceEpsilon, and answers [y of x's shape, mean [c], variance [c]] (the batch's statistics,
 * variance divided by the count); its gradient is the second kernel, one pass for the sums and one for dx.
 */
export const BATCH_NORM_TRAINING_KERNEL = "LosslineBatchNormTraining";
export const BATCH_NORM_TRAINING_GRAD_KERNEL = "LosslineBatchNormTrainingGrad";

function float32Values(backend: tf.KernelBackend, infos: (tf.TensorInfo | undefined)[], kernel: string): Float32Array[] {
  const values = infos.map((info) => cpuValues(backend, info));
  if (values.some((array) => array === undefined)) throw new Error(`${kernel}: every input must be a float32 cpu tensor`);
  return values as Float32Array[];
}

/** Both kernels, through the addon's native passes (native/batch-norm-training.cc). */
export function batchNormTrainingKernels(addon: OneDnnAddon): Record<string, AnyKernel> {
  const forward: AnyKernel = ({ inputs, backend, attrs }) => {
    const { x, scale, offset } = inputs;
    const [xValues, scaleValues, offsetValues] = float32Values(backend, [x, scale, offset], BATCH_NORM_TRAINING_KERNEL);
    const channels = x!.shape.at(-1)!;
    const [y, mean, variance] = [xValues!.length, channels, channels].map(uninitialized) as [Float32Array, Float32Array, Float32Array];
    addon.batchNormTraining(xValues!, scaleValues!, offsetValues!, y, mean, variance, channels, Number(attrs.varianceEpsilon));
    return [cpuOutput(backend, x!.shape, y), cpuOutput(backend, [channels], mean), cpuOutput(backend, [channels], variance)];
  };
  const gradient: AnyKernel = ({ inputs, backend, attrs }) => {
    const { x, dy, mean, variance, scale, dMean, dVariance } = inputs;
    const [xValues, dyValues, meanValues, varianceValues, scaleValues, dMeanValues, dVarianceValues] = float32Values(
      backend, [x, dy, mean, variance, scale, dMean, dVariance], BATCH_NORM_TRAINING_GRAD_KERNEL,
    );
    const channels = x!.shape.at(-1)!;
    const [dx, dScale, dOffset] = [xValues!.length, channels, channels].map(uninitialized) as [Float32Array, Float32Array, Float32Array];
    addon.batchNormTrainingGrad(xValues!, dyValues!, meanValues!, varianceValues!, scaleValues!, dMeanValues!, dVarianceValues!, dx, dScale, dOffset, channels, Number(attrs.varianceEpsilon));
    return [cpuOutput(backend, x!.shape, dx), cpuOutput(backend, [channels], dScale), cpuOutput(backend, [channels], dOffset)];
  };
  return { [BATCH_NORM_TRAINING_KERNEL]: forward, [BATCH_NORM_TRAINING_GRAD_KERNEL]: gradient };
}

/**
 * The forward kernel's gradient (global, as tfjs gradients are; it only runs where the forward ran):
 * the gradients of y, mean and variance (tfjs passes zeros for an output the loss does not reach) to
 * x, scale and offset. Registered once.
 */
export function registerBatchNormTrainingGradient(): void {
  if (tf.getGradient(BATCH_NORM_TRAINING_KERNEL)) return;
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAINING_KERNEL,
    inputsToSave: ["x", "scale"],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy, dMean, dVariance] = dys as tf.Tensor[];
      const [x, scale, mean, variance] = saved;
      const [dx, dScale, dOffset] = tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD_KERNEL, { x: x!, dy: dy!, mean: mean!, variance: variance!, scale: scale!, dMean: dMean!, dVariance: dVariance! }, attrs) as unknown as tf.Tensor[];
      return { x: () => dx!, scale: () => dScale!, offset: () => dOffset! };
    },
  });
}

/**
 * Batch norm in training over x's last axis with the batch's own statistics: y = offset + (x - mean) *
 * scale / sqrt(variance + epsilon), with mean and variance (divided by the count) of each channel, as
 * tf.moments then tf.batchNorm compute them, in one kernel with one gradient kernel. Undefined where the
 * active backend has no such kernel or the tensors are not float32 of the shapes above (the caller
 * composes tfjs ops instead; also past rank 6, where tfjs's webgpu shaders stop).
 */
export function batchNormTraining(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, epsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } | undefined {
  if (!tf.getKernel(BATCH_NORM_TRAINING_KERNEL, tf.getBackend())) return undefined;
  const channels = x.shape.at(-1);
  if (x.rank < 2 || x.rank > 6 || x.size === 0 || [x, scale, offset].some((t) => t.dtype !== "float32")) return undefined;
  if ([scale, offset].some((t) => t.rank !== 1 || t.shape[0] !== channels)) return undefined;
  const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAINING_KERNEL, { x, scale, offset }, { varianceEpsilon: epsilon }) as unknown as tf.Tensor[];
  return { y: y!, mean: mean!, variance: variance! };
}
