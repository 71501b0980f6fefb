import * as tf from "@tensorflow/tfjs";
import { replaceGradient } from "./gradient-overrides.js";

const REDUCTIONS = ["Mean", "Sum"];

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
  for (const kernelName of REDUCTIONS) {
    replaceGradient(kernelName, backendName, () => (dy, saved, attrs) => {
      const [x] = saved;
      const dyTensor = dy as tf.Tensor;
      // webgpu's Tile has no shader past rank 4 (it reads back to the host, which Node cannot): tfjs's own there.
      const tiles = tf.getBackend() !== "webgpu" || x!.rank <= 4;
      if (!tiles || x!.dtype !== "float32" || dyTensor.dtype !== "float32") return undefined;
      const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x!.shape);
      const expandedShape = x!.shape.map((dim, axis) => (axes.includes(axis) ? 1 : dim));
      const count = axes.reduce((size, axis) => size * x!.shape[axis]!, 1);
      const expanded = tf.reshape(dyTensor, expandedShape);
      const scaled = kernelName === "Mean" ? tf.div(expanded, count) : expanded;
      return { x: () => tf.broadcastTo(scaled, x!.shape) };
    });
  }
}
