import * as tf from "@tensorflow/tfjs";
import type { OneDnnAddon } from "./onednn-addon.js";
import { binary } from "./onednn-elementwise-kernels.js";
import type { AnyKernel } from "./onednn-host.js";

/** Lossline's kernel for ReLU's gradient: inputs a (dy) and b (x) of one shape; a * step(b) in one pass. */
export const RELU_GRAD_KERNEL = "LosslineReluGrad";

/** The addon's binary op code for a * step(b) (native/elementwise.cc). */
const RELU_GRAD_OP = 7;

/** Holds, on our gradient config, the original it replaced (a second registration keeps it). */
const LOSSLINE_GRADIENT = Symbol.for("lossline.reluGradient");
type Tagged = tf.GradConfig & { [LOSSLINE_GRADIENT]?: tf.GradConfig };

/** The kernel on the cpu backend, through the addon's binary loop (the gradient below calls it on float32 operands of one shape only). */
export function reluGradKernel(addon: OneDnnAddon): AnyKernel {
  const native = binary(addon, RELU_GRAD_OP);
  return (args) => {
    const out = native(args);
    if (!out) throw new Error(`${RELU_GRAD_KERNEL}: float32 cpu tensors of one non-empty shape only`);
    return out;
  };
}

/**
 * Replaces Relu's gradient, dy * step(x) (tfjs: a Step and a Multiply, two passes over the activations),
 * with the one-pass kernel where the active backend has it; elsewhere tfjs's own gradient runs. The same
 * float32 values: dy times exactly 1, 0 or NaN.
 */
export function registerReluGradient(): void {
  const original = tf.getGradient("Relu") as Tagged | undefined;
  if (!original || original[LOSSLINE_GRADIENT]) return;
  const gradFunc: tf.GradConfig["gradFunc"] = (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    const dyTensor = dy as tf.Tensor;
    if (!tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend()) || x!.size === 0 || x!.dtype !== "float32" || dyTensor.dtype !== "float32" || !tf.util.arraysEqual(x!.shape, dyTensor.shape)) {
      return original.gradFunc(dy, saved, attrs);
    }
    return { x: () => tf.engine().runKernel(RELU_GRAD_KERNEL, { a: dyTensor, b: x! }) as tf.Tensor };
  };
  tf.registerGradient(Object.assign({ ...original, gradFunc }, { [LOSSLINE_GRADIENT]: original }));
}
