import * as tf from "@tensorflow/tfjs";
import { conv2dBackpropFilter } from "./conv2d-backprop-filter.js";
import { conv2dBackpropInput } from "./conv2d-backprop-input.js";
import type { ConvAttrs } from "./conv-geometry.js";
import { createKernelHost } from "./kernel-host.js";
import { blockTile } from "./block-tile.js";
import { batchSafeFusedMatMul } from "./fused-mat-mul.js";
import { untransposedMatMul, type MatMulKernel } from "./untransposed-mat-mul.js";
import type { OneDnnAddon } from "./onednn-addon.js";
import { oneDnnKernels } from "./onednn-kernels.js";
import { registerBatchNormGradient } from "./batch-norm-gradient.js";
import { ADAM_STEP_KERNEL, adamStepKernel } from "./fused-adam.js";
import { batchNormTrainingKernels, registerBatchNormTrainingGradient } from "./batch-norm-training.js";
import { activationGradKernels, registerActivationGradients } from "./activation-gradients.js";
import { registerReductionGradients } from "./reduction-gradients.js";
import { type AnyKernel, withFallback } from "./onednn-host.js";
import { DEFAULT_TENSOR_POOL_MIB, installBufferPool } from "./buffer-pool.js";
import { webGpuAdamStepKernel } from "./webgpu-adam.js";
import { webGpuBatchNormKernels } from "./webgpu-batch-norm.js";

/** Marks the kernel functions this module registered, so a second call recognises them. */
const LOSSLINE_KERNEL = Symbol.for("lossline.trainingKernel");
/** Marks our oneDNN kernels, which replace our plain-JS ones but not themselves. */
const ONEDNN_KERNEL = Symbol.for("lossline.oneDnnKernel");

type Tagged = tf.KernelFunc & { [LOSSLINE_KERNEL]?: tf.KernelFunc | null; [ONEDNN_KERNEL]?: true };

/**
 * Registers Lossline's training kernels for `backendName` and returns their names:
 * - "wasm": Conv2DBackpropFilter (missing from tfjs-backend-wasm 4.22), Conv2DBackpropInput (the stock
 *   one is a single-threaded loop), BatchMatMul and _FusedMatMul (transposed operands materialised first;
 *   batched fused products composed from plain kernels, see fused-mat-mul.ts), Tile (block repeats, as
 *   in the batch-norm gradient, copied with copyWithin).
 * - "cpu": Conv2DBackpropFilter (the stock one is a naive 6-deep loop: ours is 30-100x faster), and
 *   LosslineAdamStep (fused-adam.ts: the scratch Adam's update in one loop, where it has no stock kernel).
 *   Our Conv2DBackpropInput is not registered on cpu: it measured 0.5-0.9x the stock one there (bench/kernels.ts).
 * - "cpu" with `oneDnn` (the loaded addon, see onednn-addon.ts): the kernels of onednn-kernels.ts
 *   (convolutions, matmuls, pooling, elementwise ops and reductions), each falling back to the stock
 *   kernel on inputs it does not handle, a leaner FusedBatchNorm gradient (batch-norm-gradient.ts),
 *   LosslineAdamStep as one native pass, LosslineBatchNormTraining with its gradient kernel
 *   (batch-norm-training.ts: batch norm with the batch's statistics, forward and backward in two passes each),
 *   LosslineReluGrad and LosslineSigmoidGrad with the gradients that use them (activation-gradients.ts), and
 *   Mean and Sum gradients that tile dy instead of multiplying it by ones (reduction-gradients.ts); and
 *   the reuse of disposed tensors' arrays for these kernels' outputs (buffer-pool.ts), at most
 *   `tensorPoolMiB` of them waiting (0: none).
 * - "webgpu": LosslineAdamStep as three shaders (webgpu-adam.ts), LosslineBatchNormTraining and its
 *   gradient kernel and LosslineMovingAverage in shaders of our own (webgpu-batch-norm.ts), and the Mean and Sum gradients of
 *   reduction-gradients.ts (tfjs's fill a tensor of ones on the host and upload it, for every batch
 *   norm of every step).
 * - any other backend: none.
 * Idempotent: a second call with the same arguments registers nothing new and returns the same names.
 * Call it after the backend's package is imported (its stock kernels are wrapped), before training.
 */
