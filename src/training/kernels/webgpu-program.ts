import type * as tf from "@tensorflow/tfjs";

/**
 * Our own shaders for tfjs-backend-webgpu: the parts of its program interface (WebGPUProgram) and of
 * the backend that they use. The package itself is imported only where navigator.gpu exists
 * (webgpu-backend.ts), so these are structural types.
 */
export interface WebGpuBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], outputDtype: "float32", uniforms: Uniform[]): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

/** One uniform field's value, in the order the program declares its fields. */
export type Uniform = { type: "float32" | "int32"; data: number[] };
export const int = (value: number): Uniform => ({ type: "int32", data: [value] });
export const float = (value: number): Uniform => ({ type: "float32", data: [value] });

const WORKGROUP: [number, number, number] = [64, 1, 1];

/**
 * A program of `threads` invocations over a flat index (its first uniform is `threads`, its bound:
 * some programs write more than one output each). `variableNames` are its inputs' storage arrays, in
 * the order they are passed, and must be exactly those the code reads (Dawn derives the bind group's
 * layout from the shader and refuses an unused binding; at most 7 inputs, WebGPU's 8 storage buffers
 * less the output). tfjs caches the compiled pipeline by `key` and the inputs' ranks: everything baked
 * into `body` must be in the key.
 */
export function flatProgram(key: string, variableNames: readonly string[], outputShape: number[], threads: number, uniforms: string, body: string) {
  return {
    variableNames: [...variableNames],
    uniforms: `threads : i32, ${uniforms}`,
    workgroupSize: WORKGROUP,
    outputShape,
    dispatchLayout: { x: outputShape.map((_, axis) => axis) },
    dispatch: [Math.ceil(threads / WORKGROUP[0]), 1, 1] as [number, number, number],
    shaderKey: `lossline_${key}`,
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.threads) {
          ${body}
        }
      }`,
  };
}
