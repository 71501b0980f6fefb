import * as tf from "@tensorflow/tfjs";

/** A kernel as registered with tfjs, with the argument types our kernels use. */
export type AnyKernel = (args: { inputs: Record<string, tf.TensorInfo>; backend: tf.KernelBackend; attrs: Record<string, unknown> }) => tf.TensorInfo | tf.TensorInfo[];
/** A native kernel: its result, or undefined when these inputs are not ones it handles (the stock kernel runs). */
export type NativeKernel = (args: Parameters<AnyKernel>[0]) => tf.TensorInfo | tf.TensorInfo[] | undefined;

interface CpuBackend {
  data: { get(dataId: tf.DataId): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): tf.TensorInfo;
}

/**
 * The float32 values the tfjs cpu backend keeps for `info` (no copy), or undefined when it holds
 * another dtype or no values.
 */
export function cpuValues(backend: tf.KernelBackend, info: tf.TensorInfo | undefined): Float32Array | undefined {
  if (info === undefined || info.dtype !== "float32") return undefined;
  const values = (backend as unknown as CpuBackend).data.get(info.dataId).values;
  return values instanceof Float32Array ? values : undefined;
}

/** A new cpu-backend tensor info of `shape` holding `values` (the backend takes ownership). */
export function cpuOutput(backend: tf.KernelBackend, shape: number[], values: Float32Array): tf.TensorInfo {
  return (backend as unknown as CpuBackend).makeTensorInfo(shape, "float32", values);
}

/** Runs `native`, and `stock` where native declines. */
export function withFallback(native: NativeKernel, stock: AnyKernel): AnyKernel {
  return (args) => {
    let result: tf.TensorInfo | tf.TensorInfo[] | undefined;
    try {
      result = native(args);
    } catch (error) {
      // oneDNN could not build a primitive for these shapes (native/onednn-context.h): the stock kernel can.
      if (!(error instanceof Error) || !error.message.startsWith("oneDNN: ")) throw error;
    }
    return result ?? stock(args);
  };
}

/** Activation codes of the addon's post-ops (native/onednn-context.h). */
const ACTIVATION_CODES: Record<string, number> = { linear: 0, relu: 1, relu6: 2, elu: 3, sigmoid: 4, leakyrelu: 5 };

/** The addon's code for a fused activation; undefined: not supported natively. */
export function activationCode(name: unknown): number | undefined {
  return typeof name === "string" ? ACTIVATION_CODES[name] : name === undefined || name === null ? 0 : undefined;
}

export { sizeOf as product } from "./kernel-host.js";
export { uninitialized } from "./buffer-pool.js";