export function registerTrainingKernels(backendName: string, options: { oneDnn?: OneDnnAddon; tensorPoolMiB?: number } = {}): string[] {
  if (backendName === "cpu" && options.oneDnn) {
    const native = Object.entries(oneDnnKernels(options.oneDnn));
    for (const [kernelName, kernelFunc] of native) install(kernelName, backendName, withFallback(kernelFunc, requireStock(kernelName, backendName)), true);
    const own = {
      [ADAM_STEP_KERNEL]: adamStepKernel(options.oneDnn),
      ...batchNormTrainingKernels(options.oneDnn),
      ...activationGradKernels(options.oneDnn),
    };
    for (const [kernelName, kernelFunc] of Object.entries(own)) install(kernelName, backendName, kernelFunc, true);
    registerBatchNormGradient(backendName);
    registerBatchNormTrainingGradient();
    registerActivationGradients(backendName);
    registerReductionGradients(backendName);
    installBufferPool(tf.engine().findBackend(backendName), options.tensorPoolMiB ?? DEFAULT_TENSOR_POOL_MIB);
    return [...native.map(([kernelName]) => kernelName), ...Object.keys(own)];
  }
  if (backendName === "webgpu") {
    // The scratch Adam in three shaders, batch norm in training and the moving statistics' update in our
    // shaders, and the Mean and Sum gradients without a host-filled tensor of ones.
    const kernels = { [ADAM_STEP_KERNEL]: webGpuAdamStepKernel(), ...webGpuBatchNormKernels() };
    for (const [kernelName, kernelFunc] of Object.entries(kernels)) install(kernelName, backendName, kernelFunc);
    registerBatchNormTrainingGradient();
    registerReductionGradients(backendName);
    return Object.keys(kernels);
  }
  if (backendName !== "wasm" && backendName !== "cpu") return [];
  const stockMatMul = requireStock("BatchMatMul", backendName);
  const conv: Record<string, AnyKernel> = {
    Conv2DBackpropFilter: ({ inputs, backend, attrs }) =>
      conv2dBackpropFilter(createKernelHost(backend, backendName, stockMatMul as unknown as tf.KernelFunc), inputs.x!, inputs.dy!, attrs as unknown as ConvAttrs & { filterShape: number[] }),
    Conv2DBackpropInput: ({ inputs, backend, attrs }) =>
      conv2dBackpropInput(createKernelHost(backend, backendName, stockMatMul as unknown as tf.KernelFunc), inputs.dy!, inputs.filter!, attrs as unknown as ConvAttrs & { inputShape: number[] }),
  };
  const kernels: Record<string, AnyKernel> =
    backendName === "wasm"
      ? {
          ...conv,
          BatchMatMul: untransposedMatMul(stockMatMul as unknown as MatMulKernel, backendName) as unknown as AnyKernel,
          _FusedMatMul: batchSafeFusedMatMul(
            untransposedMatMul(requireStock("_FusedMatMul", backendName) as unknown as MatMulKernel, backendName),
            untransposedMatMul(stockMatMul as unknown as MatMulKernel, backendName),
            backendName,
          ) as unknown as AnyKernel,
          Tile: blockTile(requireStock("Tile", backendName) as unknown as Parameters<typeof blockTile>[0]) as unknown as AnyKernel,
        }
      : { Conv2DBackpropFilter: conv.Conv2DBackpropFilter!, [ADAM_STEP_KERNEL]: adamStepKernel() };
  for (const [kernelName, kernelFunc] of Object.entries(kernels)) install(kernelName, backendName, kernelFunc);
  return Object.keys(kernels);
}

/**
 * Our Conv2DBackpropInput on any backend, even where it is not registered (tests and benches compare
 * it against the stock kernel).
 */
export function trainingConv2dBackpropInput(backendName: string): tf.KernelFunc {
  const stockMatMul = requireStock("BatchMatMul", backendName) as unknown as tf.KernelFunc;
  const kernelFunc: AnyKernel = ({ inputs, backend, attrs }) =>
    conv2dBackpropInput(createKernelHost(backend, backendName, stockMatMul), inputs.dy!, inputs.filter!, attrs as unknown as ConvAttrs & { inputShape: number[] });
  return kernelFunc as unknown as tf.KernelFunc;
}

/**
 * The backend's own kernel for `kernelName`, even after ours replaced it (tests and benches compare
 * against it); undefined where the backend has none (Conv2DBackpropFilter on wasm).
 */
export function stockKernel(kernelName: string, backendName: string): tf.KernelFunc | undefined {
  const registered = tf.getKernel(kernelName, backendName)?.kernelFunc as Tagged | undefined;
  if (registered === undefined || !(LOSSLINE_KERNEL in registered)) return registered;
  return registered[LOSSLINE_KERNEL] ?? undefined;
}

function requireStock(kernelName: string, backendName: string): AnyKernel {
  const kernelFunc = stockKernel(kernelName, backendName);
  if (!kernelFunc) throw new Error(`registerTrainingKernels: ${backendName} has no ${kernelName} kernel; import its backend package first`);
  return kernelFunc as unknown as AnyKernel;
}

/**
 * Registers `kernelFunc` in place of any stock kernel, remembering the stock one on the function itself.
 * Ours stays where it is already registered, except that oneDNN kernels replace the plain-JS ones.
 */
function install(kernelName: string, backendName: string, kernelFunc: AnyKernel, replaceOurs = false): void {
  const existing = tf.getKernel(kernelName, backendName)?.kernelFunc as Tagged | undefined;
  const ours = existing !== undefined && LOSSLINE_KERNEL in existing;
  if (ours && (!replaceOurs || ONEDNN_KERNEL in existing)) return;
  if (existing) tf.unregisterKernel(kernelName, backendName);
  const stock = ours ? existing[LOSSLINE_KERNEL] : existing;
  const tagged: Tagged = Object.assign(kernelFunc as unknown as tf.KernelFunc, { [LOSSLINE_KERNEL]: stock ?? null }, replaceOurs ? { [ONEDNN_KERNEL]: true as const } : {});
  tf.registerKernel({ kernelName, backendName, kernelFunc: tagged });
}
