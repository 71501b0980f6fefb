import { TooManyActiveRunsError } from "../contracts/errors.js";
import type { FinalMetrics } from "../contracts/events.js";
import { describeSpec, queueLane, samplesTotal, type JobSpec, type QueueLane } from "../contracts/job-spec.js";
import type { RunStatus } from "../contracts/run-status.js";
import type { Prisma, Run } from "./generated/client.js";
import type { PrismaClient } from "./prisma.js";

export type { Run };

export interface RunFilter {
  status?: RunStatus;
  kind?: string;
  model?: string;
  dataset?: string;
  sweepId?: string;
  createdAfter?: Date;
  createdBefore?: Date;
}

/** A position in the newest-first listing: the last run of the previous page. */
export interface RunCursor {
  createdAt: Date;
  id: string;
}

export interface ClaimedRun {
  attempt: number;
  spec: unknown;
  cancelRequested: boolean;
}

export interface WorkerIdentity {
  workerId: string;
  backend: string;
  versions: Record<string, string>;
}

export type CancelOutcome =
  | { kind: "canceled" } // was queued: now canceled for good
  | { kind: "requested" } // is running: its worker will stop it
  | { kind: "finished"; status: RunStatus } // already terminal
  | { kind: "missing" };

/** Who is submitting: the tenant and the cap on its queued plus running runs. */
export interface Owner {
  tenantId: string;
  tenantName: string;
  maxActiveRuns: number;
}

/** The row of a new, queued run (not yet in the queue: enqueuedAt null). */
export function newRunData(id: string, spec: JobSpec, tenantId: string): Prisma.RunCreateManyInput {
  return { id, tenantId, ...describeSpec(spec), spec: spec as Prisma.InputJsonValue, samplesTotal: samplesTotal(spec) };
}

/**
 * How long a capped insert may wait for a connection and then run (the tenant's lock included)
 * before it fails, with P2028, which the API answers 503.
 */
export const CAPPED_TRANSACTION = { maxWait: 5_000, timeout: 10_000 };

/**
 * Inside a transaction: takes the tenant's lock (so two submissions cannot both pass the count) and
 * refuses when `adding` more runs would take it past its cap on queued plus running runs.
 */
