// What the service costs on top of the training engine, measured in one run on this machine:
// the same airfoil spec trained (a) by the engine alone, in this process, and (b) through the whole
// service: POST to an API, a worker process that trains it while writing every point to Postgres
// and publishing it to Redis, and a WebSocket watcher, until the `end` message arrives.
// Needs Postgres and Redis (DATABASE_URL, REDIS_URL; the defaults work here).
// Usage: npx tsx bench/service-overhead.ts [epochs=10] [repeats=3]
import WebSocket from "ws";
import { regressionSpecSchema } from "../src/contracts/job-spec.js";
import { loadAirfoil } from "../src/training/airfoil.js";
import { initBackend } from "../src/training/backend.js";
import { trainRegression } from "../src/training/train-regression.js";
import { startService } from "./service-harness.js";

const epochs = Number(process.argv[2] ?? 10);
const repeats = Number(process.argv[3] ?? 3);
const rawSpec = { kind: "regression", dataset: "airfoil", model: "linear", optimizer: { name: "sgd", lr: 0.005 }, batchSize: 1, epochs, seed: 1 };
const spec = regressionSpecSchema.parse(rawSpec);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

// Both set up first, then measured alternately so that drift on a shared machine hits both alike.
await initBackend("cpu", () => undefined);
const data = loadAirfoil();
const service = await startService();
const { port } = service;

/** (a) The engine alone, in this process. */
async function timeEngine(): Promise<number> {
  const started = performance.now();
  await trainRegression(spec, data, { onPoint: () => undefined, onEpoch: () => undefined, shouldStop: () => false });
  return (performance.now() - started) / 1000;
}

/** (b) Through the service: seconds from POST to the stream's close, and the worker's own training time. */
async function timeService(): Promise<{ endToEnd: number; inWorker: number }> {
  const started = performance.now();
  const { id } = await service.client.post<{ id: string }>("/v1/runs", rawSpec);
  const points = await new Promise<number>((resolve, reject) => {
    let count = 0;
    const socket = new WebSocket(`${service.client.wsUrl}/v1/runs/${id}/stream`, { headers: service.client.headers });
    socket.on("message", (raw) => {
      const message = JSON.parse(String(raw));
      if (message.type === "points") count += message.points.length;
    });
    socket.on("close", () => resolve(count));
    socket.on("error", reject);
  });
  const endToEnd = (performance.now() - started) / 1000;
  if (points !== epochs * 15 + 1) throw new Error(`expected ${epochs * 15 + 1} points, streamed ${points}`);
  const run = await service.client.get<{ finalMetrics: { seconds: number } }>(`/v1/runs/${id}`);
  return { endToEnd, inWorker: run.finalMetrics.seconds };
}

await timeEngine(); // warm-up of both
await timeService();
const engineSeconds: number[] = [];
const serviceSeconds: number[] = [];
const inWorkerSeconds: number[] = [];
for (let i = 0; i < repeats; i++) {
  engineSeconds.push(await timeEngine());
  const service = await timeService();
  serviceSeconds.push(service.endToEnd);
  inWorkerSeconds.push(service.inWorker);
}
await service.close();

const samples = epochs * 1500;
const engine = median(engineSeconds);
const inWorker = median(inWorkerSeconds);
const endToEnd = median(serviceSeconds);
console.log(`airfoil, batch 1, ${epochs} epochs: ${samples.toLocaleString("en-US")} SGD steps, ${epochs * 15 + 1} loss points; median of ${repeats}`);
console.log(`engine alone                 ${engine.toFixed(3)} s  (${Math.round(samples / engine).toLocaleString("en-US")} samples/s)`);
console.log(`training inside the worker   ${inWorker.toFixed(3)} s  ratio ${(inWorker / engine).toFixed(2)}x the engine alone`);
console.log(`POST to last point streamed  ${endToEnd.toFixed(3)} s  ratio ${(endToEnd / engine).toFixed(2)}x the engine alone`);
process.exit(0);
