-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'canceled');

-- CreateTable
CREATE TABLE "runs" (
    "id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "dataset" TEXT NOT NULL,
    "optimizer" TEXT NOT NULL,
    "spec" JSONB NOT NULL,
    "status" "RunStatus" NOT NULL DEFAULT 'queued',
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "worker_id" TEXT,
    "backend" TEXT,
    "versions" JSONB,
    "failure_reason" TEXT,
    "final_metrics" JSONB,
    "samples_total" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "enqueued_at" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "metric_points" (
    "run_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "samples_seen" INTEGER NOT NULL,
    "epoch" DOUBLE PRECISION NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "wall_time" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "metric_points_pkey" PRIMARY KEY ("run_id","seq")
);

-- CreateTable
CREATE TABLE "epoch_summaries" (
    "run_id" UUID NOT NULL,
    "epoch" INTEGER NOT NULL,
    "loss" DOUBLE PRECISION NOT NULL,
    "train_accuracy" DOUBLE PRECISION,
    "test_accuracy" DOUBLE PRECISION,
    "seconds" DOUBLE PRECISION NOT NULL,
    "wall_time" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "epoch_summaries_pkey" PRIMARY KEY ("run_id","epoch")
);

-- CreateIndex
CREATE INDEX "runs_created_at_id_idx" ON "runs"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "runs_status_created_at_idx" ON "runs"("status", "created_at" DESC);

-- AddForeignKey
ALTER TABLE "metric_points" ADD CONSTRAINT "metric_points_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "epoch_summaries" ADD CONSTRAINT "epoch_summaries_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
