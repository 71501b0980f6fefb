import { Worker, type Job } from "bullmq";
import type { Config } from "../src/config/config.js";
import { createCheckpointsRepository } from "../src/persistence/checkpoints-repository.js";
import { createMetricsRepository } from "../src/persistence/metrics-repository.js";
import { createPrismaClient } from "../src/persistence/prisma.js";
import { createRunsRepository } from "../src/persistence/runs-repository.js";
import { createLiveEventPublisher, LiveEventHub } from "../src/queue/live-events.js";
import { reconcileQueuedRuns, reconcileRunningRuns } from "../src/queue/reconciler.js";
import { closeRedis, createRedis, withDeadline } from "../src/queue/redis.js";
import { laneQueueName, RunQueue } from "../src/queue/run-queue.js";
import { gated, requeue, shareConcurrency } from "./shared-concurrency.js";
import { loadAirfoil, type RegressionData } from "../src/training/airfoil.js";
import { initBackend, type BackendInfo } from "../src/training/backend.js";
import { loadFashionMnist, type ImageData } from "../src/training/fashion-mnist.js";
import type { QueueLane } from "../src/contracts/job-spec.js";
import { createRunProcessor } from "./run-processor.js";

export interface Logger {
  info(obj: object, message: string): void;
  warn(obj: object, message: string): void;
  error(obj: object, message: string): void;
}

export interface WorkerService {
  /** Stops taking jobs, hands active runs back to the queue, closes every connection. Idempotent. */
  close(): Promise<void>;
}

/** Wires a worker process: Postgres, Redis, the TensorFlow.js backend, the BullMQ worker and the reconciler. */
export async function startWorkerService(config: Config, log: Logger): Promise<WorkerService> {
  const backend = await initBackend(config.TF_BACKEND, (message) => log.info({}, message), { accelerator: config.WORKER_ACCELERATOR, tensorPoolMiB: config.TENSOR_POOL_MIB });
  const prisma = createPrismaClient({ databaseUrl: config.DATABASE_URL, poolSize: 4 });
  const runs = createRunsRepository({ prisma });
  const metrics = createMetricsRepository({ prisma });
  const onError = (error: Error) => log.warn({ err: error.message }, "redis connection error");
  const commands = createRedis(config.REDIS_URL, { blocking: false, name: "lossline-worker-commands", onError });
  const subscriber = createRedis(config.REDIS_URL, { blocking: true, name: "lossline-worker-subscriber", onError });
  const queueConnection = createRedis(config.REDIS_URL, { blocking: true, name: "lossline-worker-queue", onError });
  const producerConnection = createRedis(config.REDIS_URL, { blocking: false, name: "lossline-worker-producer", onError });
  const publisher = createLiveEventPublisher({ redis: commands, prefix: config.REDIS_PREFIX });
  const hub = new LiveEventHub(subscriber, config.REDIS_PREFIX);
  const queue = new RunQueue({ connection: producerConnection, queueName: config.QUEUE_NAME, prefix: config.REDIS_PREFIX });

  let airfoil: RegressionData | undefined;
  let fashionMnist: ImageData | undefined;
  const processor = createRunProcessor({
    runs,
    metrics,
    publisher,
    identity: { workerId: config.WORKER_ID, backend: backend.name, versions: backend.versions },
    datasets: {
      airfoil: () => (airfoil ??= loadAirfoil()),
      fashionMnist: () => (fashionMnist ??= loadFashionMnist(config.FASHION_MNIST_DIR)),
    },
    flushMs: config.POINT_FLUSH_MS,
    checkpoints: createCheckpointsRepository({ prisma }),
    checkpointIntervalMs: config.CHECKPOINT_INTERVAL_MS,
    controlPollMs: 1_000,
    finalFlushRetryMs: 120_000,
    log,
  });
  await hub.onCancel((runId) => {
    if (processor.cancel(runId)) log.info({ runId }, "cancel requested");
  });

  const lanes = servedLanes(config, backend, log);
  // Both lanes of a GPU worker together run at most WORKER_CONCURRENCY jobs.
  const gate = shareConcurrency(config.WORKER_CONCURRENCY);
  const workers = lanes.map((lane) => {
    const worker = new Worker(
      laneQueueName(config.QUEUE_NAME, lane),
      gated(gate, async (job: Job, token?: string) => {
        const result = await processor.process(job.data);
        return result === "handed-off" ? requeue(job, token) : result;
      }),
      {
        connection: queueConnection,
        prefix: config.REDIS_PREFIX,
        concurrency: config.WORKER_CONCURRENCY,
        lockDuration: config.JOB_LOCK_MS,
        // A job whose worker died is noticed within one lock period, and given up after MAX_WORKER_CRASHES.
        stalledInterval: Math.min(30_000, config.JOB_LOCK_MS),
        maxStalledCount: config.MAX_WORKER_CRASHES,
      },
    );
    gate.add(worker);
    worker.on("error", (error) => log.warn({ err: error.message }, "queue worker error"));
    worker.on("failed", (job, error) => log.warn({ runId: job?.data?.runId, err: error.message }, "job failed"));
    return worker;
  });

  const reconcilerOptions = {
    runs,
    queue,
    publisher,
    graceMs: config.RECONCILE_GRACE_MS,
    log: (message: string) => log.info({}, message),
  };
  const reconcile = async () => {
    for (const pass of [reconcileQueuedRuns, reconcileRunningRuns]) {
      await pass(reconcilerOptions).catch((error: unknown) => log.warn({ err: (error as Error).message }, `${pass.name} failed`));
    }
  };
  const reconcileTimer = setInterval(reconcile, config.RECONCILE_INTERVAL_MS);
  void reconcile();

  log.info(
    { workerId: config.WORKER_ID, backend: backend.name, lanes, concurrency: config.WORKER_CONCURRENCY },
    "worker ready",
  );

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        clearInterval(reconcileTimer);
        processor.handOffAll();
        // Every step runs even if an earlier one fails; the first failure is reported at the end.
        const results: PromiseSettledResult<unknown>[] = await Promise.allSettled(workers.map((worker) => worker.close()));
        hub.close();
        results.push(...(await Promise.allSettled([withDeadline(queue.close(), 2_000)])));
        await Promise.all([commands, subscriber, producerConnection, queueConnection].map((connection) => closeRedis(connection)));
        results.push(...(await Promise.allSettled([prisma.$disconnect()])));
        const failure = results.find((result) => result.status === "rejected");
        if (failure) throw failure.reason;
      })();
      return closing;
    },
  };
}

/**
 * The queues this worker takes jobs from. A GPU worker serves both lanes, but only when its backend
 * really runs on a GPU: otherwise it says so and leaves GPU jobs to a worker that can run them.
 */
function servedLanes(config: Config, backend: BackendInfo, log: Logger): QueueLane[] {
  if (config.WORKER_ACCELERATOR === "cpu") return ["cpu"];
  if (backend.gpu) return ["gpu", "cpu"];
  log.error({ backend: backend.name }, "WORKER_ACCELERATOR=gpu but no GPU backend loaded: not taking GPU jobs, serving the cpu queue only");
  return ["cpu"];
}
