import * as tf from "@tensorflow/tfjs";
import { sizeOf } from "./kernel-host.js";

type TileKernel = (args: { inputs: { x: tf.TensorInfo }; backend: tf.KernelBackend; attrs: { reps: number[] } }) => tf.TensorInfo;
interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * Tile for wasm, fast where the output is the whole input repeated end to end: x [1, ..., 1, d...]
 * with reps > 1 only on the leading size-1 axes -> [r..., d...]. That is what the batch-norm gradient
 * asks for (the per-channel scale [1, 1, 1, C] tiled to [batch, height, width, C]), where the stock
 * wasm Tile walks every output element (~100 ms of a 550 ms LeNet-BN step). Copies the block once, then
 * doubles the filled prefix with copyWithin. Any other tiling goes to the stock kernel.
 */
export function blockTile(stock: TileKernel): TileKernel {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    if (!isBlockRepeat(x.shape, attrs.reps) || x.dtype === "string" || x.dtype === "complex64") return stock(args);
    const wasm = backend as unknown as WasmHeap;
    const out = wasm.makeOutput(x.shape.map((dim, axis) => dim * attrs.reps[axis]!), x.dtype);
    const source = wasm.typedArrayFromHeap(x); // taken after makeOutput, which may grow the heap
    const target = wasm.typedArrayFromHeap(out);
    repeatInto(source, target);
    return out;
  };
}

/** Fills `target` with `source` end to end: one copy, then doubling with copyWithin. */
export function repeatInto(source: tf.TypedArray, target: tf.TypedArray): void {
  target.set(source, 0);
  for (let filled = source.length; filled < target.length; filled *= 2) target.copyWithin(filled, 0, Math.min(filled, target.length - filled));
}

/** True when every tiled axis (rep > 1) has size 1 and comes before every axis of size > 1. */
export function isBlockRepeat(shape: number[], reps: number[]): boolean {
  const firstData = shape.findIndex((dim) => dim > 1);
  const dataStart = firstData === -1 ? shape.length : firstData;
  return sizeOf(shape) > 0 && reps.every((rep, axis) => rep === 1 || axis < dataStart);
}

