import * as tf from "@tensorflow/tfjs";
import { BATCH_NORM_TRAINING_GRAD_KERNEL, BATCH_NORM_TRAINING_KERNEL } from "./batch-norm-training.js";
import { MOVING_AVERAGE_KERNEL, type MovingAverageForm } from "./moving-average.js";
import type { AnyKernel } from "./onednn-host.js";
import { float, flatProgram, int, type Uniform, type WebGpuBackendLike } from "./webgpu-program.js";

/**
 * Batch norm in training (the kernels of batch-norm-training.ts) on the webgpu backend, in shaders of
 * our own: the forward in 5 dispatches, the gradient in 6, where tfjs's moments, batchNorm and their
 * gradients take ~25 (per-channel means over the batch and space there transpose the activations first).
 * On a GPU a training step is bound by the host's per-dispatch cost, so this is what counts.
 *
 * Per-channel sums over the R = size / C rows of x viewed as [R, C] are two passes: P chunks of rows
 * summed by P x C threads (coalesced: neighbouring threads read neighbouring channels), then the P
 * partial sums of each channel. Formulas are the cpu kernel's (native/batch-norm-training.cc), in float32.
 * The layers' moving statistics are updated by one shader each (LosslineMovingAverage).
 */

/** What each row chunk sums, per channel c of row r (x, dy: [R, C]; mean: [C]). */
const SUMMANDS = {
  x: { inputs: ["x"], terms: ["x[row * C + c]"] },
  centredSquare: { inputs: ["x", "mean"], terms: ["(x[row * C + c] - mean[c]) * (x[row * C + c] - mean[c])"] },
  gradient: { inputs: ["x", "dy", "mean"], terms: ["dy[row * C + c]", "dy[row * C + c] * (x[row * C + c] - mean[c])"] },
} as const;

class Runner {
  private readonly intermediates: tf.TensorInfo[] = [];
  /** The kernel's outputs so far: freed too if a later program throws. */
  private readonly kept: tf.TensorInfo[] = [];
  constructor(
    private readonly backend: WebGpuBackendLike,
    readonly rows: number,
    readonly channels: number,
  ) {}

  /** How many row chunks the first pass of a sum uses. */
  get chunks(): number {
    return Math.min(256, this.rows);
  }

  /** Runs a program; its output is disposed with the intermediates unless `keep` (a kernel output). */
  run(prog: ReturnType<typeof flatProgram>, inputs: tf.TensorInfo[], uniforms: Uniform[], keep = false): tf.TensorInfo {
    const out = this.backend.runWebGPUProgram(prog, inputs, "float32", uniforms);
    (keep ? this.kept : this.intermediates).push(out);
    return out;
  }

  /** Runs the kernel body: intermediates are always freed, the outputs too when it throws. */
  kernel<T>(body: () => T): T {
    try {
      return body();
    } catch (error) {
      for (const info of this.kept) this.backend.disposeData(info.dataId);
      throw error;
    } finally {
      for (const info of this.intermediates) this.backend.disposeData(info.dataId);
    }
  }

  /** [K, C] ([C] for one term): the per-channel sums of the summand's K terms over all rows, times `factor`. */
  sums(kind: keyof typeof SUMMANDS, inputs: tf.TensorInfo[], factor: number, keep: boolean): tf.TensorInfo {
    const { terms } = SUMMANDS[kind];
    const [P, C, K] = [this.chunks, this.channels, terms.length];
    const rowsPerChunk = Math.ceil(this.rows / P);
    const accumulate = terms.map((term, k) => `sum${k} = sum${k} + ${term};`).join(" ");
    const declare = terms.map((_, k) => `var sum${k} = 0.0;`).join(" ");
    const write = terms.map((_, k) => `setOutputAtIndex((p * ${K} + ${k}) * C + c, sum${k});`).join(" ");
    const partial = flatProgram(
      `bn_partial_${kind}`,
      SUMMANDS[kind].inputs,
      [P, K, C],
      P * C,
      "rows : i32, channels : i32, rowsPerChunk : i32,",
      `let C = uniforms.channels; let p = index / C; let c = index % C; ${declare}
          let end = min(uniforms.rows, (p + 1) * uniforms.rowsPerChunk);
          for (var row = p * uniforms.rowsPerChunk; row < end; row = row + 1) { ${accumulate} }
          ${write}`,
    );
    const partials = this.run(partial, inputs, [int(P * C), int(this.rows), int(C), int(rowsPerChunk)]);
    const total = flatProgram(
      // The shader bakes K in, and tfjs caches pipelines by this key.
      `bn_total_${K}`,
      ["partials"],
      K === 1 ? [C] : [K, C],
      K * C,
      "chunks : i32, channels : i32, factor : f32,",
      `let C = uniforms.channels; let k = index / C; let c = index % C; var sum = 0.0;
          for (var p = 0; p < uniforms.chunks; p = p + 1) { sum = sum + partials[(p * ${K} + k) * C + c]; }
          setOutputAtIndex(index, sum * uniforms.factor);`,
    );
    return this.run(total, [partials], [int(K * C), int(P), int(C), float(factor)], keep);
  }
}

/** x viewed as [rows, channels] (channels last), and its size. */
function shapeOf(x: tf.TensorInfo) {
  const channels = x.shape.at(-1)!;
  return { channels, rows: tf.util.sizeFromShape(x.shape) / channels, size: tf.util.sizeFromShape(x.shape) };
}

