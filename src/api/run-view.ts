import type { RunSummary, RunView } from "../contracts/api.js";
import type { EpochSummary, FinalMetrics, LossPoint } from "../contracts/events.js";
import type { JobSpec } from "../contracts/job-spec.js";
import type { Run } from "../persistence/runs-repository.js";

export const runLinks = (id: string) => ({
  self: `/v1/runs/${id}`,
  metrics: `/v1/runs/${id}/metrics`,
  stream: `/v1/runs/${id}/stream`,
});

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function toRunSummary(run: Run): RunSummary {
  return {
    id: run.id,
    kind: run.kind,
    model: run.model,
    dataset: run.dataset,
    optimizer: run.optimizer,
    spec: run.spec as JobSpec,
    status: run.status,
    attempt: run.attempt,
    cancelRequested: run.cancelRequested,
    workerId: run.workerId,
    backend: run.backend,
    versions: run.versions as Record<string, string> | null,
    failureReason: run.failureReason,
    finalMetrics: run.finalMetrics as FinalMetrics | null,
    samplesTotal: run.samplesTotal,
    sweepId: run.sweepId,
    combination: run.combination as Record<string, unknown> | null,
    createdAt: run.createdAt.toISOString(),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    links: runLinks(run.id),
  };
}

export function toRunView(run: Run, latestPoint: LossPoint | null, epochs: EpochSummary[]): RunView {
  return { ...toRunSummary(run), latestPoint, epochs };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Opaque page cursor: the last run of a page, as base64url JSON. */
export function encodeCursor(cursor: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString("base64url");
}

export function decodeCursor(text: string): { createdAt: Date; id: string } | null {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown[];
    const date = new Date(String(createdAt));
    const year = date.getUTCFullYear();
    if (typeof id !== "string" || !UUID.test(id) || Number.isNaN(year) || year < 1970 || year > 9999) return null;
    return { createdAt: date, id };
  } catch {
    return null;
  }
}
