import * as tf from "@tensorflow/tfjs";
import { initBackend } from "/work/main/src/training/backend.js";
await initBackend("onednn", () => {});
const shape = [32, 24, 24, 64];
const x = tf.randomNormal(shape), dy = tf.randomNormal(shape);
const pf = () => process.resourceUsage().minorPageFault;
for (const [name, fn] of [
  ["ReluGrad", () => tf.engine().runKernel("LosslineReluGrad", { a: dy, b: x }) as tf.Tensor],
  ["Relu", () => tf.relu(x)],
  ["Add", () => tf.add(x, dy)],
  ["Mul", () => tf.mul(x, dy)],
] as const) {
  for (let i = 0; i < 5; i++) fn().dispose();
  const f0 = pf(); const t = performance.now();
  const n = 50;
  for (let i = 0; i < n; i++) fn().dispose();
  const ms = (performance.now() - t) / n;
  console.log(name, ms.toFixed(3), "ms", "faults/op", ((pf() - f0) / n).toFixed(0));
}
