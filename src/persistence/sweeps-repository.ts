import type { JobSpec } from "../contracts/job-spec.js";
import type { Prisma, Run, Sweep } from "./generated/client.js";
import type { PrismaClient } from "./prisma.js";
import { CAPPED_TRANSACTION, newRunData, reserveActiveRuns, type Owner } from "./runs-repository.js";

export interface NewSweep {
  id: string;
  name: string | null;
  base: Record<string, unknown>;
  grid: Record<string, unknown[]> | null;
  variants: Record<string, unknown>[] | null;
}

export type SweepWithRuns = Sweep & { runs: (Run & { secondsPerEpoch: number | null })[] };

export type SweepsRepository = ReturnType<typeof createSweepsRepository>;

export function createSweepsRepository({ prisma }: { prisma: PrismaClient }) {
  return {
    /** The sweep and all its runs, queued, in one transaction: all or nothing (nothing when the tenant's cap refuses). */
    async createWithRuns(
      sweep: NewSweep,
      runs: { id: string; spec: JobSpec; combination: Record<string, unknown> }[],
      owner: Owner,
    ): Promise<void> {
      const createdAt = new Date();
      await prisma.$transaction(async (tx) => {
        await reserveActiveRuns(tx, owner, runs.length);
        await tx.sweep.create({
          data: {
            id: sweep.id,
            tenantId: owner.tenantId,
            name: sweep.name,
            base: sweep.base as Prisma.InputJsonValue,
            grid: (sweep.grid ?? undefined) as Prisma.InputJsonValue | undefined,
            variants: (sweep.variants ?? undefined) as Prisma.InputJsonValue | undefined,
            createdAt,
          },
        });
        await tx.run.createMany({
          // One millisecond apart, so that newest-first listings keep the combinations' order.
          data: runs.map((run, i) => ({
            ...newRunData(run.id, run.spec, owner.tenantId),
            sweepId: sweep.id,
            combination: run.combination as Prisma.InputJsonValue,
            createdAt: new Date(createdAt.getTime() + i),
          })),
        });
      }, CAPPED_TRANSACTION);
    },

    /** The tenant's sweep with its runs in creation order, each with its mean seconds per finished epoch. */
    async findOwned(id: string, tenantId: string): Promise<SweepWithRuns | null> {
      const sweep = await prisma.sweep.findFirst({ where: { id, tenantId }, include: { runs: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] } } });
      if (!sweep) return null;
      const timings = await prisma.epochSummary.groupBy({
        by: ["runId"],
        where: { runId: { in: sweep.runs.map((run) => run.id) } },
        _avg: { seconds: true },
      });
      const perRun = new Map(timings.map((timing) => [timing.runId, timing._avg.seconds]));
      return { ...sweep, runs: sweep.runs.map((run) => ({ ...run, secondsPerEpoch: perRun.get(run.id) ?? null })) };
    },
  };
}
