import type { FastifyBaseLogger } from "fastify";
import type { QueueLane } from "../contracts/job-spec.js";
import type { RunsRepository } from "../persistence/runs-repository.js";
import { withDeadline } from "../queue/redis.js";
import type { RunQueue } from "../queue/run-queue.js";

/**
 * Queues a run that is already stored. Should Redis not take the job within `timeoutMs`, the run
 * stays stored and queued in Postgres and the reconciler adds its job later: a 202 is never lost.
 */
export async function enqueueStoredRun(
  deps: { runs: RunsRepository; queue: RunQueue; timeoutMs: number; log: FastifyBaseLogger },
  runId: string,
  lane: QueueLane,
): Promise<void> {
  try {
    await withDeadline(deps.queue.enqueue(runId, lane), deps.timeoutMs);
    await deps.runs.markEnqueued(runId);
  } catch (error) {
    deps.log.warn({ err: (error as Error).message, runId }, "run stored but not queued yet; the reconciler will queue it");
  }
}
