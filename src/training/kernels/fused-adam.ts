import * as tf from "@tensorflow/tfjs";
import type { OneDnnAddon } from "./onednn-addon.js";
import { type AnyKernel, cpuOutput, cpuValues, uninitialized } from "./onednn-host.js";

/**
 * Lossline's own kernel for one Adam update of one parameter, registered on the cpu backend (see
 * register-training-kernels.ts). Inputs param, grad, v, s (all float32, one shape); outputs the new
 * [param, v, s] as fresh tensors (the inputs are never written, so a buffer shared with another tensor is safe).
 */
export const ADAM_STEP_KERNEL = "LosslineAdamStep";

/** The update's constants: `step` counts updates from 1 (the bias correction). */
export interface AdamStepAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  lr: number;
  step: number;
}

/**
 * [beta1, 1 - beta1, beta2, 1 - beta2, 1 - beta1^step, 1 - beta2^step, lr, epsilon], in double as the
 * composed ops compute them before they become float32 scalars.
 */
export function adamHyperparameters({ beta1, beta2, epsilon, lr, step }: AdamStepAttrs): Float64Array {
  return Float64Array.of(beta1, 1 - beta1, beta2, 1 - beta2, 1 - beta1 ** step, 1 - beta2 ** step, lr, epsilon);
}

/**
 * vOut = v * beta1 + g * (1 - beta1); sOut = s * beta2 + g^2 * (1 - beta2);
 * paramOut = param - (vOut / (1 - beta1^step)) * lr / (sqrt(sOut / (1 - beta2^step)) + epsilon),
 * every constant and every operation rounded to float32 in this order, as the composed tfjs ops do.
 */
function adamStepLoop(param: Float32Array, grad: Float32Array, v: Float32Array, s: Float32Array, outputs: Float32Array[], hyper: Float64Array): void {
  const [paramOut, vOut, sOut] = outputs as [Float32Array, Float32Array, Float32Array];
  const f = Math.fround;
  const [beta1, oneMinusBeta1, beta2, oneMinusBeta2, correction1, correction2, lr, epsilon] = Array.from(hyper, f) as number[] as [
    number, number, number, number, number, number, number, number,
  ];
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]!;
    const vNew = f(f(v[i]! * beta1) + f(g * oneMinusBeta1));
    const sNew = f(f(s[i]! * beta2) + f(f(g * g) * oneMinusBeta2));
    vOut[i] = vNew;
    sOut[i] = sNew;
    const update = f(f(f(vNew / correction1) * lr) / f(f(Math.sqrt(f(sNew / correction2))) + epsilon));
    paramOut[i] = param[i]! - update;
  }
}

/** The cpu kernel: the addon's one native pass where it is loaded, else the same loop in JavaScript. */
export function adamStepKernel(addon?: OneDnnAddon): AnyKernel {
  return ({ inputs, backend, attrs }) => {
    const [param, grad, v, s] = [inputs.param, inputs.grad, inputs.v, inputs.s].map((info) => cpuValues(backend, info));
    if (!param || !grad || !v || !s || [grad, v, s].some((values) => values.length !== param.length)) {
      throw new Error(`${ADAM_STEP_KERNEL}: param, grad, v and s must be float32 cpu tensors of one shape`);
    }
    const outputs = [0, 1, 2].map(() => uninitialized(param.length));
    const hyper = adamHyperparameters(attrs as unknown as AdamStepAttrs);
    if (addon) addon.adamStep(param, grad, v, s, outputs[0]!, outputs[1]!, outputs[2]!, hyper);
    else adamStepLoop(param, grad, v, s, outputs, hyper);
    return outputs.map((values) => cpuOutput(backend, inputs.param!.shape, values));
  };
}

/**
 * One fused Adam update on the active backend: the new [param, v, s], or undefined where the kernel is
 * not registered there (or the tensors are not float32) and the caller composes the update from ops.
 */
export function fusedAdamStep(param: tf.Tensor, grad: tf.Tensor, v: tf.Tensor, s: tf.Tensor, attrs: AdamStepAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] | undefined {
  if (!tf.getKernel(ADAM_STEP_KERNEL, tf.getBackend())) return undefined;
  if ([param, grad, v, s].some((tensor) => tensor.dtype !== "float32" || !tf.util.arraysEqual(tensor.shape, param.shape))) return undefined;
  const outputs = tf.engine().runKernel(ADAM_STEP_KERNEL, { param, grad, v, s }, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
  return outputs as [tf.Tensor, tf.Tensor, tf.Tensor];
}
