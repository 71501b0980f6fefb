import { initBackend } from "../src/training/backend.js";
import { bufferPoolStats } from "../src/training/kernels/buffer-pool.js";
import { NETWORKS, randomDataStep } from "./convnet-step.js";
await initBackend(process.env.TF_BACKEND as "onednn" ?? "onednn", () => {});
const net = NETWORKS.find((n) => n.name === process.argv[2])!;
const { step } = randomDataStep(net);
const losses: string[] = [];
for (let i = 0; i < Number(process.argv[3] ?? 6); i++) losses.push((await step()).loss.toFixed(7));
console.log(losses.join(" "), JSON.stringify(bufferPoolStats()));
