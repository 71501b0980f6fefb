import * as tf from "@tensorflow/tfjs";
import { batchNormTraining } from "../kernels/batch-norm-training.js";
import { movingAverage } from "../kernels/moving-average.js";

/** The fields of tfjs's BatchNormalization layer its training call reads (protected in its types). */
interface BatchNormalizationFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor };
  beta: { read(): tf.Tensor };
  movingMean: { read(): tf.Tensor; write(value: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(value: tf.Tensor): void };
}

/**
 * tf.layers.batchNormalization `layer` whose training call runs as one kernel and one gradient kernel
 * where the backend has them (batch-norm-training.ts: the cpu backend with the oneDNN addon, and
 * webgpu-batch-norm.ts on webgpu) instead of
 * tfjs's moments and batchNorm ops (a dozen elementwise passes over the activations in the backward
 * pass). The same layer otherwise: its class, config, weights and inference call are tfjs's own; the
 * output and the moving statistics (moving = moving - (moving - batch) * (1 - momentum), as tfjs writes
 * it) agree with tfjs's to float rounding. Other backends, and axes other than the last, run tfjs's call.
 */
export function withFusedTraining(layer: tf.layers.Layer): tf.layers.Layer {
  const fields = layer as unknown as BatchNormalizationFields;
  const stockCall = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const lastAxis = fields.axis === -1 || fields.axis === x.rank - 1;
    if (kwargs["training"] !== true || !lastAxis || !fields.center || !fields.scale || (Array.isArray(inputs) && inputs.length !== 1)) return stockCall(inputs, kwargs);
    const normalized = tf.tidy(() => {
      const fused = batchNormTraining(x, fields.gamma.read(), fields.beta.read(), fields.epsilon);
      if (!fused) return undefined;
      for (const [moving, batch] of [[fields.movingMean, fused.mean], [fields.movingVariance, fused.variance]] as const) {
        moving.write(movingAverage(moving.read(), batch, fields.momentum, "tfjs"));
      }
      return fused.y;
    });
    return normalized ?? stockCall(inputs, kwargs);
  };
  return layer;
}
