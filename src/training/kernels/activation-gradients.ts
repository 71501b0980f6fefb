import * as tf from "@tensorflow/tfjs";
import type { OneDnnAddon } from "./onednn-addon.js";
import { ACTIVATION_GRAD_OPS, binary } from "./onednn-elementwise-kernels.js";
import { replaceGradient } from "./gradient-overrides.js";
import type { AnyKernel } from "./onednn-host.js";

/**
 * Lossline's one-pass kernels for activation gradients, by the activation's kernel name: inputs a (dy) and
 * b (what tfjs's gradient saves: Relu's input x, Sigmoid's output y) of one shape, and the addon's binary
 * op code (native/elementwise.cc) computing, in tfjs's float32 order:
 * Relu: a * step(b) (tfjs: mul(dy, step(x))); Sigmoid: a * (b * (1 - b)) (tfjs: mul(dy, mul(y, sub(1, y)))).
 */
const ACTIVATION_GRADIENTS = {
  Relu: { kernelName: "LosslineReluGrad", op: ACTIVATION_GRAD_OPS.ReluGrad },
  Sigmoid: { kernelName: "LosslineSigmoidGrad", op: ACTIVATION_GRAD_OPS.SigmoidGrad },
} as const;

/** The kernels for the cpu backend, through the addon's binary loop (the gradients below call them on float32 operands of one shape only). */
export function activationGradKernels(addon: OneDnnAddon): Record<string, AnyKernel> {
  return Object.fromEntries(
    Object.values(ACTIVATION_GRADIENTS).map(({ kernelName, op }) => {
      const native = binary(addon, op);
      const kernel: AnyKernel = (args) => {
        const out = native(args);
        if (!out) throw new Error(`${kernelName}: float32 cpu tensors of one non-empty shape only`);
        return out;
      };
      return [kernelName, kernel];
    }),
  );
}

/**
 * Replaces Relu's and Sigmoid's gradients (tfjs: two or three elementwise passes over the activations)
 * on `backendName`, which has the one-pass kernels above; elsewhere tfjs's own gradients run. The same
 * float32 operations in the same order, so the same values.
 */
export function registerActivationGradients(backendName: string): void {
  for (const [activation, { kernelName }] of Object.entries(ACTIVATION_GRADIENTS)) {
    replaceGradient(activation, backendName, () => (dy, saved) => {
      const [b] = saved;
      const a = dy as tf.Tensor;
      const fits = b!.size > 0 && b!.dtype === "float32" && a.dtype === "float32" && tf.util.arraysEqual(a.shape, b!.shape);
      return fits ? { x: () => tf.engine().runKernel(kernelName, { a, b: b! }) as tf.Tensor } : undefined;
    });
  }
}
