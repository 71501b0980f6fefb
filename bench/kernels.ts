// The heavy kernels of a convnet training step, stock tfjs against Lossline's own kernels
// (src/training/kernels; "onednn": the cpu backend's kernels through the oneDNN addon, when built), on
// the shapes of LeNet-BN (batch 256, 28x28) and ResNet-18's stages (batch 32, 96x96), then samples/s
// of one LeNet-BN training step per backend and its top kernels, then (--networks) each network's
// training step through the worker's trainStep on onednn and wasm with its per-kernel profile.
// Usage: npx tsx bench/kernels.ts [repeats=3] [--no-stock-step] [--stock-all] [--step-only] [--networks lenet,resnet18,densenet]
//   one stock-cpu LeNet-BN step takes ~20 s (--no-stock-step skips it); the stock cpu
//   Conv2DBackpropFilter takes 10-170 s per ResNet shape, so it runs on the LeNet shapes and
//   the 1x1 shape only unless --stock-all is given.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerTrainingKernels, stockKernel, trainingConv2dBackpropInput } from "../src/training/kernels/register-training-kernels.js";
import { DEFAULT_ONEDNN_ADDON_PATH, loadOneDnnAddon } from "../src/training/kernels/onednn-addon.js";
import { oneDnnKernels } from "../src/training/kernels/onednn-kernels.js";
import { withFallback } from "../src/training/kernels/onednn-host.js";
import { spawnSync } from "node:child_process";
import { initBackend } from "../src/training/backend.js";
import { kernelTimes, NETWORKS, randomDataStep } from "./convnet-step.js";

const repeats = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 3);
const stockStep = !process.argv.includes("--no-stock-step");
const stockAll = process.argv.includes("--stock-all");
const stepOnly = process.argv.includes("--step-only");
const networks = process.argv.includes("--networks") ? process.argv[process.argv.indexOf("--networks") + 1]!.split(",") : [];
const oneDnn = loadOneDnnAddon(DEFAULT_ONEDNN_ADDON_PATH, (await import("node:os")).availableParallelism());
if (!oneDnn.addon) console.log(`oneDNN addon not loaded (${oneDnn.error}): no onednn column`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** One convolution of a training step: x [batch, h, w, inC] * filter [k, k, inC, outC]. */
interface ConvCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number;
  pad: "same" | "valid";
}
const convCases: ConvCase[] = [
  { name: "lenet conv1 5x5 1->6 28x28 b256", x: [256, 28, 28, 1], filter: [5, 5, 1, 6], strides: 1, pad: "same" },
  { name: "lenet conv2 5x5 6->16 14x14 b256", x: [256, 14, 14, 6], filter: [5, 5, 6, 16], strides: 1, pad: "valid" },
  { name: "resnet stem 7x7/2 3->64 96x96 b32", x: [32, 96, 96, 3], filter: [7, 7, 3, 64], strides: 2, pad: "same" },
  { name: "resnet s1 3x3 64->64 24x24 b32", x: [32, 24, 24, 64], filter: [3, 3, 64, 64], strides: 1, pad: "same" },
  { name: "resnet s2 3x3/2 64->128 24x24 b32", x: [32, 24, 24, 64], filter: [3, 3, 64, 128], strides: 2, pad: "same" },
  { name: "resnet s2 1x1/2 64->128 24x24 b32", x: [32, 24, 24, 64], filter: [1, 1, 64, 128], strides: 2, pad: "same" },
  { name: "resnet s2 3x3 128->128 12x12 b32", x: [32, 12, 12, 128], filter: [3, 3, 128, 128], strides: 1, pad: "same" },
  { name: "resnet s3 3x3 256->256 6x6 b32", x: [32, 6, 6, 256], filter: [3, 3, 256, 256], strides: 1, pad: "same" },
  { name: "resnet s4 3x3 512->512 3x3 b32", x: [32, 3, 3, 512], filter: [3, 3, 512, 512], strides: 1, pad: "same" },
];

type Variant = { label: string; backend: "cpu" | "wasm"; kernel: (name: string) => tf.KernelFunc | undefined };
const variants: Variant[] = [
  { label: "cpu stock", backend: "cpu", kernel: (name) => stockKernel(name, "cpu") },
  { label: "cpu ours", backend: "cpu", kernel: (name) => (name === "Conv2DBackpropInput" ? trainingConv2dBackpropInput("cpu") : tf.getKernel(name, "cpu")?.kernelFunc) },
  { label: "wasm stock", backend: "wasm", kernel: (name) => stockKernel(name, "wasm") },
  { label: "wasm ours", backend: "wasm", kernel: (name) => tf.getKernel(name, "wasm")?.kernelFunc },
];
if (oneDnn.addon) {
  const native = oneDnnKernels(oneDnn.addon);
  const kernel = (name: string) => withFallback(native[name]!, stockKernel(name, "cpu") as never) as unknown as tf.KernelFunc;
  variants.push({ label: "onednn", backend: "cpu", kernel });
}

