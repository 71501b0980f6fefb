import * as tf from "@tensorflow/tfjs";
import type { OneDnnAddon } from "./onednn-addon.js";
import { cpuOutput, cpuValues, type NativeKernel, product, uninitialized } from "./onednn-host.js";

/** Binary op codes of native/elementwise.cc. */
export const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4, Maximum: 5, Minimum: 6 } as const;
/** The binary loop's activation-gradient op codes (activation-gradients.ts): a * step(b) and a * (b * (1 - b)). */
export const ACTIVATION_GRAD_OPS = { ReluGrad: 7, SigmoidGrad: 8 } as const;
/** Unary op codes of native/elementwise.cc. */
export const UNARY_OPS = { Sigmoid: 0, Relu: 1, Step: 2, Square: 3, Sqrt: 4, Exp: 5, Neg: 6 } as const;
/** Reduction op codes of native/elementwise.cc. */
export const REDUCE_OPS = { Sum: 0, Mean: 1, Max: 2 } as const;

const enum Mode {
  Full = 0,
  RowVector = 1,
  Column = 2,
  Scalar = 3,
}

/**
 * How `shape` broadcasts over `out` when `out` is read as rows x rowLength, rowLength = the product of
 * out's dims from `split` on: every element (Full), one value per column repeated down the rows
 * (RowVector: shape is out's dims from split, leading 1s aside), one value per row (Column: out's dims
 * before split, then 1s), or one value (Scalar). Undefined for any other broadcast.
 */
function modeAt(shape: number[], out: number[], split: number): Mode | undefined {
  const size = product(shape);
  if (size === 1) return Mode.Scalar;
  const padded = [...Array<number>(out.length - shape.length).fill(1), ...shape];
  const same = (from: number, to: number) => padded.slice(from, to).every((dim, i) => dim === out[from + i]);
  const ones = (from: number, to: number) => padded.slice(from, to).every((dim) => dim === 1);
  if (same(0, out.length)) return Mode.Full;
  if (ones(0, split) && same(split, out.length)) return Mode.RowVector;
  if (same(0, split) && ones(split, out.length)) return Mode.Column;
  return undefined;
}

/** [rows, rowLength, modeA, modeB] for a op b, or undefined when no single split serves both. */
function binaryLayout(aShape: number[], bShape: number[], out: number[]): Int32Array | undefined {
  for (let split = 0; split <= out.length; split++) {
    const modeA = modeAt(aShape, out, split);
    const modeB = modeAt(bShape, out, split);
    if (modeA !== undefined && modeB !== undefined) return Int32Array.of(product(out.slice(0, split)), product(out.slice(split)), modeA, modeB);
  }
  return undefined;
}

/** Add, Sub, Multiply, RealDiv, SquaredDifference, Maximum, Minimum on float32, with the broadcasts above. */
export function binary(addon: OneDnnAddon, op: number): NativeKernel {
  return ({ inputs, backend }) => {
    const aValues = cpuValues(backend, inputs.a);
    const bValues = cpuValues(backend, inputs.b);
    if (!aValues || !bValues) return undefined;
    const outShape = tf.broadcast_util.assertAndGetBroadcastShape(inputs.a!.shape, inputs.b!.shape);
    const size = product(outShape);
    const layout = size > 0 ? binaryLayout(inputs.a!.shape, inputs.b!.shape, outShape) : undefined;
    if (!layout) return undefined;
    const out = uninitialized(size);
    addon.binary(op, aValues, bValues, out, layout);
    return cpuOutput(backend, outShape, out);
  };
}

/** Sigmoid, Relu, Step (alpha 0 only), Square, Sqrt, Exp, Neg on float32. */
export function unary(addon: OneDnnAddon, op: number): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const xValues = cpuValues(backend, inputs.x);
    if (!xValues || xValues.length === 0 || (op === UNARY_OPS.Step && Number(attrs.alpha ?? 0) !== 0)) return undefined;
    const out = uninitialized(xValues.length);
    addon.unary(op, xValues, out);
    return cpuOutput(backend, inputs.x!.shape, out);
  };
}

/**
 * Sum, Mean, Max of float32 x over axes that are a leading block [0, k) (batch norm's statistics and
 * gradients) or a trailing block [k, rank) (softmax, global pooling over the last axes).
 */
export function reduce(addon: OneDnnAddon, op: number): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const xValues = cpuValues(backend, x);
    if (!xValues || xValues.length === 0) return undefined;
    const axes = [...new Set(tf.util.parseAxisParam((attrs.axis ?? attrs.reductionIndices) as number | number[], x.shape))].sort((p, q) => p - q);
    if (axes.length === 0) return undefined;
    const contiguous = axes.every((axis, i) => axis === axes[0]! + i);
    const leading = axes[0] === 0;
    if (!contiguous || (!leading && axes.at(-1) !== x.shape.length - 1)) return undefined;
    const reduced = product(axes.map((axis) => x.shape[axis]!));
    const out = uninitialized(xValues.length / reduced);
    const layout = leading ? Int32Array.of(reduced, out.length, 1) : Int32Array.of(out.length, reduced, 0);
    addon.reduce(op, xValues, out, layout);
    const shape = attrs.keepDims === true ? x.shape.map((dim, axis) => (axes.includes(axis) ? 1 : dim)) : x.shape.filter((_, axis) => !axes.includes(axis));
    return cpuOutput(backend, shape, out);
  };
}

/** FusedBatchNorm of float32 x over its last axis, with mean, variance, scale and offset of that length or 1. */
export function batchNorm(addon: OneDnnAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x, mean, variance, scale, offset } = inputs;
    const xValues = cpuValues(backend, x);
    const statistics = [mean, variance, scale, offset].map((info) => (info ? cpuValues(backend, info) : null));
    const channels = x?.shape.at(-1) ?? 0;
    const fits = (values: Float32Array | null | undefined, required: boolean) => (values === null ? !required : values !== undefined && (values.length === channels || values.length === 1));
    if (!xValues || xValues.length === 0 || !fits(statistics[0], true) || !fits(statistics[1], true) || !fits(statistics[2], false) || !fits(statistics[3], false)) return undefined;
    const [meanValues, varianceValues, scaleValues, offsetValues] = statistics;
    const out = uninitialized(xValues.length);
    addon.batchNorm(xValues, meanValues!, varianceValues!, scaleValues ?? null, offsetValues ?? null, out, channels, Number(attrs.varianceEpsilon ?? 0.001));
    return cpuOutput(backend, x!.shape, out);
  };
}
