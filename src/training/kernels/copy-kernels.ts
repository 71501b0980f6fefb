import * as tf from "@tensorflow/tfjs";
import type { OneDnnAddon } from "./onednn-addon.js";
import { isBlockRepeat, repeatInto } from "./block-tile.js";
import { cpuOutput, cpuValues, type NativeKernel, product, uninitialized } from "./onednn-host.js";

/** Row-major strides of `shape`, in elements. */
function stridesOf(shape: number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let axis = shape.length - 2; axis >= 0; axis--) strides[axis] = strides[axis + 1]! * shape[axis + 1]!;
  return strides;
}

/**
 * For every index of the `outer` axes, copies `run` floats from `source` at sourceBase + index . sourceStrides
 * to `target` at targetBase + index . targetStrides, natively (native/copy.cc: memcpy per run, in parallel).
 */
function copyRuns(
  addon: OneDnnAddon, source: Float32Array, target: Float32Array, run: number,
  outer: number[], sourceStrides: number[], targetStrides: number[], sourceBase: number, targetBase: number,
): void {
  if (run === 0 || outer.some((dim) => dim === 0)) return;
  addon.copyRuns(source, target, Int32Array.of(run, sourceBase, targetBase, outer.length, ...outer, ...sourceStrides, ...targetStrides));
}

/** The innermost axis at or after which the copy is one contiguous run per outer index. */
function innermostCut(touched: (axis: number) => boolean, rank: number): number {
  for (let axis = rank - 1; axis >= 0; axis--) if (touched(axis)) return axis;
  return 0;
}

/** x[begin : begin + size] of float32 `values` of `shape`, copied as contiguous runs. */
function copySlice(addon: OneDnnAddon, values: Float32Array, shape: number[], begin: number[], size: number[]): Float32Array {
  const out = uninitialized(product(size));
  if (out.length === 0) return out;
  const cut = innermostCut((axis) => begin[axis] !== 0 || size[axis] !== shape[axis], shape.length);
  const run = product(size.slice(cut));
  const strides = stridesOf(shape);
  const base = begin.reduce((offset, start, axis) => offset + start * strides[axis]!, 0);
  copyRuns(addon, values, out, run, size.slice(0, cut), strides.slice(0, cut), stridesOf(size).slice(0, cut), base, 0);
  return out;
}

/**
 * Slice of float32 x: copies contiguous runs (the stock cpu kernel walks every element through index
 * arithmetic; it was a third of a ResNet-18 step, as the gradient of the zero-padding layers).
 */
export function slice(addon: OneDnnAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const values = cpuValues(backend, x);
    if (!values || x.shape.length === 0) return undefined;
    const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, attrs.begin as number[], attrs.size as number[]) as [number[], number[]];
    return cpuOutput(backend, size, copySlice(addon, values, x.shape, begin, size));
  };
}

/**
 * SplitV of float32 x along one axis, each part a slice copied as contiguous runs (the stock kernel's
 * slices were 90% of a DenseNet step, as the gradient of its concatenations).
 */
export function splitV(addon: OneDnnAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const values = cpuValues(backend, x);
    if (!values || x.shape.length === 0) return undefined;
    const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs.numOrSizeSplits as number[] | number, axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((part) => {
      const size = x.shape.map((dim, i) => (i === axis ? part : dim));
      const out = cpuOutput(backend, size, copySlice(addon, values, x.shape, begin, size));
      begin[axis]! += part;
      return out;
    });
  };
}

/** PadV2 of float32 x with a constant: fills, then copies x's contiguous runs into place. */
export function pad(addon: OneDnnAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const values = cpuValues(backend, x);
    const paddings = attrs.paddings as [number, number][];
    if (!values || x.shape.length === 0 || values.length === 0) return undefined;
    const outShape = x.shape.map((dim, axis) => paddings[axis]![0] + dim + paddings[axis]![1]);
    const out = uninitialized(product(outShape));
    out.fill(Number(attrs.constantValue ?? 0));
    const cut = innermostCut((axis) => paddings[axis]![0] !== 0 || paddings[axis]![1] !== 0, x.shape.length);
    const run = product(x.shape.slice(cut));
    const outStrides = stridesOf(outShape);
    const base = paddings.reduce((offset, [before], axis) => offset + before * outStrides[axis]!, 0);
    copyRuns(addon, values, out, run, x.shape.slice(0, cut), stridesOf(x.shape).slice(0, cut), outStrides.slice(0, cut), 0, base);
    return cpuOutput(backend, outShape, out);
  };
}

/**
 * Concat of float32 tensors along one axis: each input's runs (its dims from the axis on) copied into
 * place, one run per index of the axes before it (the stock kernel copies element by element).
 */
export function concat(addon: OneDnnAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const tensors = Object.values(inputs);
    const values = tensors.map((info) => cpuValues(backend, info));
    if (tensors.length < 2 || values.some((array) => !array || array.length === 0)) return undefined;
    const shapes = tensors.map((info) => info.shape);
    const axis = tf.util.parseAxisParam(attrs.axis as number, shapes[0]!)[0]!;
    const outShape = tf.backend_util.computeOutShape(shapes, axis);
    const outer = outShape.slice(0, axis);
    const outRun = product(outShape.slice(axis));
    const out = uninitialized(product(outShape));
    let offset = 0;
    tensors.forEach((info, i) => {
      const run = product(info.shape.slice(axis));
      copyRuns(addon, values[i]!, out, run, [product(outer)], [run], [outRun], 0, offset);
      offset += run;
    });
    return cpuOutput(backend, outShape, out);
  };
}

/**
 * Tile of float32 x where the output is x repeated end to end (reps > 1 only on leading size-1 axes, as
 * in the batch-norm gradient's [1, 1, 1, C] -> [n, h, w, C]): one copy, then doubling with copyWithin.
 */
export function blockRepeatTile(): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x!;
    const values = cpuValues(backend, x);
    const reps = attrs.reps as number[];
    if (!values || !isBlockRepeat(x.shape, reps)) return undefined;
    const outShape = x.shape.map((dim, axis) => dim * reps[axis]!);
    const out = uninitialized(product(outShape));
    repeatInto(values, out);
    return cpuOutput(backend, outShape, out);
  };
}
