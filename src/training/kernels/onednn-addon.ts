import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/**
 * The native half of Lossline's oneDNN kernels (native/*.cc, built by scripts/build-native.mjs into
 * build/Release/lossline_onednn.node). Every function reads and writes the Float32Arrays the tfjs cpu
 * backend keeps, NHWC throughout; shapes travel as Int32Arrays whose layout each doc comment gives.
 * A function throws when oneDNN cannot build a primitive for the shapes (the caller falls back).
 */
export interface OneDnnAddon {
  /** OpenMP threads for oneDNN and the elementwise loops. */
  setThreads(count: number): void;
  /** The oneDNN library's version, "2.6.3". */
  version(): string;
  /**
   * y [n, outH, outW, outC] = act(conv(x [n, inH, inW, inC], filter [kH, kW, inC, outC]) + bias [outC]);
   * geometry [n, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, padBottom, padRight].
   */
  conv2dForward(x: Float32Array, filter: Float32Array, bias: Float32Array | null, y: Float32Array, geometry: Int32Array, activation: number, alpha: number): void;
  /** dx [n, inH, inW, inC] from dy [n, outH, outW, outC] and filter; geometry as conv2dForward. */
  conv2dBackwardData(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  /** dFilter [kH, kW, inC, outC] from x and dy; geometry as conv2dForward. */
  conv2dBackwardWeights(x: Float32Array, dy: Float32Array, dFilter: Float32Array, geometry: Int32Array): void;
  /**
   * c [max(batchA, batchB), m, n] = act(op(a) op(b) + bias [n]); geometry [batchA, batchB, m, n, k, transposeA, transposeB],
   * a [batchA, m, k] or [batchA, k, m] when transposed, b [batchB, k, n] or [batchB, n, k].
   */
  matmul(a: Float32Array, b: Float32Array, bias: Float32Array | null, c: Float32Array, geometry: Int32Array, activation: number, alpha: number): void;
  /** y [n, outH, outW, c] pooled from x [n, inH, inW, c]; geometry [n, inH, inW, c, outH, outW, kH, kW, strideH, strideW, padTop, padLeft, padBottom, padRight, max ? 1 : 0]. */
  pool(x: Float32Array, y: Float32Array, geometry: Int32Array): void;
  /** dx of pooling from dy and x; geometry as pool. */
  poolBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  /** out = a op b over rows x rowLength; layout [rows, rowLength, modeA, modeB] (modes: 0 full, 1 row vector, 2 column, 3 scalar). */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, layout: Int32Array): void;
  /** out = op(x) elementwise. */
  unary(op: number, x: Float32Array, out: Float32Array): void;
  /** x [outer, inner] reduced over outer (leading 1) or inner (leading 0); layout [outer, inner, leading]. */
  reduce(op: number, x: Float32Array, out: Float32Array, layout: Int32Array): void;
  /** out = offset + (x - mean) * scale / sqrt(variance + epsilon) over x's last axis (`channels`); statistics of length channels or 1. */
  batchNorm(x: Float32Array, mean: Float32Array, variance: Float32Array, scale: Float32Array | null, offset: Float32Array | null, out: Float32Array, channels: number, epsilon: number): void;
  /**
   * Batch norm in training over x's last axis (`channels`): mean and variance [channels] of the batch, then
   * y = offset + (x - mean) * scale / sqrt(variance + epsilon).
   */
  batchNormTraining(x: Float32Array, scale: Float32Array, offset: Float32Array, y: Float32Array, mean: Float32Array, variance: Float32Array, channels: number, epsilon: number): void;
  /** batchNormTraining's gradient: dx, dScale, dOffset from dy, dMean, dVariance (see native/batch-norm-training.cc). */
  batchNormTrainingGrad(
    x: Float32Array, dy: Float32Array, mean: Float32Array, variance: Float32Array, scale: Float32Array, dMean: Float32Array, dVariance: Float32Array,
    dx: Float32Array, dScale: Float32Array, dOffset: Float32Array, channels: number, epsilon: number,
  ): void;
  /**
   * For every index i of the outer axes, copies `run` floats from source[sourceBase + i . sourceStrides] to
   * target[targetBase + i . targetStrides]; layout [run, sourceBase, targetBase, rank, ...outer, ...sourceStrides, ...targetStrides].
   */
  copyRuns(source: Float32Array, target: Float32Array, layout: Int32Array): void;
  /**
   * One Adam update in one pass (see fused-adam.ts): paramOut, vOut, sOut from param, grad, v, s, all of one length;
   * hyper [beta1, 1 - beta1, beta2, 1 - beta2, 1 - beta1^step, 1 - beta2^step, lr, epsilon].
   */
  adamStep(param: Float32Array, grad: Float32Array, v: Float32Array, s: Float32Array, paramOut: Float32Array, vOut: Float32Array, sOut: Float32Array, hyper: Float64Array): void;
}

/** Where scripts/build-native.mjs leaves the addon, from this file's folder. */
export const DEFAULT_ONEDNN_ADDON_PATH = fileURLToPath(new URL("../../../build/Release/lossline_onednn.node", import.meta.url));

type OneDnnLoad = { addon: OneDnnAddon; error?: undefined } | { addon?: undefined; error: string };

/** Loads the addon at `path` and sets its thread count; an error line (never a throw) where it cannot. */
export function loadOneDnnAddon(path: string, threads: number): OneDnnLoad {
  try {
    const addon = createRequire(import.meta.url)(path) as OneDnnAddon;
    addon.setThreads(threads);
    return { addon };
  } catch (error) {
    return { error: `${path}: ${(error as Error).message.split("\n")[0]}` };
  }
}
