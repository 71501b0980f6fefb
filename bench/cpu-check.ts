// Training samples per second of the book's convnets on the oneDNN engine with every core of the
// machine, against PyTorch on the CPU with as many threads, in one run: how both scale past this
// project's 2-core build machine. bench/gpu-pack.sh bundles it (with the addon and its libraries)
// so that it also runs on a lent GPU machine's many cores, where no Node.js or libdnnl is installed:
//   tar -xzf dist/gpu-pack/gpu-check.tar.gz -C /tmp && p=/tmp/gpu-check &&
//   LD_LIBRARY_PATH=$p/lib $p/bin/node $p/cpu-check.mjs --addon $p/lossline_onednn.node --pytorch $p/pytorch_convnets.py
// Both use every core: the engine sizes its OpenMP threads by the machine (backend.ts).
// Usage: node --import tsx bench/cpu-check.ts [--seconds 8] [--only lenet,resnet18,densenet] [--addon PATH] [--pytorch bench/pytorch_convnets.py|none]
import { availableParallelism } from "node:os";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/training/backend.js";
import { NETWORKS, option, pytorchThroughput, randomDataStep } from "./convnet-step.js";

const seconds = Number(option("--seconds") ?? 8);
const only = option("--only")?.split(",");
const pytorchScript = option("--pytorch") === "none" ? undefined : (option("--pytorch") ?? "bench/pytorch_convnets.py");
const threads = availableParallelism();

const info = await initBackend("onednn", () => undefined, option("--addon") ? { oneDnnAddonPath: option("--addon") } : {});
console.log(`CPU-CHECK ${threads} cores; oneDNN ${info.versions.onednn} and PyTorch with ${threads} threads each; tfjs ${tf.version_core}, node ${process.versions.node}`);
console.log("network               | oneDNN engine samples/s | PyTorch cpu samples/s | ours / PyTorch");
for (const network of NETWORKS.filter((n) => !only || only.includes(n.name))) {
  const { model, optimizer, batch, step } = randomDataStep(network);
  let ours: number;
  try {
    await step();
    await step();
    let steps = 0;
    const started = performance.now();
    while (steps < 3 || (performance.now() - started) / 1000 < seconds) {
      await step();
      steps++;
    }
    ours = (network.batch * steps) / ((performance.now() - started) / 1000);
  } finally {
    tf.dispose([batch.images, batch.labels]);
    model.dispose();
    optimizer.dispose();
  }
  let theirs: number | string = "not run";
  if (pytorchScript) {
    const result = pytorchThroughput(pytorchScript, network, { steps: Math.max(10, Math.round((ours * seconds) / network.batch)), warmup: 3, device: "cpu", threads });
    theirs = "error" in result ? result.error : result.samplesPerSecond;
  }
  const label = `${network.name} b${network.batch} ${network.size}px`.padEnd(21);
  const ratio = typeof theirs === "number" ? `${(ours / theirs).toFixed(3)}x` : theirs;
  console.log(`${label} | ${ours.toFixed(1).padStart(23)} | ${(typeof theirs === "number" ? theirs.toFixed(1) : "n/a").padStart(21)} | ${ratio}`);
  console.log(`CPU-CHECK ${JSON.stringify({ network: network.name, batch: network.batch, size: network.size, ours, pytorch: theirs, threads })}`);
}