export async function reserveActiveRuns(tx: Prisma.TransactionClient, owner: Owner, adding: number): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${owner.tenantId}, 7))`;
  const active = await tx.run.count({ where: { tenantId: owner.tenantId, status: { in: ["queued", "running"] } } });
  if (active + adding > owner.maxActiveRuns) {
    const asked = adding === 1 ? "another run" : `${adding} more runs`;
    throw new TooManyActiveRunsError(
      `tenant ${owner.tenantName} has ${active} queued or running runs and may have at most ${owner.maxActiveRuns}: ` +
        `${asked} would pass that; wait for runs to end or cancel some`,
    );
  }
}

export type RunsRepository = ReturnType<typeof createRunsRepository>;

export function createRunsRepository({ prisma }: { prisma: PrismaClient }) {
  return {
    /**
     * Stores a new run of `owner` as `queued`; it is not in the queue yet (enqueuedAt null). Refused
     * (TooManyActiveRunsError) when the tenant is at its cap.
     */
    async create(id: string, spec: JobSpec, owner: Owner): Promise<Run> {
      return prisma.$transaction(async (tx) => {
        await reserveActiveRuns(tx, owner, 1);
        return tx.run.create({ data: newRunData(id, spec, owner.tenantId) });
      }, CAPPED_TRANSACTION);
    },

    async markEnqueued(id: string): Promise<void> {
      await prisma.run.updateMany({ where: { id, enqueuedAt: null }, data: { enqueuedAt: new Date() } });
    },

    /** Any tenant's run: for workers and the stream, which were handed an id already checked. */
    async findById(id: string): Promise<Run | null> {
      return prisma.run.findUnique({ where: { id } });
    },

    /** The run if it belongs to the tenant; another tenant's run is as absent as an unknown one. */
    async findOwned(id: string, tenantId: string): Promise<Run | null> {
      return prisma.run.findFirst({ where: { id, tenantId } });
    },

    /** The tenant's runs among `ids`, in one query (others' and unknown ids are simply absent). */
    async findManyOwned(ids: string[], tenantId: string): Promise<Run[]> {
      return prisma.run.findMany({ where: { id: { in: ids }, tenantId } });
    },

    /** Newest first; `limit + 1` rows are read to know whether another page exists. */
    async list(tenantId: string, filter: RunFilter, limit: number, cursor?: RunCursor): Promise<{ runs: Run[]; next: RunCursor | null }> {
      const where: Prisma.RunWhereInput = {
        tenantId,
        status: filter.status,
        kind: filter.kind,
        model: filter.model,
        dataset: filter.dataset,
        sweepId: filter.sweepId,
        createdAt: { gte: filter.createdAfter, lt: filter.createdBefore },
      };
      if (cursor) {
        where.OR = [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }];
      }
      const rows = await prisma.run.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: limit + 1 });
      const runs = rows.slice(0, limit);
      const last = runs.at(-1);
      return { runs, next: rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null };
    },

    /**
     * A worker takes the run: a new attempt begins, and every write of an older attempt is refused
     * from now on. Null when the run is already terminal (canceled while queued, say) or unknown.
     */
    async claim(id: string, worker: WorkerIdentity): Promise<ClaimedRun | null> {
      const rows = await prisma.$queryRaw<{ attempt: number; spec: unknown; cancel_requested: boolean }[]>`
        UPDATE runs
           SET status = 'running', attempt = attempt + 1, worker_id = ${worker.workerId},
               backend = ${worker.backend}, versions = ${JSON.stringify(worker.versions)}::jsonb,
               started_at = COALESCE(started_at, now())
         WHERE id = ${id}::uuid AND status IN ('queued', 'running')
     RETURNING attempt, spec, cancel_requested`;
      const row = rows[0];
      return row ? { attempt: row.attempt, spec: row.spec, cancelRequested: row.cancel_requested } : null;
    },

    /** Ends the run if `attempt` still owns it; false when it does not (another worker took over, or it ended). */
    async finish(
      id: string,
      attempt: number,
      outcome: { status: "succeeded" | "failed" | "canceled"; reason: string | null; finalMetrics: FinalMetrics | null },
    ): Promise<boolean> {
      const { count } = await prisma.run.updateMany({
        where: { id, attempt, status: "running" },
        data: {
          status: outcome.status,
          failureReason: outcome.reason,
          finalMetrics: (outcome.finalMetrics ?? undefined) as Prisma.InputJsonValue | undefined,
          finishedAt: new Date(),
        },
      });
      return count === 1;
    },

    /** Puts a running run back to `queued` (its worker is shutting down) if `attempt` still owns it. */
    async release(id: string, attempt: number): Promise<boolean> {
      const { count } = await prisma.run.updateMany({
        where: { id, attempt, status: "running" },
        data: { status: "queued", workerId: null },
      });
      return count === 1;
    },

    /** What a worker polls while it trains: whether to stop, and whether it still owns the run. */
    async controlState(id: string): Promise<{ cancelRequested: boolean; attempt: number; status: RunStatus } | null> {
      return prisma.run.findUnique({ where: { id }, select: { cancelRequested: true, attempt: true, status: true } });
    },

    /**
     * One statement, so a worker's claim and a cancel cannot both win: a queued run ends now, a running
     * one is flagged. Another tenant's run is `missing`.
     */
    async requestCancel(id: string, tenantId: string): Promise<CancelOutcome> {
      const rows = await prisma.$queryRaw<{ status: RunStatus; was: RunStatus }[]>`
        UPDATE runs r
           SET cancel_requested = true,
               status = CASE WHEN r.status = 'queued' THEN 'canceled'::"RunStatus" ELSE r.status END,
               failure_reason = CASE WHEN r.status = 'queued' THEN 'canceled before it started' ELSE r.failure_reason END,
               finished_at = CASE WHEN r.status = 'queued' THEN now() ELSE r.finished_at END
          FROM (SELECT id, status FROM runs WHERE id = ${id}::uuid AND tenant_id = ${tenantId}::uuid FOR UPDATE) AS before
         WHERE r.id = before.id AND r.status IN ('queued', 'running')
     RETURNING r.status, before.status AS was`;
      const row = rows[0];
      if (row) return row.was === "queued" ? { kind: "canceled" } : { kind: "requested" };
      const run = await prisma.run.findFirst({ where: { id, tenantId }, select: { status: true } });
      return run ? { kind: "finished", status: run.status } : { kind: "missing" };
    },

    /** Running runs started before `olderThan`, oldest first: candidates for the reconciler. */
    async runningBefore(olderThan: Date, limit: number): Promise<{ id: string; attempt: number; lane: QueueLane }[]> {
      const rows = await prisma.run.findMany({
        where: { status: "running", startedAt: { lt: olderThan } },
        orderBy: { startedAt: "asc" },
        take: limit,
        select: { id: true, attempt: true, spec: true },
      });
      return rows.map(({ spec, ...row }) => ({ ...row, lane: queueLane(spec) }));
    },

    /** Queued runs created before `olderThan`, oldest first: candidates for the reconciler. */
    async queuedBefore(olderThan: Date, limit: number): Promise<{ id: string; enqueuedAt: Date | null; lane: QueueLane }[]> {
      const rows = await prisma.run.findMany({
        where: { status: "queued", createdAt: { lt: olderThan } },
        orderBy: { createdAt: "asc" },
        take: limit,
        select: { id: true, enqueuedAt: true, spec: true },
      });
      return rows.map(({ spec, ...row }) => ({ ...row, lane: queueLane(spec) }));
    },
  };
}
