import * as tf from "@tensorflow/tfjs";

/**
 * Our replacements for tfjs's gradients of some kernels. Gradients are global in tfjs while our kernels
 * are per backend, so each replacement runs only on the backends it was registered for, and falls back
 * to tfjs's own gradient elsewhere or where it returns undefined (inputs it does not handle).
 */

/** Holds, on our gradient config, tfjs's original (tests and a second registration find it there). */
const ORIGINAL = Symbol.for("lossline.replacedGradient");
type Tagged = tf.GradConfig & { [ORIGINAL]?: tf.GradConfig };

/** Our gradient for some inputs: the gradient map, or undefined for tfjs's own. */
export type GradientOverride = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => ReturnType<tf.GradConfig["gradFunc"]> | undefined;

const backendsByKernel = new Map<string, Set<string>>();

/** tfjs's own gradient of `kernelName`, even after ours replaced it. */
export function stockGradient(kernelName: string): tf.GradConfig | undefined {
  const registered = tf.getGradient(kernelName) as Tagged | undefined;
  return registered?.[ORIGINAL] ?? registered;
}

/**
 * Makes `override(original)` the gradient of `kernelName` on `backendName` (and on every backend a later
 * call adds: the override is made once per kernel). Does nothing where tfjs has no gradient for it.
 */
export function replaceGradient(kernelName: string, backendName: string, override: (original: tf.GradConfig) => GradientOverride): void {
  const registered = backendsByKernel.get(kernelName);
  if (registered) {
    registered.add(backendName);
    return;
  }
  const original = stockGradient(kernelName);
  if (!original) return;
  const backends = new Set([backendName]);
  backendsByKernel.set(kernelName, backends);
  const ours = override(original);
  const gradFunc: tf.GradConfig["gradFunc"] = (dy, saved, attrs) =>
    (backends.has(tf.getBackend()) ? ours(dy, saved, attrs) : undefined) ?? original.gradFunc(dy, saved, attrs);
  tf.registerGradient(Object.assign({ ...original, gradFunc }, { [ORIGINAL]: original }));
}
