// Training samples per second of the book's convnets on the oneDNN engine with every core of the
// machine, against PyTorch on the CPU with as many threads, in one run: how both scale past this
// project's 2-core build machine. bench/gpu-pack.sh bundles it (with the addon and its libraries)
// so that it also runs on a lent GPU machine's many cores, where no Node.js or libdnnl is installed:
//   LD_LIBRARY_PATH=<pack>/lib <pack>/bin/node <pack>/cpu-check.mjs --addon <pack>/lossline_onednn.node --pytorch <pack>/pytorch_convnets.py
// Usage: node --import tsx bench/cpu-check.ts [--seconds 8] [--only lenet,resnet18,densenet] [--addon PATH] [--pytorch bench/pytorch_convnets.py|none] [--threads N]
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/training/backend.js";
import { NETWORKS, randomDataStep } from "./convnet-step.js";

const option = (flag: string) => {
  const index = process.argv.lastIndexOf(flag);
  return index >= 0 ? process.argv[index + 1] : undefined;
};
const seconds = Number(option("--seconds") ?? 8);
const only = option("--only")?.split(",");
const pytorchScript = option("--pytorch") === "none" ? undefined : (option("--pytorch") ?? "bench/pytorch_convnets.py");
const threads = Number(option("--threads") ?? availableParallelism());

const info = await initBackend("onednn", () => undefined, option("--addon") ? { oneDnnAddonPath: option("--addon") } : {});
console.log(`CPU-CHECK ${availableParallelism()} cores; oneDNN ${info.versions.onednn} with ${availableParallelism()} threads; tfjs ${tf.version_core}, node ${process.versions.node}`);
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
    const steps = Math.max(10, Math.round((ours * seconds) / network.batch));
    const run = spawnSync(
      process.env.PYTHON ?? "python3",
      [pytorchScript, "throughput", "--model", network.name, "--batch", String(network.batch), "--size", String(network.size), "--steps", String(steps), "--warmup", "3", "--device", "cpu", "--threads", String(threads)],
      { encoding: "utf8" },
    );
    const line = run.stdout?.trim().split("\n").at(-1);
    theirs = run.status === 0 && line?.startsWith("{") ? (JSON.parse(line) as { samplesPerSecond: number }).samplesPerSecond : (run.stderr?.trim().split("\n").at(-1) ?? `exit ${run.status}`).slice(0, 160);
  }
  const label = `${network.name} b${network.batch} ${network.size}px`.padEnd(21);
  const ratio = typeof theirs === "number" ? `${(ours / theirs).toFixed(3)}x` : theirs;
  console.log(`${label} | ${ours.toFixed(1).padStart(23)} | ${(typeof theirs === "number" ? theirs.toFixed(1) : "n/a").padStart(21)} | ${ratio}`);
  console.log(`CPU-CHECK ${JSON.stringify({ network: network.name, batch: network.batch, size: network.size, ours, pytorch: theirs, threads })}`);
}
