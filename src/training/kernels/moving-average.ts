import * as tf from "@tensorflow/tfjs";

/**
 * A batch-norm layer's moving statistic after one training batch, as one kernel where the backend has
 * it (webgpu: one shader instead of three kernels and an uploaded scalar, per statistic per layer per
 * step), else the layer's own ops. Two forms, each computed in its float32 order:
 * - "book" (the chapter's scratch layer): moving * momentum + batch * (1 - momentum);
 * - "tfjs" (tf.layers.batchNormalization): moving - (moving - batch) * (1 - momentum).
 */
export const MOVING_AVERAGE_KERNEL = "LosslineMovingAverage";
export type MovingAverageForm = "book" | "tfjs";

export function movingAverage(moving: tf.Tensor, batch: tf.Tensor, momentum: number, form: MovingAverageForm): tf.Tensor {
  const fits = moving.dtype === "float32" && batch.dtype === "float32" && tf.util.arraysEqual(moving.shape, batch.shape);
  if (fits && tf.getKernel(MOVING_AVERAGE_KERNEL, tf.getBackend())) {
    return tf.engine().runKernel(MOVING_AVERAGE_KERNEL, { moving, batch }, { momentum, form } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return form === "book" ? moving.mul(momentum).add(batch.mul(1 - momentum)) : tf.sub(moving, tf.mul(tf.sub(moving, batch), 1 - momentum));
}