/** Milliseconds of one call of `kernelFunc` (median of `repeats`, one call when it is slower than 2 s). */
function timeKernel(kernelFunc: tf.KernelFunc, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): number {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    const out = kernelFunc({ inputs, backend: tf.backend(), attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
    tf.backend().readSync(out.dataId);
    times.push(performance.now() - start);
    tf.backend().disposeData(out.dataId);
    if (times[0]! > 2000) break;
  }
  return median(times);
}

function convKernelTimes(convCase: ConvCase, variant: Variant): Record<string, number | undefined> {
  const { x: xShape, filter: filterShape, strides, pad } = convCase;
  return tf.tidy(() => {
    const x = tf.randomNormal(xShape) as tf.Tensor4D;
    const filter = tf.randomNormal(filterShape) as tf.Tensor4D;
    const dy = tf.conv2d(x, filter, strides, pad);
    const common = { strides, pad, dataFormat: "NHWC", dimRoundingMode: undefined };
    const conv2d = variant.kernel("Conv2D");
    const slowStock = variant.label === "cpu stock" && !stockAll && !convCase.name.startsWith("lenet") && convCase.filter[0] > 1;
    const filterGrad = slowStock ? undefined : variant.kernel("Conv2DBackpropFilter");
    const inputGrad = variant.kernel("Conv2DBackpropInput");
    return {
      Conv2D: conv2d && timeKernel(conv2d, { x, filter }, { ...common, dilations: 1 }),
      Conv2DBackpropFilter: filterGrad && timeKernel(filterGrad, { x, dy }, { ...common, filterShape }),
      Conv2DBackpropInput: inputGrad && timeKernel(inputGrad, { dy, filter }, { ...common, inputShape: xShape }),
    };
  });
}

async function kernelTable(): Promise<void> {
  console.log(`\nper-kernel ms (median of ${repeats}); ratio = cpu stock / this variant; "-": missing on wasm stock, skipped on cpu stock`);
  console.log(`${"shape".padEnd(36)}${"kernel".padEnd(22)}${variants.map((v) => v.label.padStart(12)).join("")}   ratios (${variants.slice(1).map((v) => v.label).join(", ")})`);
  for (const convCase of convCases) {
    const rows: Record<string, Record<string, number | undefined>> = {};
    for (const variant of variants) {
      await tf.setBackend(variant.backend);
      rows[variant.label] = convKernelTimes(convCase, variant);
    }
    for (const kernelName of ["Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput"]) {
      const times = variants.map((v) => rows[v.label]![kernelName]);
      const base = times[0];
      const cells = times.map((t) => (t === undefined ? "-" : t.toFixed(1)).padStart(12)).join("");
      const ratios = times.slice(1).map((t) => (t === undefined || base === undefined ? "-" : `${(base / t).toFixed(1)}x`)).join(" ");
      console.log(`${convCase.name.padEnd(36)}${kernelName.padEnd(22)}${cells}   ${ratios}`);
    }
  }
}

/** LeNet with batch norm: conv6@5x5, BN, sigmoid, maxpool, conv16@5x5, BN, sigmoid, maxpool, dense 120/84/10. */
function buildLeNetBn(): tf.LayersModel {
  const input = tf.input({ shape: [28, 28, 1] });
  let y = tf.layers.conv2d({ filters: 6, kernelSize: 5, padding: "same" }).apply(input) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor;
  y = tf.layers.activation({ activation: "sigmoid" }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.maxPooling2d({ poolSize: 2 }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.conv2d({ filters: 16, kernelSize: 5 }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor;
  y = tf.layers.activation({ activation: "sigmoid" }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.maxPooling2d({ poolSize: 2 }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.flatten().apply(y) as tf.SymbolicTensor;
  for (const units of [120, 84]) {
    y = tf.layers.dense({ units }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor;
    y = tf.layers.activation({ activation: "sigmoid" }).apply(y) as tf.SymbolicTensor;
  }
  y = tf.layers.dense({ units: 10 }).apply(y) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: y });
}

/** Samples/s of LeNet-BN training steps (Adam 0.001, batch 256) on the current backend, and its top kernels. */
async function leNetStep(label: string, steps: number): Promise<void> {
  const batch = 256;
  const model = buildLeNetBn();
  const optimizer = tf.train.adam(0.001);
  const images = tf.randomNormal([batch, 28, 28, 1]);
  const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, "int32") as tf.Tensor1D, 10);
  const step = () => optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.apply(images, { training: true }) as tf.Tensor), false);
  step(); // warm-up: builds the optimizer's slots
  const profile = await tf.profile(() => {
    step();
  });
  const start = performance.now();
  for (let i = 0; i < steps; i++) step();
  const seconds = (performance.now() - start) / 1000;
  const { byKernel, total } = kernelTimes(profile);
  const top = byKernel.slice(0, 6);
  console.log(`${label.padEnd(16)}${((batch * steps) / seconds).toFixed(1).padStart(10)} samples/s   top kernels of one step (${total.toFixed(0)} ms): ` + top.map(([name, ms]) => `${name} ${((100 * ms) / total).toFixed(0)}%`).join(", "));
  tf.dispose([images, labels]);
  optimizer.dispose();
  model.dispose();
}


/** Prints, per network and engine (onednn, wasm), samples/s and the top kernels of one step. */
async function profileNetworks(names: string[]): Promise<void> {
  console.log(`\ntraining steps through trainStep (Adam 0.001), per network and engine, top kernels of one profiled step`);
  for (const name of names) {
    for (const engine of ["onednn", "wasm"]) {
      const run = spawnSync(process.execPath, ["--import", "tsx", "bench/kernels.ts", "--profile-child", engine, name], { encoding: "utf8" });
      console.log(run.status === 0 ? run.stdout.trimEnd() : `${name} ${engine}: failed: ${run.stderr.trim().split("\n").find((l) => l.includes("Error")) ?? run.status}`);
    }
  }
}

async function profileOne(engine: "onednn" | "wasm", name: string): Promise<void> {
  const network = NETWORKS.find((candidate) => candidate.name === name)!;
  await initBackend(engine, () => undefined);
  const { step } = randomDataStep(network);
  await step(); // warm-up: primitives and optimizer slots
  const profile = await tf.profile(async () => void (await step()));
  const started = performance.now();
  const steps = 3;
  for (let i = 0; i < steps; i++) await step();
  const rate = (network.batch * steps) / ((performance.now() - started) / 1000);
  const { byKernel, total } = kernelTimes(profile);
  const top = byKernel.slice(0, 8);
  console.log(`${name.padEnd(9)} ${engine.padEnd(7)} ${rate.toFixed(1).padStart(8)} samples/s   one step ${total.toFixed(0)} ms: ${top.map(([kernel, ms]) => `${kernel} ${ms.toFixed(0)}`).join(", ")}`);
}

if (process.argv.includes("--profile-child")) {
  const [engine, name] = process.argv.slice(process.argv.indexOf("--profile-child") + 1);
  await profileOne(engine as "onednn" | "wasm", name!);
  process.exit(0);
}

await tf.setBackend("cpu");
(tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
console.log(`registered on cpu: ${registerTrainingKernels("cpu").join(", ")}`);
await tf.setBackend("wasm");
console.log(`registered on wasm: ${registerTrainingKernels("wasm").join(", ")}`);
if (!stepOnly) await kernelTable();

console.log(`\nLeNet-BN training step, batch 256, Adam 0.001`);
await tf.setBackend("cpu");
if (stockStep) {
  const ours = ["Conv2DBackpropFilter"].map((name) => ({ kernel: tf.getKernel(name, "cpu")!, stock: stockKernel(name, "cpu")! }));
  for (const { kernel, stock } of ours) {
    tf.unregisterKernel(kernel.kernelName, "cpu");
    tf.registerKernel({ ...kernel, kernelFunc: stock });
  }
  await leNetStep("cpu stock", 1);
  for (const { kernel } of ours) {
    tf.unregisterKernel(kernel.kernelName, "cpu");
    tf.registerKernel(kernel);
  }
}
await leNetStep("cpu+kernels", 3);
await tf.setBackend("wasm");
await leNetStep("wasm+kernels", 10);
if (oneDnn.addon) {
  await tf.setBackend("cpu");
  registerTrainingKernels("cpu", { oneDnn: oneDnn.addon });
  await leNetStep("cpu+onednn", 10);
}
if (networks.length > 0) await profileNetworks(networks);
