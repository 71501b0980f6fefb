import { Queue } from "bullmq";
import { runJobSchema, type RunJob } from "../contracts/events.js";
import type { QueueLane } from "../contracts/job-spec.js";
import type { Redis } from "./redis.js";

export interface RunQueueOptions {
  connection: Redis;
  /** Name of the cpu lane's BullMQ queue; the gpu lane's is this plus "-gpu" (see laneQueueName). */
  queueName: string;
  prefix: string;
}

export const QUEUE_LANES: readonly QueueLane[] = ["cpu", "gpu"];

/** The BullMQ queue name of a lane: GPU work has its own queue so that only GPU workers take it. */
export function laneQueueName(queueName: string, lane: QueueLane): string {
  return lane === "cpu" ? queueName : `${queueName}-gpu`;
}

/**
 * The producer side of the run queues, one per lane. A job carries only the run id, which is also its
 * job id; a run's job lives in exactly one lane, so lookups try both.
 */
export class RunQueue {
  private readonly queues: Record<QueueLane, Queue<RunJob>>;
  private closing: Promise<void> | undefined;

  constructor(options: RunQueueOptions) {
    const open = (lane: QueueLane) => {
      const queue = new Queue<RunJob>(laneQueueName(options.queueName, lane), { connection: options.connection, prefix: options.prefix });
      // Errors surface on the calls that hit them; an unhandled 'error' event would crash the process.
      queue.on("error", () => undefined);
      return queue;
    };
    this.queues = { cpu: open("cpu"), gpu: open("gpu") };
  }

  /** Adds the run's job to its lane; a job already present with this id (in any state) is left as it is. */
  async enqueue(runId: string, lane: QueueLane): Promise<void> {
    const data = runJobSchema.parse({ runId });
    await this.queues[lane].add("train", data, {
      jobId: runId,
      attempts: 1,
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  }

  /** The state of the run's job, or "missing" when Redis holds none. */
  async jobState(runId: string): Promise<string> {
    return (await this.jobInfo(runId)).state;
  }

  /** The state of the run's job, the lane that holds it and, for a failed one, why it failed. */
  async jobInfo(runId: string): Promise<{ state: string; lane?: QueueLane; failedReason?: string }> {
    for (const lane of QUEUE_LANES) {
      const job = await this.queues[lane].getJob(runId);
      if (job) return { state: await job.getState(), lane, failedReason: job.failedReason };
    }
    return { state: "missing" };
  }

  /** Removes a job that no worker holds; false when it is locked by a worker or absent. */
  async remove(runId: string): Promise<boolean> {
    let removed = false;
    for (const lane of QUEUE_LANES) removed = (await this.queues[lane].remove(runId)) === 1 || removed;
    return removed;
  }

  async counts(lane: QueueLane = "cpu"): Promise<Record<string, number>> {
    return this.queues[lane].getJobCounts("waiting", "active", "delayed", "failed", "completed");
  }

  /** Deletes the queues' keys; tests use it to clean up their own queues. */
  async obliterate(): Promise<void> {
    for (const lane of QUEUE_LANES) await this.queues[lane].obliterate({ force: true });
  }

  close(): Promise<void> {
    this.closing ??= Promise.all(QUEUE_LANES.map((lane) => this.queues[lane].close())).then(() => undefined);
    return this.closing;
  }
}
