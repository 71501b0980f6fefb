import * as tf from "@tensorflow/tfjs";

/** Holds, on our gradient config, the original it replaced (a second registration keeps it). */
const LOSSLINE_GRADIENT = Symbol.for("lossline.reductionGradient");
type Tagged = tf.GradConfig & { [LOSSLINE_GRADIENT]?: tf.GradConfig };

const REDUCTIONS = ["Mean", "Sum"];

/** tfjs's own Mean and Sum gradients, even after ours replaced them (tests compare against them). */
export function stockReductionGradients(): tf.GradConfig[] {
  return REDUCTIONS.map((kernelName) => {
    const registered = tf.getGradient(kernelName) as Tagged;
    return registered[LOSSLINE_GRADIENT] ?? registered;
  });
}

/** The backends where our gradients replace tfjs's (gradients are global in tfjs, hence the check per call). */
const BACKENDS = new Set<string>();

/**
 * Replaces Mean's and Sum's gradients on `backendName`: tfjs multiplies dy by a tensor of ones of x's
 * shape and then, for Mean, divides the full result by the count; here dy (divided by the count while
 * it is still small, the same float32 quotient) is broadcast to x's shape in one copy (a block repeat
 * for reductions over leading axes, batch norm's). The same values. tfjs fills those ones with a
 * JavaScript loop: on the cpu backend a pass of its own, on webgpu an array of x's size filled on the
 * host and uploaded for every batch-norm layer of every step. Other backends and other dtypes get
 * tfjs's own gradients. Each call adds a backend.
 */
export function registerReductionGradients(backendName: string): void {
  BACKENDS.add(backendName);
  for (const kernelName of REDUCTIONS) {
    const original = tf.getGradient(kernelName) as Tagged | undefined;
    if (!original || original[LOSSLINE_GRADIENT]) continue;
    const gradFunc: tf.GradConfig["gradFunc"] = (dy, saved, attrs) => {
      const [x] = saved as tf.Tensor[];
      const dyTensor = dy as tf.Tensor;
      const backend = tf.getBackend();
      // webgpu's Tile has no shader past rank 4 (it reads back to the host, which Node cannot): tfjs's own there.
      const tiles = backend !== "webgpu" || x!.rank <= 4;
      if (!BACKENDS.has(backend) || !tiles || x!.dtype !== "float32" || dyTensor.dtype !== "float32") return original.gradFunc(dy, saved, attrs);
      const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x!.shape);
      const expandedShape = x!.shape.map((dim, axis) => (axes.includes(axis) ? 1 : dim));
      const count = axes.reduce((size, axis) => size * x!.shape[axis]!, 1);
      const expanded = tf.reshape(dyTensor, expandedShape);
      const scaled = kernelName === "Mean" ? tf.div(expanded, count) : expanded;
      return { x: () => tf.broadcastTo(scaled, x!.shape) };
    };
    tf.registerGradient(Object.assign({ ...original, gradFunc }, { [LOSSLINE_GRADIENT]: original }));
  }
}
