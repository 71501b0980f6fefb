import * as tf from "@tensorflow/tfjs";
import type { MatMulKernel } from "./untransposed-mat-mul.js";

type RawKernel = (args: { inputs: Record<string, tf.TensorInfo>; backend: tf.KernelBackend; attrs?: Record<string, unknown> }) => tf.TensorInfo;

/**
 * _FusedMatMul (a [batch, m, k], b [batch, k, n], optional bias broadcast to [batch, m, n], then an
 * activation) for wasm. tfjs-backend-wasm 4.22's stock _FusedMatMul returns wrong numbers for batched
 * (batch > 1) operands once another fused product has run (tests/unit/kernels.test.ts caught it), so
 * batched calls are composed from BatchMatMul, Add and the activation's own kernel; rank-2 calls (every
 * dense layer) keep the stock fused kernel. `matMul` is our untransposing BatchMatMul, `stockFused`
 * the stock _FusedMatMul with transposes already handled.
 */
export function batchSafeFusedMatMul(stockFused: MatMulKernel, matMul: MatMulKernel, backendName: string): MatMulKernel {
  return ({ inputs, backend, attrs }) => {
    const { a, b, bias, preluActivationWeights } = inputs;
    if (a!.shape.length <= 2 && b!.shape.length <= 2) return stockFused({ inputs, backend, attrs });
    const kernel = (name: string) => tf.getKernel(name, backendName)!.kernelFunc as unknown as RawKernel;
    let out = matMul({ inputs: { a: a!, b: b! }, backend, attrs: { transposeA: attrs.transposeA, transposeB: attrs.transposeB } });
    const replace = (next: tf.TensorInfo) => {
      backend.disposeData(out.dataId);
      out = next;
    };
    if (bias) replace(kernel("Add")({ inputs: { a: out, b: bias }, backend }));
    const activation = (attrs.activation as string | undefined) ?? "linear";
    if (activation === "prelu") replace(kernel("Prelu")({ inputs: { x: out, alpha: preluActivationWeights! }, backend }));
    else if (activation === "leakyrelu") replace(kernel("LeakyRelu")({ inputs: { x: out }, backend, attrs: { alpha: attrs.leakyreluAlpha } }));
    else if (activation !== "linear") replace(kernel(activationKernels[activation] ?? unknownActivation(activation))({ inputs: { x: out }, backend }));
    return out;
  };
}

const activationKernels: Record<string, string> = { relu: "Relu", relu6: "Relu6", elu: "Elu", sigmoid: "Sigmoid" };

function unknownActivation(activation: string): never {
  throw new Error(`_FusedMatMul: unsupported activation ${activation}`);
}
