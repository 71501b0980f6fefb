// The device check behind bench/gpu-check.sh: training samples per second of LeNet with scratch batch
// norm (batch 256, 28x28) and ResNet-18 (batch 32, 96x96) on the webgpu backend (Dawn on whatever
// adapter it finds), through the worker's own training step (Adam 0.001, random data), then the same
// networks in PyTorch (bench/pytorch_convnets.py throughput --device cuda when --pytorch is given),
// and the ratio. bench/gpu-pack.sh bundles this file into one .mjs so that it runs without tsx.
// Usage: node --import tsx bench/gpu-check.ts [--probe] [--seconds 10] [--only lenet,resnet18] [--pytorch bench/pytorch_convnets.py|none] [--device cuda] [--steps N] [--flags JSON] [--profile] [--stock-webgpu]
import * as tf from "@tensorflow/tfjs";
import { registerTrainingKernels } from "../src/training/kernels/register-training-kernels.js";
import { setUpWebGpu } from "../src/training/webgpu-backend.js";
import { kernelTimes, NETWORKS, option, pytorchThroughput, randomDataStep, type Network } from "./convnet-step.js";

const GPU_NETWORKS = NETWORKS.filter((network) => network.name !== "densenet");

// Options: the last one given wins, so gpu-check.sh's defaults come first.
const seconds = Number(option("--seconds") ?? 10);
/** A fixed number of timed steps instead of `seconds` (tiny runs on lavapipe). */
const fixedSteps = option("--steps") === undefined ? undefined : Number(option("--steps"));
const only = option("--only")?.split(",");
/** `--pytorch none`: no PyTorch run (variants of the webgpu side in one device call). */
const pytorchScript = option("--pytorch") === "none" ? undefined : option("--pytorch");
/** `--flags '{"WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE":100}'`: TensorFlow.js flags set before measuring. */
const flags = option("--flags");
/** `--profile`: after the timed steps, one profiled step's kernel count and top kernels by GPU time. */
const profileStep = process.argv.includes("--profile");
const device = option("--device") ?? "cuda";

/** Samples per second of `network` on the current backend: two warm-up steps (shader compilation), then `seconds` of steps. */
async function measure(network: Network) {
  const { model, optimizer, batch, step } = randomDataStep(network);
  try {
    const warmStarted = performance.now();
    const first = await step();
    const firstStepSeconds = (performance.now() - warmStarted) / 1000;
    await step();
    let steps = 0;
    let last = first;
    const started = performance.now();
    while (fixedSteps !== undefined ? steps < fixedSteps : steps < 3 || (performance.now() - started) / 1000 < seconds) {
      last = await step();
      steps++;
    }
    const elapsed = (performance.now() - started) / 1000;
    if (profileStep) await profile(network, step);
    return { samplesPerSecond: (network.batch * steps) / elapsed, steps, firstStepSeconds, firstLoss: first.loss, lastLoss: last.loss };
  } finally {
    tf.dispose([batch.images, batch.labels]);
    model.dispose();
    optimizer.dispose();
  }
}

/** One profiled step: how many kernels it runs, its wall time, and the kernels taking the most GPU time (timestamp queries). */
async function profile(network: Network, step: () => Promise<unknown>) {
  const started = performance.now();
  const info = await tf.profile(async () => {
    await step();
  });
  const wallMs = performance.now() - started;
  const { byKernel, total } = kernelTimes(info);
  const kernels = info.kernels.filter((kernel) => !kernel.name.endsWith("__op")).length;
  const top = byKernel.slice(0, 12).map(([name, ms]) => `${name} ${ms.toFixed(1)}`).join(", ");
  console.log(`GPU-CHECK profile ${network.name}: ${kernels} kernels, profiled step ${wallMs.toFixed(0)} ms wall, ${total.toFixed(1)} ms summed kernel time: ${top}`);
}

/** PyTorch's samples per second for the same network and batch, or the reason it has none. */
function pytorch(network: Network): { samplesPerSecond: number } | { error: string } {
  return pytorchThroughput(pytorchScript!, network, { steps: fixedSteps ?? Math.max(20, network.name === "lenet" ? 200 : 100), warmup: 3, device });
}

const webgpu = await setUpWebGpu({ allowFallbackAdapter: true });
if (process.argv.includes("--probe")) {
  // gpu-check.sh tries each Vulkan driver manifest with this: exit 0 only for a real GPU's adapter.
  console.log(`GPU-CHECK probe: ${"reason" in webgpu ? webgpu.reason : webgpu.versions.webgpuAdapter}`);
  process.exit("reason" in webgpu || !webgpu.gpu ? 3 : 0);
}
if ("reason" in webgpu) {
  // Still worth PyTorch's numbers: a device call is scarce.
  console.log(`GPU-CHECK no webgpu: ${webgpu.reason}`);
  for (const network of GPU_NETWORKS.filter((n) => !only || only.includes(n.name))) {
    console.log(`GPU-CHECK ${JSON.stringify({ network: network.name, batch: network.batch, size: network.size, webgpu: null, pytorch: pytorchScript ? pytorch(network) : null, device })}`);
  }
  process.exit(2);
}
if (!(await tf.setBackend("webgpu"))) throw new Error("tf.setBackend('webgpu') failed");
await tf.ready();
// The worker's additions for webgpu, as initBackend registers them (register-training-kernels.ts); --stock-webgpu: tfjs's own.
if (!process.argv.includes("--stock-webgpu")) registerTrainingKernels("webgpu");
if (flags) {
  tf.env().setFlags(JSON.parse(flags) as Parameters<ReturnType<typeof tf.env>["setFlags"]>[0]);
  console.log(`GPU-CHECK flags ${flags}`);
}
console.log(`GPU-CHECK adapter: ${webgpu.versions.webgpuAdapter}${webgpu.gpu ? "" : " (NOT a GPU: fallback adapter)"}; tfjs ${tf.version_core}, node ${process.versions.node}`);
console.log("network               | webgpu samples/s (steps, first step s, loss first->last) | PyTorch samples/s | webgpu / PyTorch");
for (const network of GPU_NETWORKS.filter((n) => !only || only.includes(n.name))) {
  const ours = await measure(network);
  const theirs = pytorchScript ? pytorch(network) : { error: "not run (no --pytorch)" };
  const label = `${network.name} b${network.batch} ${network.size}px`.padEnd(21);
  const detail = `${ours.samplesPerSecond.toFixed(1)} (${ours.steps}, ${ours.firstStepSeconds.toFixed(1)} s, ${ours.firstLoss.toFixed(3)}->${ours.lastLoss.toFixed(3)})`;
  const ratio = "error" in theirs ? theirs.error : `${(ours.samplesPerSecond / theirs.samplesPerSecond).toFixed(3)}x`;
  console.log(`${label} | ${detail.padEnd(56)} | ${("error" in theirs ? "n/a" : theirs.samplesPerSecond.toFixed(1)).padStart(17)} | ${ratio}`);
  console.log(`GPU-CHECK ${JSON.stringify({ network: network.name, batch: network.batch, size: network.size, webgpu: ours, pytorch: theirs, device })}`);
}
