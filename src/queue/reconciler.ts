import type { RunsRepository } from "../persistence/runs-repository.js";
import type { RunQueue } from "./run-queue.js";

export interface ReconcilerOptions {
  runs: RunsRepository;
  queue: RunQueue;
  /** Queued runs younger than this are left to their producer, in ms. */
  graceMs: number;
  log: (message: string) => void;
}

/**
 * Makes "stored" imply "will run": every queued run older than the grace period whose job is not
 * waiting in Redis (the producer died between the insert and the add, Redis lost it, or a worker
 * failed before it could claim the run) gets its job (re)added. Safe to run in many processes at once.
 * Returns the ids it re-queued.
 */
export async function reconcileQueuedRuns({ runs, queue, graceMs, log }: ReconcilerOptions): Promise<string[]> {
  const requeued: string[] = [];
  for (const { id } of await runs.queuedBefore(new Date(Date.now() - graceMs), 500)) {
    const state = await queue.jobState(id);
    if (["waiting", "active", "delayed", "prioritized", "waiting-children"].includes(state)) {
      await runs.markEnqueued(id);
      continue;
    }
    if (state !== "missing" && !(await queue.remove(id))) continue;
    await queue.enqueue(id);
    await runs.markEnqueued(id);
    requeued.push(id);
    log(`reconciler: re-queued run ${id} (its job was ${state})`);
  }
  return requeued;
}
