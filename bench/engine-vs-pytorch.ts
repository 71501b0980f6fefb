// Lossline's training engine (TensorFlow.js, cpu backend) against PyTorch on the book's airfoil
// minibatch-SGD runs, measured in one run on this machine. Needs Debian's python3-torch
// (apt-get install -y python3-torch); PyTorch is a yardstick here, never a dependency.
// Usage: npx tsx bench/engine-vs-pytorch.ts [repeats=3]
import { execFileSync } from "node:child_process";
import { regressionSpecSchema } from "../src/contracts/job-spec.js";
import { loadAirfoil } from "../src/training/airfoil.js";
import { initBackend } from "../src/training/backend.js";
import { trainRegression } from "../src/training/train-regression.js";

const repeats = Number(process.argv[2] ?? 3);
const python = process.env.PYTHON ?? "/usr/bin/python3";
// The book's four settings (gd, sgd, minibatch 100, minibatch 10), two epochs each.
const settings = [
  { lr: 1, batchSize: 1500, epochs: 10 },
  { lr: 0.005, batchSize: 1, epochs: 2 },
  { lr: 0.4, batchSize: 100, epochs: 2 },
  { lr: 0.05, batchSize: 10, epochs: 2 },
];
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

await initBackend("cpu", () => undefined);
const data = loadAirfoil();
console.log(`median of ${repeats}; seconds include the full-data loss evaluations; ratio > 1 means Lossline is faster`);
console.log("setting                       lossline s  pytorch s   ratio   final loss (lossline / pytorch)");
for (const { lr, batchSize, epochs } of settings) {
  const spec = regressionSpecSchema.parse({ kind: "regression", dataset: "airfoil", model: "linear", optimizer: { name: "sgd", lr }, batchSize, epochs, seed: 1 });
  const ours: number[] = [];
  const theirs: number[] = [];
  let ourLoss = NaN;
  let theirLoss = NaN;
  for (let i = 0; i <= repeats; i++) {
    const started = performance.now();
    const outcome = await trainRegression(spec, data, { onPoint: () => undefined, onEpoch: () => undefined, shouldStop: () => false });
    const seconds = (performance.now() - started) / 1000;
    if (outcome.kind === "completed") ourLoss = outcome.finalMetrics.loss!;
    const result = JSON.parse(execFileSync(python, ["bench/pytorch_airfoil.py", String(lr), String(batchSize), String(epochs)], { encoding: "utf8" }));
    theirLoss = result.finalLoss;
    if (i === 0) continue; // warm-up
    ours.push(seconds);
    theirs.push(result.seconds);
  }
  const label = `lr ${lr}, batch ${batchSize}, ${epochs} epochs`.padEnd(30);
  console.log(
    `${label}${median(ours).toFixed(3).padStart(10)}${median(theirs).toFixed(3).padStart(11)}${(median(theirs) / median(ours)).toFixed(2).padStart(8)}x   ${ourLoss.toFixed(4)} / ${theirLoss.toFixed(4)}`,
  );
}
