import * as tf from "@tensorflow/tfjs";

type MatMulAttrs = { transposeA: boolean; transposeB: boolean } & Record<string, unknown>;
type MatMulArgs = { inputs: Record<string, tf.TensorInfo>; backend: tf.KernelBackend; attrs: MatMulAttrs };
export type MatMulKernel = (args: MatMulArgs) => tf.TensorInfo;

/**
 * Wraps a stock BatchMatMul or _FusedMatMul kernel (a [..., m, k] or its transpose, b [..., k, n] or its
 * transpose -> [..., m, n]) so that it only ever sees untransposed operands: a transposed operand is first
 * materialised with the backend's Transpose kernel. On wasm the plain product runs on XNNPACK while a
 * transposed one falls back to a slow loop (a 512x512 product: 12 ms plain, 150-350 ms transposed), and
 * the gradients of every dense layer and of our conv kernels ask for transposed products.
 */
export function untransposedMatMul(stock: MatMulKernel, backendName: string): MatMulKernel {
  return ({ inputs, backend, attrs }) => {
    if (!attrs.transposeA && !attrs.transposeB) return stock({ inputs, backend, attrs });
    const transpose = tf.getKernel("Transpose", backendName)!.kernelFunc as unknown as (args: {
      inputs: { x: tf.TensorInfo };
      backend: tf.KernelBackend;
      attrs: { perm: number[] };
    }) => tf.TensorInfo;
    const swapLastTwo = (x: tf.TensorInfo) => {
      const perm = x.shape.map((_, axis) => axis);
      perm.splice(-2, 2, x.shape.length - 1, x.shape.length - 2);
      return transpose({ inputs: { x }, backend, attrs: { perm } });
    };
    const a = attrs.transposeA ? swapLastTwo(inputs.a!) : inputs.a!;
    const b = attrs.transposeB ? swapLastTwo(inputs.b!) : inputs.b!;
    const out = stock({ inputs: { ...inputs, a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    if (a !== inputs.a) backend.disposeData(a.dataId);
    if (b !== inputs.b) backend.disposeData(b.dataId);
    return out;
  };
}
