import type { RunStatus } from "../contracts/run-status.js";
import type { PrismaClient } from "./prisma.js";

export type StatsRepository = ReturnType<typeof createStatsRepository>;

/** Aggregates over the whole store, for the API's /metrics. Each is one cheap query. */
export function createStatsRepository({ prisma }: { prisma: PrismaClient }) {
  return {
    /** Runs in each status right now; a status no run is in is absent. */
    async countRunsByStatus(): Promise<Partial<Record<RunStatus, number>>> {
      const rows = await prisma.run.groupBy({ by: ["status"], _count: { _all: true } });
      return Object.fromEntries(rows.map((row) => [row.status, row._count._all]));
    },

    /**
     * Rows ever inserted into metric_points (every worker's loss points), from Postgres' table
     * statistics (pg_stat_user_tables.n_tup_ins) rather than a COUNT over the table. It lags the
     * inserts: a busy backend flushes its statistics about once a second, an idle one up to 10 s
     * later. It starts again from 0 when the statistics are reset. Null when Postgres keeps none.
     */
    async lossPointsInserted(): Promise<number | null> {
      const rows = await prisma.$queryRaw<{ inserted: bigint | number }[]>`
        SELECT n_tup_ins AS inserted FROM pg_stat_user_tables
         WHERE relname = 'metric_points' AND schemaname = current_schema()`;
      return rows[0] ? Number(rows[0].inserted) : null;
    },
  };
}