/** The forward: [y of x's shape, mean [C], variance [C] (divided by the count)]. */
function forward(): AnyKernel {
  return ({ inputs, backend, attrs }) => {
    const { x, scale, offset } = inputs as Record<"x" | "scale" | "offset", tf.TensorInfo>;
    const { channels, rows, size } = shapeOf(x);
    const runner = new Runner(backend as unknown as WebGpuBackendLike, rows, channels);
    return runner.kernel(() => {
      const mean = runner.sums("x", [x], 1 / rows, true);
      const variance = runner.sums("centredSquare", [x, mean], 1 / rows, true);
      const normalize = flatProgram(
        "bn_normalize",
        ["x", "mean", "variance", "scale", "offset"],
        x.shape,
        size,
        "channels : i32, epsilon : f32,",
        `let c = index % uniforms.channels;
          setOutputAtIndex(index, (x[index] - mean[c]) * (scale[c] / sqrt(variance[c] + uniforms.epsilon)) + offset[c]);`,
      );
      const y = runner.run(normalize, [x, mean, variance, scale, offset], [int(size), int(channels), float(Number(attrs.varianceEpsilon))], true);
      return [y, mean, variance];
    });
  };
}

/** The gradient: [dx, dScale, dOffset] (see batch-norm-training.ts for the formulas). */
function gradient(): AnyKernel {
  return ({ inputs, backend, attrs }) => {
    const { x, dy, mean, variance, scale, dMean, dVariance } = inputs as Record<"x" | "dy" | "mean" | "variance" | "scale" | "dMean" | "dVariance", tf.TensorInfo>;
    const { channels, rows, size } = shapeOf(x);
    const gpu = backend as unknown as WebGpuBackendLike;
    const runner = new Runner(gpu, rows, channels);
    return runner.kernel(() => {
      // [2, C]: sum(dy), sum(dy (x - mean)).
      const sums = runner.sums("gradient", [x, dy, mean], 1, false);
      // dx = a dy + k (x - mean) + b per channel, the cpu kernel's form (WebGPU allows 8 storage buffers
      // a shader, so the per-channel coefficients come first): with r = 1 / sqrt(variance + eps), n rows,
      // a = scale r, k = -scale r^3 sum(dy xc) / n + 2 dVariance / n, b = -a sum(dy) / n + dMean / n.
      const epsilon = Number(attrs.varianceEpsilon);
      const coefficients = flatProgram(
        "bn_coefficients",
        ["mean", "variance", "scale", "sums", "dMean", "dVariance"],
        [4, channels],
        channels,
        "channels : i32, epsilon : f32, count : f32,",
        `let C = uniforms.channels; let c = index; let n = uniforms.count;
          let r = 1.0 / sqrt(variance[c] + uniforms.epsilon);
          let a = scale[c] * r;
          setOutputAtIndex(c, a);
          setOutputAtIndex(C + c, -a * r * r * sums[C + c] / n + 2.0 * dVariance[c] / n);
          setOutputAtIndex(2 * C + c, -a * sums[c] / n + dMean[c] / n);
          setOutputAtIndex(3 * C + c, mean[c]);`,
      );
      const abkm = runner.run(coefficients, [mean, variance, scale, sums, dMean, dVariance], [int(channels), int(channels), float(epsilon), float(rows)]);
      const dxProgram = flatProgram(
        "bn_dx",
        ["x", "dy", "abkm"],
        x.shape,
        size,
        "channels : i32,",
        `let C = uniforms.channels; let c = index % C;
          setOutputAtIndex(index, abkm[c] * dy[index] + abkm[C + c] * (x[index] - abkm[3 * C + c]) + abkm[2 * C + c]);`,
      );
      const dx = runner.run(dxProgram, [x, dy, abkm], [int(size), int(channels)], true);
      const dScaleProgram = flatProgram(
        "bn_dScale",
        ["variance", "sums"],
        [channels],
        channels,
        "channels : i32, epsilon : f32,",
        "setOutputAtIndex(index, sums[uniforms.channels + index] / sqrt(variance[index] + uniforms.epsilon));",
      );
      const dScale = runner.run(dScaleProgram, [variance, sums], [int(channels), int(channels), float(epsilon)], true);
      const dOffsetProgram = flatProgram("bn_dOffset", ["sums"], [channels], channels, "", "setOutputAtIndex(index, sums[index]);");
      const dOffset = runner.run(dOffsetProgram, [sums], [int(channels)], true);
      return [dx, dScale, dOffset];
    });
  };
}

/** A moving statistic's update (moving-average.ts), one shader per form. */
function movingAverageKernel(): AnyKernel {
  return ({ inputs, backend, attrs }) => {
    const { moving, batch } = inputs as Record<"moving" | "batch", tf.TensorInfo>;
    const form = attrs.form as MovingAverageForm;
    const momentum = Number(attrs.momentum);
    const size = tf.util.sizeFromShape(moving.shape);
    const expression = form === "book" ? "moving[index] * uniforms.momentum + batch[index] * uniforms.rest" : "moving[index] - (moving[index] - batch[index]) * uniforms.rest";
    const update = flatProgram(`bn_moving_${form}`, ["moving", "batch"], moving.shape, size, "momentum : f32, rest : f32,", `setOutputAtIndex(index, ${expression});`);
    // The constants as the composed ops' float32 scalars: momentum and 1 - momentum (computed in double).
    return (backend as unknown as WebGpuBackendLike).runWebGPUProgram(update, [moving, batch], "float32", [int(size), float(Math.fround(momentum)), float(Math.fround(1 - momentum))]);
  };
}

/** The batch-norm kernels for the webgpu backend, by kernel name: training forward and gradient, and the moving statistics' update. */
export function webGpuBatchNormKernels(): Record<string, AnyKernel> {
  return { [BATCH_NORM_TRAINING_KERNEL]: forward(), [BATCH_NORM_TRAINING_GRAD_KERNEL]: gradient(), [MOVING_AVERAGE_KERNEL]: movingAverageKernel() };
}
