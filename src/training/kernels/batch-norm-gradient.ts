import * as tf from "@tensorflow/tfjs";
import { replaceGradient } from "./gradient-overrides.js";

/**
 * Replaces FusedBatchNorm's gradient on `backendName` with one that reads the big tensors fewer times:
 * per channel, with r = 1 / sqrt(variance + eps) and sums over every axis but the last,
 *   dx = dy * (scale * r), dmean = -scale * r * sum(dy), dvariance = -0.5 * scale * r^3 * sum(dy * (x - mean)),
 *   dscale = r * sum(dy * (x - mean)), doffset = sum(dy)
 * (five passes over [n, h, w, c] instead of tfjs's fourteen, each a native kernel on the oneDNN engine).
 * The same formulas as tfjs's own gradient, summed in another order. Other backends, and statistics that
 * are not [c] vectors, get tfjs's own gradient.
 */
export function registerBatchNormGradient(backendName: string): void {
  replaceGradient("FusedBatchNorm", backendName, () => (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved;
    const channels = x!.shape.at(-1);
    const vectors = [mean!, variance!, ...(scale ? [scale] : [])].every((t) => t.rank === 1 && t.shape[0] === channels);
    if (!vectors || x!.rank < 2) return undefined;
    const axes = x!.shape.slice(0, -1).map((_, axis) => axis);
    const dyTensor = dy as tf.Tensor;
    const r = tf.rsqrt(tf.add(variance!, (attrs as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001));
    const scaleR = scale ? tf.mul(scale, r) : r;
    const sumDy = tf.sum(dyTensor, axes);
    const sumDyCentred = tf.sum(tf.mul(dyTensor, tf.sub(x!, mean!)), axes);
    return {
      x: () => tf.mul(dyTensor, scaleR),
      mean: () => tf.neg(tf.mul(scaleR, sumDy)),
      variance: () => tf.mul(tf.mul(scaleR, tf.square(r)), tf.mul(sumDyCentred, -0.5)),
      scale: () => tf.mul(r, sumDyCentred),
      offset: () => sumDy.clone(),
    };
  });
}
