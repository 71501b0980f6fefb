import type { RunsRepository } from "../persistence/runs-repository.js";
import type { LiveEventPublisher } from "./live-events.js";
import type { RunQueue } from "./run-queue.js";

/** Job states in which a worker holds the job or will take it. */
const LIVE_STATES = ["waiting", "active", "delayed", "prioritized", "waiting-children"];

export interface ReconcilerOptions {
  runs: RunsRepository;
  queue: RunQueue;
  /** Tells watchers about runs the reconciler ends. */
  publisher: LiveEventPublisher;
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
  for (const { id, enqueuedAt, lane } of await runs.queuedBefore(new Date(Date.now() - graceMs), 500)) {
    const state = await queue.jobState(id);
    if (LIVE_STATES.includes(state)) {
      if (!enqueuedAt) await runs.markEnqueued(id); // its producer timed out waiting, but the job arrived
      continue;
    }
    if (state !== "missing" && !(await queue.remove(id))) continue;
    await queue.enqueue(id, lane);
    await runs.markEnqueued(id);
    requeued.push(id);
    log(`reconciler: re-queued run ${id} (its job was ${state})`);
  }
  return requeued;
}

/**
 * Makes "running" imply "a worker holds it or will": a running run whose job Redis lost is queued
 * again (the next claim starts a new attempt and fences out any straggler); one whose job failed
 * or completed without the run ending (its worker died more often than BullMQ allows, or could not
 * record the end) ends `failed` with the reason. Returns what it did, per run id.
 */
export async function reconcileRunningRuns({ runs, queue, publisher, graceMs, log }: ReconcilerOptions): Promise<Map<string, string>> {
  const actions = new Map<string, string>();
  for (const { id, attempt, lane } of await runs.runningBefore(new Date(Date.now() - graceMs), 500)) {
    const { state, failedReason } = await queue.jobInfo(id);
    if (LIVE_STATES.includes(state)) continue;
    if (state === "missing") {
      await queue.enqueue(id, lane);
      actions.set(id, "requeued");
      log(`reconciler: re-queued running run ${id} (its job was missing)`);
      continue;
    }
    const reason = `worker lost the run: ${failedReason ?? `its job is ${state}`}`;
    if (await runs.finish(id, attempt, { status: "failed", reason, finalMetrics: null })) {
      const at = new Date().toISOString();
      await publisher.publish(id, { type: "status", status: "failed", reason, attempt, finalMetrics: null, at }).catch(() => undefined);
      actions.set(id, "failed");
      log(`reconciler: run ${id} failed (${reason})`);
    }
  }
  return actions;
}
