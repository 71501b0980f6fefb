import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { Worker } from "bullmq";
import type { LiveEvent } from "../../src/contracts/events.js";
import { jobSpecSchema, regressionSpecSchema, type JobSpec } from "../../src/contracts/job-spec.js";
import { createRunsRepository } from "../../src/persistence/runs-repository.js";
import { createLiveEventPublisher, LiveEventHub } from "../../src/queue/live-events.js";
import { reconcileQueuedRuns, reconcileRunningRuns } from "../../src/queue/reconciler.js";
import { createRedis } from "../../src/queue/redis.js";
import { airfoilSpec, configFor, inspect, ownerFor, testEnv, waitFor } from "../helpers/services.js";

const connections: ReturnType<typeof createRedis>[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
  connections.forEach((connection) => connection.disconnect());
});

/** A queue, Redis prefix and reconciler of this test's own. */
function setUp() {
  const env = testEnv();
  const config = configFor(env);
  const db = inspect(env);
  const commands = createRedis(config.REDIS_URL, { blocking: false, name: "lossline-test-commands" });
  const subscriber = createRedis(config.REDIS_URL, { blocking: true, name: "lossline-test-subscriber" });
  const workerConnection = createRedis(config.REDIS_URL, { blocking: true, name: "lossline-test-worker" });
  connections.push(commands, subscriber, workerConnection);
  cleanups.push(() => db.close());
  const runs = createRunsRepository({ prisma: db.prisma });
  const logged: string[] = [];
  const options = {
    runs,
    queue: db.queue,
    publisher: createLiveEventPublisher({ redis: commands, prefix: config.REDIS_PREFIX }),
    graceMs: 0,
    log: (message: string) => void logged.push(message),
  };
  const storedRun = async (spec: JobSpec = regressionSpecSchema.parse(airfoilSpec())) => {
    const id = randomUUID();
    await runs.create(id, spec, await ownerFor(env));
    return id;
  };
  const hub = new LiveEventHub(subscriber, config.REDIS_PREFIX);
  cleanups.push(() => hub.close());
  return { config, db, runs, options, storedRun, logged, hub, workerConnection };
}

test("queued runs: a missing job is added to its run's lane, a waiting one is left alone", async () => {
  const { db, options, storedRun, logged } = setUp();
  const missing = await storedRun();
  const missingGpu = await storedRun(
    jobSpecSchema.parse({ kind: "classification", dataset: "fashion-mnist", model: { name: "lenet" }, optimizer: { name: "adam" }, batchSize: 8, epochs: 1, accelerator: "gpu" }),
  );
  const waiting = await storedRun();
  await db.queue.enqueue(waiting, "cpu");
  // Other test files may have left queued runs in this database: only ours are asserted on.
  const requeued = await reconcileQueuedRuns(options);
  assert.ok(requeued.includes(missing) && !requeued.includes(waiting), JSON.stringify(requeued));
  assert.equal(await db.queue.jobState(missing), "waiting");
  assert.ok(requeued.includes(missingGpu));
  assert.deepEqual(await db.queue.jobInfo(missingGpu), { state: "waiting", lane: "gpu", failedReason: undefined }, "the GPU run's job is in the GPU queue");
  assert.equal((await db.queue.jobInfo(missing)).lane, "cpu");
  assert.ok((await db.prisma.run.findUniqueOrThrow({ where: { id: missing } })).enqueuedAt);
  assert.ok((await db.prisma.run.findUniqueOrThrow({ where: { id: waiting } })).enqueuedAt);
  assert.deepEqual(await reconcileQueuedRuns(options), [], "a second pass finds nothing to do");
  assert.ok(logged.some((line) => line.includes(`re-queued run ${missing}`)));
});

test("running runs: a lost job is queued again; a failed job ends the run failed, and watchers are told", async () => {
  const { config, db, runs, options, storedRun, hub, workerConnection } = setUp();
  const identity = { workerId: "test", backend: "cpu", versions: {} };
  const lost = await storedRun();
  await runs.claim(lost, identity);
  const crashed = await storedRun();
  const { attempt } = (await runs.claim(crashed, identity))!;
  await db.queue.enqueue(crashed, "cpu");
  // Take the job as a worker would, then fail it as BullMQ does when a job stalls too often.
  const worker = new Worker(config.QUEUE_NAME, null, { connection: workerConnection, prefix: config.REDIS_PREFIX, autorun: false });
  const token = randomUUID();
  const job = await worker.getNextJob(token);
  assert.equal(job?.id, crashed);
  await job!.moveToFailed(new Error("job stalled more than allowable limit"), token, false);
  await worker.close();
  const heard: LiveEvent[] = [];
  const unsubscribe = await hub.subscribe(crashed, (event) => heard.push(event));

  const actions = await reconcileRunningRuns(options);
  assert.equal(actions.get(lost), "requeued");
  assert.equal(actions.get(crashed), "failed");
  assert.equal(await db.queue.jobState(lost), "waiting");
  const run = await db.prisma.run.findUniqueOrThrow({ where: { id: crashed } });
  assert.equal(run.status, "failed");
  assert.equal(run.attempt, attempt);
  assert.equal(run.failureReason, "worker lost the run: job stalled more than allowable limit");
  await waitFor(() => heard.length > 0, 5_000, "the failure to be published");
  assert.equal(heard[0]!.type === "status" && heard[0]!.status, "failed");
  await unsubscribe();
});
