import type { PrismaClient } from "./generated/client.js";

export interface StoredCheckpoint {
  attempt: number;
  epoch: number;
  samplesSeen: number;
  nextSeq: number;
  state: Buffer;
  createdAt: Date;
}

/** The latest checkpoint of each run: one row per run, replaced whole. */
export function createCheckpointsRepository({ prisma }: { prisma: PrismaClient }) {
  return {
    /**
     * Stores the run's checkpoint if `attempt` still owns the running run; false when it does not
     * (this worker lost the run). One statement: the row is replaced whole or not at all.
     */
    async save(runId: string, attempt: number, checkpoint: Omit<StoredCheckpoint, "attempt" | "createdAt">): Promise<boolean> {
      const count = await prisma.$executeRaw`
        INSERT INTO checkpoints (run_id, attempt, epoch, samples_seen, next_seq, state)
        SELECT id, ${attempt}, ${checkpoint.epoch}, ${checkpoint.samplesSeen}, ${checkpoint.nextSeq}, ${checkpoint.state}
          FROM runs WHERE id = ${runId}::uuid AND attempt = ${attempt} AND status = 'running'
           FOR SHARE -- waits for a concurrent claim, then sees its new attempt
        ON CONFLICT (run_id) DO UPDATE
           SET attempt = EXCLUDED.attempt, epoch = EXCLUDED.epoch, samples_seen = EXCLUDED.samples_seen,
               next_seq = EXCLUDED.next_seq, state = EXCLUDED.state, created_at = now()`;
      return count === 1;
    },

    async load(runId: string): Promise<StoredCheckpoint | null> {
      const row = await prisma.checkpoint.findUnique({ where: { runId } });
      return row ? { ...row, state: Buffer.from(row.state) } : null;
    },

    /** Checkpoints are only for resuming: a run that ended needs none. */
    async remove(runId: string): Promise<void> {
      await prisma.checkpoint.deleteMany({ where: { runId } });
    },
  };
}

export type CheckpointsRepository = ReturnType<typeof createCheckpointsRepository>;
