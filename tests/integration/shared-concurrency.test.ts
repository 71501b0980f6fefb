import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { Queue, Worker, type Job } from "bullmq";
import { createRedis } from "../../src/queue/redis.js";
import { gated, shareConcurrency } from "../../workers/shared-concurrency.js";
import { waitFor } from "../helpers/services.js";

// Two BullMQ Workers in one process (a GPU worker's two lanes) on real Redis, sharing one limit
// through the gate and processor wrapper workers/worker-service.ts uses: never more jobs at once
// than the limit, every job done once.
const prefix = `lltest-gate-${randomUUID().slice(0, 8)}`;
const connection = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { blocking: true, name: "lossline-test-gate" });
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  connection.disconnect();
});

test("two lanes' Workers with concurrency 2 each run at most 2 jobs together, and every job once", async () => {
  const limit = 2;
  const gate = shareConcurrency(limit);
  let running = 0;
  let most = 0;
  const done: string[] = [];
  const queues = ["gpu", "cpu"].map((lane) => new Queue(`gate-${lane}`, { connection, prefix }));
  closers.push(...queues.map((queue) => async () => (await queue.obliterate({ force: true }), await queue.close())));
  for (const lane of ["gpu", "cpu"]) {
    const worker = new Worker(
      `gate-${lane}`,
      gated(gate, async (job: Job) => {
        try {
          running++;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 40));
          done.push(job.id!);
        } finally {
          running--;
        }
      }),
      { connection, prefix, concurrency: limit },
    );
    gate.add(worker);
    closers.push(() => worker.close());
  }
  const ids = Array.from({ length: 12 }, (_, i) => `job-${i}`);
  await Promise.all(ids.map((id, i) => queues[i % 2]!.add("run", {}, { jobId: id })));
  await waitFor(() => done.length === ids.length, 30_000, "every job to run");
  assert.equal(most, limit, "both lanes together never ran more than the limit, and did reach it");
  assert.deepEqual([...done].sort(), [...ids].sort(), "each job ran once");
  assert.equal(gate.active, 0);
});
