import { Queue } from "bullmq";
import { runJobSchema, type RunJob } from "../contracts/events.js";
import type { Redis } from "./redis.js";

export interface RunQueueOptions {
  connection: Redis;
  queueName: string;
  prefix: string;
}

/** The producer side of the run queue. A job carries only the run id, which is also its job id. */
export class RunQueue {
  private readonly queue: Queue<RunJob>;
  private closing: Promise<void> | undefined;

  constructor(options: RunQueueOptions) {
    this.queue = new Queue<RunJob>(options.queueName, { connection: options.connection, prefix: options.prefix });
    // Errors surface on the calls that hit them; an unhandled 'error' event would crash the process.
    this.queue.on("error", () => undefined);
  }

  /** Adds the run's job; a job already present with this id (in any state) is left as it is. */
  async enqueue(runId: string): Promise<void> {
    const data = runJobSchema.parse({ runId });
    await this.queue.add("train", data, {
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

  /** The state of the run's job and, for a failed one, why it failed. */
  async jobInfo(runId: string): Promise<{ state: string; failedReason?: string }> {
    const job = await this.queue.getJob(runId);
    if (!job) return { state: "missing" };
    return { state: await job.getState(), failedReason: job.failedReason };
  }

  /** Removes a job that no worker holds; false when it is locked by a worker or absent. */
  async remove(runId: string): Promise<boolean> {
    return (await this.queue.remove(runId)) === 1;
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts("waiting", "active", "delayed", "failed", "completed");
  }

  /** Deletes the queue's keys; tests use it to clean up their own queue. */
  async obliterate(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }

  close(): Promise<void> {
    this.closing ??= this.queue.close();
    return this.closing;
  }
}
