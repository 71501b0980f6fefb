import * as tf from "@tensorflow/tfjs";

/**
 * The few backend operations our kernels are built from, for the "cpu" and "wasm" backends alike:
 * float32 buffers the kernel fills in JavaScript, and the backend's own Reshape, Transpose and
 * BatchMatMul kernels for the heavy lifting.
 *
 * On wasm a view into the heap is invalidated whenever the heap grows, which any allocation may do:
 * take views only after the last `alloc` of a step, and never keep one across a `run`.
 */
export interface KernelHost {
  /** A new float32 tensor info of `shape`, zero-filled on cpu, uninitialised on wasm. */
  alloc(shape: number[]): tf.TensorInfo;
  /** The float32 values of `info`, as a view where the backend allows it (do not keep it, see above). */
  view(info: tf.TensorInfo): Float32Array;
  /** `info` seen with another shape of the same size; the caller disposes the result. */
  reshape(info: tf.TensorInfo, shape: number[]): tf.TensorInfo;
  /** [rows, cols] -> [cols, rows], as a new tensor info. */
  transpose2d(info: tf.TensorInfo): tf.TensorInfo;
  /** Plain product [m, k] x [k, n] -> [m, n] with neither operand transposed. */
  matMul(a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo;
  /** Releases an intermediate tensor info. */
  dispose(info: tf.TensorInfo): void;
}

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; attrs?: Record<string, unknown> };
type RawKernel = (args: KernelArgs & { backend: tf.KernelBackend }) => tf.TensorInfo;

interface CpuBackendData {
  data: { get(dataId: tf.DataId): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): tf.TensorInfo;
}
interface WasmBackendData {
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/**
 * Builds the host for `backend`, registered under `backendName`. `plainMatMul` is the backend's
 * stock BatchMatMul (captured before any override, so our wrapper is not re-entered).
 */
export function createKernelHost(backend: tf.KernelBackend, backendName: string, stockMatMul: tf.KernelFunc): KernelHost {
  const plainMatMul = stockMatMul as unknown as RawKernel;
  const kernel = (name: string): RawKernel => tf.getKernel(name, backendName)!.kernelFunc as unknown as RawKernel;
  const run = (raw: RawKernel, args: KernelArgs) => raw({ ...args, backend });
  const dispose = (info: tf.TensorInfo) => backend.disposeData(info.dataId);
  const reshape = (info: tf.TensorInfo, shape: number[]) => run(kernel("Reshape"), { inputs: { x: info }, attrs: { shape } });
  const matMul = (a: tf.TensorInfo, b: tf.TensorInfo) => {
    const out = run(plainMatMul, { inputs: { a, b }, attrs: { transposeA: false, transposeB: false } });
    // The stock kernels answer [1, m, n] for rank-2 operands on some backends; callers want [m, n].
    if (out.shape.length === 2) return out;
    const flat = reshape(out, out.shape.slice(-2));
    dispose(out);
    return flat;
  };
  if (backendName === "wasm") {
    const wasm = backend as unknown as WasmBackendData;
    return {
      alloc: (shape) => wasm.makeOutput(shape, "float32"),
      view: (info) => wasm.typedArrayFromHeap(info),
      reshape,
      transpose2d: (info) => run(kernel("Transpose"), { inputs: { x: info }, attrs: { perm: [1, 0] } }),
      matMul,
      dispose,
    };
  }
  const cpu = backend as unknown as CpuBackendData;
  const view = (info: tf.TensorInfo) => cpu.data.get(info.dataId).values;
  return {
    alloc: (shape) => cpu.makeTensorInfo(shape, "float32", new Float32Array(sizeOf(shape))),
    view,
    reshape,
    // The cpu backend's generic Transpose converts every flat index to coordinates; a 2-D loop is ~10x faster.
    transpose2d: (info) => {
      const [rows, cols] = info.shape as [number, number];
      const out = cpu.makeTensorInfo([cols, rows], "float32", new Float32Array(rows * cols));
      transposeInto(view(info), rows, cols, view(out));
      return out;
    },
    matMul,
    dispose,
  };
}

/** Writes the transpose of `source` [rows, cols] into `target` [cols, rows], in cache-sized tiles. */
export function transposeInto(source: Float32Array, rows: number, cols: number, target: Float32Array): void {
  const tile = 32;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(rows, r0 + tile);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(cols, c0 + tile);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) target[c * rows + r] = source[r * cols + c]!;
      }
    }
  }
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1);
}
