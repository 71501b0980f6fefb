// Does our LeNet train as well as the book's? The book's LeNet with batch norm from scratch (5 epochs,
// batch 256, Adam 0.001 here) trained on the full Fashion-MNIST through the whole service (POST,
// worker, WebSocket), and the same network and recipe in PyTorch (bench/pytorch_convnets.py) in the
// same run: test accuracy per epoch side by side, wall times and their ratio.
// Needs Postgres, Redis, the data set (dataset-fashion-mnist) and, for the baseline, python3-torch.
// Usage: npx tsx bench/quality.ts [epochs=5] [--no-pytorch]   (PYTHON picks the interpreter; default /usr/bin/python3)
import { spawnSync } from "node:child_process";
import WebSocket from "ws";
import type { EpochSummary, StreamMessage } from "../src/contracts/events.js";
import { startService } from "./service-harness.js";

const epochs = Number(process.argv[2] ?? 5);
const withPytorch = !process.argv.includes("--no-pytorch");
const spec = {
  kind: "classification",
  dataset: "fashion-mnist",
  model: { name: "lenet", batchNorm: "scratch" },
  optimizer: { name: "adam", lr: 0.001 },
  batchSize: 256,
  epochs,
  seed: 1,
};

const service = await startService();
const { client } = service;

const started = performance.now();
const { id } = await client.post<{ id: string }>("/v1/runs", spec);
const ours: EpochSummary[] = [];
let points = 0;
const end = await new Promise<Extract<StreamMessage, { type: "end" }>>((resolve, reject) => {
  const socket = new WebSocket(`${client.wsUrl}/v1/runs/${id}/stream`, { headers: client.headers });
  socket.on("message", (raw) => {
    const message = JSON.parse(String(raw)) as StreamMessage;
    if (message.type === "points") points += message.points.length;
    if (message.type === "epoch") {
      ours.push(message.summary);
      console.log(`ours    epoch ${message.summary.epoch}: loss ${message.summary.loss.toFixed(4)}, train acc ${message.summary.trainAccuracy!.toFixed(4)}, test acc ${message.summary.testAccuracy!.toFixed(4)}, ${message.summary.seconds.toFixed(1)} s`);
    }
    if (message.type === "end") resolve(message);
  });
  socket.on("error", reject);
});
const oursWall = (performance.now() - started) / 1000;
const run = await client.get<{ backend: string }>(`/v1/runs/${id}`);
await service.close();
if (end.status !== "succeeded") throw new Error(`run ${id} ended ${end.status}: ${end.reason}`);

let theirs: { epoch: number; testAccuracy: number; seconds: number }[] = [];
let theirWall = NaN;
if (withPytorch) {
  const python = spawnSync(process.env.PYTHON ?? "/usr/bin/python3", ["bench/pytorch_convnets.py", "train", "--epochs", String(epochs), "--batch", "256", "--lr", "0.001"], { encoding: "utf8" });
  if (python.status !== 0) throw new Error(`PyTorch baseline failed: ${python.stderr}`);
  const lines = python.stdout.trim().split("\n").map((line) => JSON.parse(line));
  theirs = lines.filter((line) => "epoch" in line);
  theirWall = lines.find((line) => "wallSeconds" in line).wallSeconds;
}

console.log(`\nLeNet, batch norm from scratch, batch 256, Adam 0.001, full Fashion-MNIST (60,000 / 10,000); ours on ${run.backend}`);
console.log("epoch | ours test acc | PyTorch test acc");
for (const summary of ours) {
  const baseline = theirs.find((line) => line.epoch === summary.epoch);
  console.log(`${String(summary.epoch).padStart(5)} | ${summary.testAccuracy!.toFixed(4).padStart(13)} | ${baseline ? baseline.testAccuracy.toFixed(4) : "-"}`);
}
console.log(`points streamed: ${points}; wall time ours ${oursWall.toFixed(1)} s (POST to end, through the service)` +
  (withPytorch ? `, PyTorch ${theirWall.toFixed(1)} s (in-process); ours / PyTorch time ratio ${(oursWall / theirWall).toFixed(2)}` : ""));
console.log(`book: about 0.86 test accuracy; ours reached ${ours.at(-1)!.testAccuracy!.toFixed(4)}`);
