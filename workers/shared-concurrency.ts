import { WaitingError, type Job } from "bullmq";

/** What the gate needs of a BullMQ Worker. */
export interface Pausable {
  pause(doNotWaitActive?: boolean): Promise<void>;
  resume(): Promise<void> | void;
  isPaused(): boolean;
}

/**
 * One limit on the jobs several BullMQ Workers of one process run together (a GPU worker has one
 * Worker per queue lane, each with its own `concurrency`). At the limit every Worker stops fetching;
 * a job one of them fetched just before that is refused (`tryAcquire` false: the caller puts it back
 * in the queue), and fetching resumes when a job ends.
 */
export function shareConcurrency(limit: number) {
  const workers: Pausable[] = [];
  let active = 0;
  const pauseAll = () => workers.forEach((worker) => void worker.pause(true).catch(() => undefined));
  const resumeAll = () => workers.forEach((worker) => worker.isPaused() && void Promise.resolve(worker.resume()).catch(() => undefined));
  return {
    /** The Workers that share the limit (with one alone, BullMQ's own `concurrency` is the limit). */
    add(worker: Pausable): void {
      workers.push(worker);
    },
    tryAcquire(): boolean {
      if (active >= limit) return false;
      active++;
      if (active >= limit && workers.length > 1) pauseAll();
      return true;
    },
    release(): void {
      active--;
      if (active < limit && workers.length > 1) resumeAll();
    },
    get active() {
      return active;
    },
  };
}

/** Puts a job its Worker holds back at the front of its queue, without using an attempt. */
export async function requeue(job: Job, token: string | undefined): Promise<never> {
  await job.moveToWait(token);
  throw new WaitingError();
}

/**
 * A Worker's processor that runs `process` only within the gate: a job fetched while the gate is
 * full goes back to the front of its queue (WaitingError: no attempt used).
 */
export function gated<T>(gate: ReturnType<typeof shareConcurrency>, process: (job: Job, token?: string) => Promise<T>) {
  return async (job: Job, token?: string): Promise<T> => {
    if (!gate.tryAcquire()) return requeue(job, token);
    try {
      return await process(job, token);
    } finally {
      gate.release();
    }
  };
}
