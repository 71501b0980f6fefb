// Training samples per second of the book's convnets: LeNet with scratch batch norm (batch 256,
// 28x28) and ResNet-18 and DenseNet (batch 32, 96x96), on every TensorFlow.js backend present (each
// in its own process: the stock cpu backend, cpu and wasm with Lossline's kernels, tfjs-node when
// installed, webgpu on Dawn when it finds an adapter, even a software one), through the worker's own training step (Adam 0.001), and the same networks and
// optimizer in PyTorch (Debian's python3-torch, 2 threads) in the same run. Prints a table with the
// ratio ours / PyTorch.
// Usage: npx tsx bench/throughput.ts [seconds per measurement=20] [--only lenet,resnet18,densenet] [--backends cpu-stock,cpu,wasm,tensorflow,webgpu]
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/training/backend.js";
import { NETWORKS, option, pytorchThroughput, randomDataStep, type Network } from "./convnet-step.js";


/** Child mode: measures one network on one backend and prints one JSON line. */
async function measure(backend: string, network: Network, seconds: number): Promise<void> {
  if (backend === "cpu-stock") {
    await tf.setBackend("cpu");
    (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  } else {
    await initBackend(backend as "cpu" | "wasm" | "tensorflow" | "webgpu", () => undefined);
  }
  const { step } = randomDataStep(network);
  const warmStarted = performance.now();
  await step();
  const warmup = (performance.now() - warmStarted) / 1000;
  let steps = 0;
  const started = performance.now();
  // At least two timed steps unless one step alone outlasts the budget (then the warm-up step is the estimate).
  while (warmup < seconds && (steps < 2 || (performance.now() - started) / 1000 < seconds)) {
    await step();
    steps++;
  }
  const elapsed = steps > 0 ? (performance.now() - started) / 1000 : warmup;
  console.log(JSON.stringify({ samplesPerSecond: (network.batch * Math.max(steps, 1)) / elapsed, steps, estimate: steps === 0 }));
}

function pytorch(network: Network, seconds: number): number {
  // A 2-step probe for the rate, then about `seconds` of steps (Debian's python3-torch by default).
  const python = process.env.PYTHON ?? "/usr/bin/python3";
  const probe = pytorchThroughput("bench/pytorch_convnets.py", network, { steps: 2, python });
  if ("error" in probe) return NaN;
  const result = pytorchThroughput("bench/pytorch_convnets.py", network, { steps: Math.max(2, Math.round((probe.samplesPerSecond * seconds) / network.batch)), python });
  return "error" in result ? NaN : result.samplesPerSecond;
}

function child(backend: string, network: Network, seconds: number): { samplesPerSecond: number; estimate: boolean } | { error: string } {
  const run = spawnSync(process.execPath, ["--import", "tsx", "bench/throughput.ts", "--child", backend, network.name, String(seconds)], { encoding: "utf8" });
  const line = run.stdout.trim().split("\n").at(-1);
  if (run.status !== 0 || !line?.startsWith("{")) return { error: (run.stderr.trim().split("\n").find((l) => l.includes("Error")) ?? `exit ${run.status}`).slice(0, 80) };
  return JSON.parse(line);
}

if (process.argv.includes("--child")) {
  const [backend, name, seconds] = process.argv.slice(process.argv.indexOf("--child") + 1);
  await measure(backend!, NETWORKS.find((n) => n.name === name)!, Number(seconds));
} else {
  const seconds = Number(process.argv[2] && !process.argv[2].startsWith("--") ? process.argv[2] : 20);
  const only = option("--only")?.split(",");
  const backends = option("--backends")?.split(",") ?? ["cpu-stock", "cpu", "wasm", "tensorflow", "webgpu"];
  console.log(`samples/s of one training step (Adam 0.001), ${seconds} s per measurement; PyTorch ${process.env.PYTHON ?? "/usr/bin/python3"}, 2 threads`);
  console.log("network              | backend    | ours samples/s | PyTorch samples/s | ours / PyTorch");
  for (const network of NETWORKS.filter((n) => !only || only.includes(n.name))) {
    const theirs = pytorch(network, seconds);
    for (const backend of backends) {
      const ours = child(backend, network, seconds);
      const label = `${network.name} b${network.batch} ${network.size}px`.padEnd(20);
      if ("error" in ours) {
        console.log(`${label} | ${backend.padEnd(10)} | ${"n/a".padStart(14)} | ${theirs.toFixed(1).padStart(17)} | ${ours.error}`);
        continue;
      }
      const rate = `${ours.estimate ? "~" : ""}${ours.samplesPerSecond.toFixed(1)}`;
      console.log(`${label} | ${backend.padEnd(10)} | ${rate.padStart(14)} | ${theirs.toFixed(1).padStart(17)} | ${(ours.samplesPerSecond / theirs).toFixed(3)}x`);
    }
  }
  console.log("~: one step took longer than the budget; the warm-up step is the estimate. n/a: backend not installed or failed.");
}
