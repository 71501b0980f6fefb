import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { optimizerSchema } from "../src/contracts/job-spec.js";
import { modelSpecSchema, type ModelSpec } from "../src/contracts/models.js";
import { createModel } from "../src/training/models/create-model.js";
import { createOptimizer } from "../src/training/optimizers/create-optimizer.js";
import { trainStep } from "../src/training/train-classification.js";

/** The networks the benches time, at the batch and image size of the goals. */
export const NETWORKS = [
  { name: "lenet", model: { name: "lenet", batchNorm: "scratch" }, batch: 256, size: 28 },
  { name: "resnet18", model: { name: "resnet18" }, batch: 32, size: 96 },
  { name: "densenet", model: { name: "densenet" }, batch: 32, size: 96 },
] as const;
export type Network = (typeof NETWORKS)[number];

/**
 * Kernel milliseconds of a tf.profile, by kernel name, most expensive first. Fused ops appear both
 * as the op ("fusedConv2d__op") and as their kernel: only kernels are counted.
 */
export function kernelTimes(profile: Awaited<ReturnType<typeof tf.profile>>): { byKernel: [string, number][]; total: number } {
  const times = new Map<string, number>();
  for (const kernel of profile.kernels) {
    if (!kernel.name.endsWith("__op")) times.set(kernel.name, (times.get(kernel.name) ?? 0) + Number(kernel.kernelTimeMs));
  }
  const byKernel = [...times].sort((a, b) => b[1] - a[1]);
  return { byKernel, total: byKernel.reduce((sum, [, ms]) => sum + ms, 0) };
}

/**
 * A network ready for timed training steps, as the worker runs them (its trainStep, Adam 0.001), on
 * one fixed batch of random images [batch, size, size, 1] and labels: `step()` runs one.
 */
export function randomDataStep(network: { model: unknown; batch: number; size: number }) {
  const model = createModel(modelSpecSchema.parse(network.model) as ModelSpec, { size: network.size, seed: 1 });
  const params = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const optimizer = createOptimizer(optimizerSchema.parse({ name: "adam", lr: 0.001 }));
  const batch = tf.tidy(() => ({
    images: tf.randomUniform([network.batch, network.size, network.size, 1], 0, 1, "float32", 1) as tf.Tensor4D,
    labels: tf.randomUniform([network.batch], 0, 10, "int32", 2) as tf.Tensor1D,
  }));
  return { model, optimizer, batch, step: () => trainStep(model, params, optimizer, 0.001, batch) };
}

/** A bench's `--flag value` option (the last one given wins). */
export function option(flag: string): string | undefined {
  const index = process.argv.lastIndexOf(flag);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/**
 * PyTorch's training samples per second for `network` (bench/pytorch_convnets.py throughput, the same
 * model, batch, size and Adam), or why there is none: its last stderr line.
 */
export function pytorchThroughput(
  script: string,
  network: { name: string; batch: number; size: number },
  run: { steps: number; warmup?: number; device?: string; threads?: number; python?: string },
): { samplesPerSecond: number } | { error: string } {
  const args = [script, "throughput", "--model", network.name, "--batch", String(network.batch), "--size", String(network.size), "--steps", String(run.steps), "--warmup", String(run.warmup ?? 1)];
  if (run.device) args.push("--device", run.device);
  if (run.threads) args.push("--threads", String(run.threads));
  const result = spawnSync(run.python ?? process.env.PYTHON ?? "python3", args, { encoding: "utf8" });
  const line = result.stdout?.trim().split("\n").at(-1);
  if (result.status !== 0 || !line?.startsWith("{")) return { error: (result.stderr?.trim().split("\n").at(-1) ?? `exit ${result.status}`).slice(0, 160) };
  return { samplesPerSecond: (JSON.parse(line) as { samplesPerSecond: number }).samplesPerSecond };
}
