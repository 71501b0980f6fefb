-- AlterTable
ALTER TABLE "metric_points" ADD COLUMN     "eta" DOUBLE PRECISION,
ADD COLUMN     "x" DOUBLE PRECISION[];
