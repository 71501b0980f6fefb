import { StaleAttemptError } from "../contracts/errors.js";
import type { EpochSummary, LossPoint } from "../contracts/events.js";
import type { PrismaClient } from "./prisma.js";

interface PointRow {
  seq: number;
  samples_seen: number;
  epoch: number;
  value: number;
  wall_time: Date;
  x: number[] | null;
  eta: number | null;
}

interface PointModel {
  seq: number;
  samplesSeen: number;
  epoch: number;
  value: number;
  wallTime: Date;
  x: number[] | null;
  eta: number | null;
}

/** Training points carry no iterate; trace points carry x and eta (null at the start). */
const fromModel = (row: PointModel): LossPoint => ({
  seq: row.seq,
  samplesSeen: row.samplesSeen,
  epoch: row.epoch,
  value: row.value,
  wallTime: row.wallTime.toISOString(),
  ...(row.x && row.x.length > 0 ? { x: row.x, eta: row.eta } : {}),
});

const toPoint = (row: PointRow): LossPoint =>
  fromModel({ ...row, samplesSeen: row.samples_seen, wallTime: row.wall_time });

/** A Postgres array literal of float8s ('{}' when the point has no iterate); JS prints doubles exactly. */
const arrayLiteral = (x: number[] | undefined) => `{${(x ?? []).join(",")}}`;

export type MetricsRepository = ReturnType<typeof createMetricsRepository>;

export function createMetricsRepository({ prisma }: { prisma: PrismaClient }) {
  /** Throws StaleAttemptError unless `attempt` is still the run's current, running attempt. */
  async function assertCurrent(runId: string, attempt: number): Promise<void> {
    const current = await prisma.run.count({ where: { id: runId, attempt, status: "running" } });
    if (current !== 1) throw new StaleAttemptError(runId, attempt);
  }

  return {
    /**
     * Stores points for the run's current attempt in one statement; a seq already stored is skipped,
     * so a retried write never adds a second copy. The owner row is share-locked, so a new claim
     * waits for this write and a write after the claim is refused.
     * Returns the points actually inserted, in seq order.
     */
    async insertPoints(runId: string, attempt: number, points: LossPoint[]): Promise<LossPoint[]> {
      if (points.length === 0) return [];
      const rows = await prisma.$queryRaw<PointRow[]>`
        WITH owner AS (
          SELECT id FROM runs WHERE id = ${runId}::uuid AND attempt = ${attempt} AND status = 'running' FOR SHARE
        )
        INSERT INTO metric_points (run_id, seq, samples_seen, epoch, value, wall_time, x, eta)
        SELECT owner.id, p.seq, p.samples_seen, p.epoch, p.value, p.wall_time, p.x::float8[], p.eta
          FROM owner,
               unnest(${points.map((p) => p.seq)}::int[], ${points.map((p) => p.samplesSeen)}::int[],
                      ${points.map((p) => p.epoch)}::float8[], ${points.map((p) => p.value)}::float8[],
                      ${points.map((p) => p.wallTime)}::timestamptz[], ${points.map((p) => arrayLiteral(p.x))}::text[],
                      ${points.map((p) => p.eta ?? null)}::float8[])
               AS p(seq, samples_seen, epoch, value, wall_time, x, eta)
        ON CONFLICT (run_id, seq) DO NOTHING
        RETURNING seq, samples_seen, epoch, value, wall_time, x, eta`;
      if (rows.length < points.length) await assertCurrent(runId, attempt);
      return rows.map(toPoint).sort((a, b) => a.seq - b.seq);
    },

    /** Stores an epoch summary for the current attempt; false when that epoch was already stored. */
    async insertEpoch(runId: string, attempt: number, summary: EpochSummary): Promise<boolean> {
      const inserted = await prisma.$executeRaw`
        WITH owner AS (
          SELECT id FROM runs WHERE id = ${runId}::uuid AND attempt = ${attempt} AND status = 'running' FOR SHARE
        )
        INSERT INTO epoch_summaries (run_id, epoch, loss, train_accuracy, test_accuracy, seconds, wall_time)
        SELECT owner.id, ${summary.epoch}, ${summary.loss}, ${summary.trainAccuracy}::float8, ${summary.testAccuracy}::float8,
               ${summary.seconds}, ${summary.wallTime}::timestamptz
          FROM owner
        ON CONFLICT (run_id, epoch) DO NOTHING`;
      if (inserted === 0) await assertCurrent(runId, attempt);
      return inserted === 1;
    },

    /** Points with seq > afterSeq, in seq order, at most `limit`. */
    async listPoints(runId: string, afterSeq: number, limit: number): Promise<LossPoint[]> {
      const rows = await prisma.metricPoint.findMany({
        where: { runId, seq: { gt: afterSeq } },
        orderBy: { seq: "asc" },
        take: limit,
      });
      return rows.map(fromModel);
    },

    async countPoints(runId: string, afterSeq = -1): Promise<number> {
      return prisma.metricPoint.count({ where: { runId, seq: { gt: afterSeq } } });
    },

    async latestPoint(runId: string): Promise<LossPoint | null> {
      const row = await prisma.metricPoint.findFirst({ where: { runId }, orderBy: { seq: "desc" } });
      return row ? fromModel(row) : null;
    },

    /**
     * At most `maxPoints` points that keep the curve's shape: points with seq > afterSeq are split into
     * maxPoints / 2 buckets of consecutive seqs, and each bucket contributes its lowest and its highest
     * point (one when they coincide), so no spike or dip is hidden.
     */
    async downsample(runId: string, maxPoints: number, afterSeq = -1): Promise<LossPoint[]> {
      const buckets = Math.max(1, Math.floor(maxPoints / 2));
      const rows = await prisma.$queryRaw<PointRow[]>`
        SELECT seq, samples_seen, epoch, value, wall_time, x, eta FROM (
          SELECT *, row_number() OVER (PARTITION BY bucket ORDER BY value ASC, seq ASC) AS low,
                    row_number() OVER (PARTITION BY bucket ORDER BY value DESC, seq ASC) AS high
            FROM (SELECT *, ntile(${buckets}::int) OVER (ORDER BY seq) AS bucket
                    FROM metric_points WHERE run_id = ${runId}::uuid AND seq > ${afterSeq}) AS bucketed
        ) AS ranked
        WHERE low = 1 OR high = 1
        ORDER BY seq`;
      return rows.map(toPoint);
    },

    async listEpochs(runId: string): Promise<EpochSummary[]> {
      const rows = await prisma.epochSummary.findMany({ where: { runId }, orderBy: { epoch: "asc" } });
      return rows.map(({ epoch, loss, trainAccuracy, testAccuracy, seconds, wallTime }) => ({
        epoch,
        loss,
        trainAccuracy,
        testAccuracy,
        seconds,
        wallTime: wallTime.toISOString(),
      }));
    },
  };
}
