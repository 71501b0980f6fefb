import type { FastifyBaseLogger } from "fastify";
import type { RunsRepository } from "../persistence/runs-repository.js";
import type { RunQueue } from "../queue/run-queue.js";

/**
 * Queues a run that is already stored. Should Redis not take the job within `timeoutMs`, the run
 * stays stored and queued in Postgres and the reconciler adds its job later: a 202 is never lost.
 */
export async function enqueueStoredRun(
  deps: { runs: RunsRepository; queue: RunQueue; timeoutMs: number; log: FastifyBaseLogger },
  runId: string,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      deps.queue.enqueue(runId),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis took no job within ${deps.timeoutMs} ms`)), deps.timeoutMs);
      }),
    ]);
    await deps.runs.markEnqueued(runId);
  } catch (error) {
    deps.log.warn({ err: error, runId }, "run stored but not queued yet; the reconciler will queue it");
  } finally {
    clearTimeout(timer);
  }
}
