import * as tf from "@tensorflow/tfjs";
import { ADAM_STEP_KERNEL, adamHyperparameters, type AdamStepAttrs } from "./fused-adam.js";
import type { AnyKernel } from "./onednn-host.js";
import { float, flatProgram, int, type WebGpuBackendLike } from "./webgpu-program.js";

/**
 * The scratch Adam's update on the webgpu backend as three shaders per parameter (the new v, s and
 * param; a tfjs program has one output) instead of 14 elementwise kernels and ten uploaded scalars.
 * On a GPU most of a training step's time is the host's per-kernel dispatch (~0.15 ms a kernel on an
 * H200 host), and the composed update was about a third of a ResNet-18 step's kernels. The formula
 * and its float32 constants are the cpu kernel's (fused-adam.ts); WGSL may contract a multiply and an
 * add, so values agree with the composed ops to float32 rounding, not bit for bit.
 */

/**
 * Each output's inputs and expression over their storage arrays (theta: the parameter, moment1: v,
 * moment2: s), each binding only the inputs it reads (see flatProgram).
 */
const NEW_V = "(moment1[index] * uniforms.beta1 + grad[index] * uniforms.oneMinusBeta1)";
const NEW_S = "(moment2[index] * uniforms.beta2 + (grad[index] * grad[index]) * uniforms.oneMinusBeta2)";
const OUTPUTS = {
  param: { inputs: ["theta", "grad", "moment1", "moment2"], expression: `theta[index] - ((${NEW_V} / uniforms.correction1) * uniforms.lr) / (sqrt(${NEW_S} / uniforms.correction2) + uniforms.epsilon)` },
  v: { inputs: ["moment1", "grad"], expression: NEW_V },
  s: { inputs: ["moment2", "grad"], expression: NEW_S },
} as const;

const UNIFORMS = "beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32, correction1 : f32, correction2 : f32, lr : f32, epsilon : f32,";

/** One output of the update: an elementwise program over the inputs it reads. */
function adamProgram(output: keyof typeof OUTPUTS, shape: number[]) {
  return flatProgram(`adam_${output}`, OUTPUTS[output].inputs, shape, tf.util.sizeFromShape(shape), UNIFORMS, `setOutputAtIndex(index, ${OUTPUTS[output].expression});`);
}

/** The webgpu kernel: outputs the new [param, v, s]. */
export function webGpuAdamStepKernel(): AnyKernel {
  return ({ inputs, backend, attrs }) => {
    const { param, grad, v, s } = inputs as Record<"param" | "grad" | "v" | "s", tf.TensorInfo>;
    if ([param, grad, v, s].some((info) => info?.dtype !== "float32" || tf.util.sizeFromShape(info.shape) !== tf.util.sizeFromShape(param.shape))) {
      throw new Error(`${ADAM_STEP_KERNEL}: param, grad, v and s must be float32 tensors of one size`);
    }
    // The thread count, then one entry per field of UNIFORMS, in its order.
    const uniforms = [int(tf.util.sizeFromShape(param.shape)), ...Array.from(adamHyperparameters(attrs as unknown as AdamStepAttrs), (value) => float(Math.fround(value)))];
    const gpu = backend as unknown as WebGpuBackendLike;
    const byName: Record<string, tf.TensorInfo> = { theta: param, grad, moment1: v, moment2: s };
    return (["param", "v", "s"] as const).map((output) =>
      gpu.runWebGPUProgram(adamProgram(output, param.shape), OUTPUTS[output].inputs.map((name) => byName[name]!), "float32", uniforms),
    );
  };
}
