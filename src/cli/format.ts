import type { RunSummary, RunView } from "../contracts/api.js";

/** A plain text table: columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

const number = (value: number | undefined, digits = 4) => (value === undefined ? "" : value.toFixed(digits));

function seconds(run: Pick<RunSummary, "startedAt" | "finishedAt">): string {
  if (!run.startedAt) return "";
  const end = run.finishedAt ? Date.parse(run.finishedAt) : Date.now();
  return `${((end - Date.parse(run.startedAt)) / 1000).toFixed(1)} s`;
}

export function runsTable(runs: RunSummary[]): string {
  return table(
    ["id", "status", "kind", "model", "dataset", "optimizer", "final loss", "duration", "created"],
    runs.map((run) => [
      run.id,
      run.status,
      run.kind,
      run.model,
      run.dataset,
      run.optimizer,
      number(run.finalMetrics?.loss ?? run.finalMetrics?.f),
      seconds(run),
      run.createdAt,
    ]),
  );
}

/** What `show` prints, and the summary after following a run. */
export function describeRun(run: RunView): string {
  const lines = [
    `run ${run.id}: ${run.status}${run.failureReason ? ` (${run.failureReason})` : ""}`,
    `  ${run.kind} · ${run.model} · ${run.dataset} · ${run.optimizer}`,
    `  spec ${JSON.stringify(run.spec)}`,
  ];
  if (run.workerId) lines.push(`  worker ${run.workerId}, backend ${run.backend}, attempt ${run.attempt}, ${seconds(run)}`);
  if (run.finalMetrics) lines.push(`  final ${Object.entries(run.finalMetrics).map(([key, value]) => `${key} ${+value.toPrecision(6)}`).join(", ")}`);
  if (run.latestPoint) lines.push(`  ${run.latestPoint.seq + 1} points, last at ${run.latestPoint.samplesSeen.toLocaleString("en-US")} samples: ${number(run.latestPoint.value)}`);
  if (run.epochs.length > 0) {
    const rows = run.epochs.map((e) => [String(e.epoch), number(e.loss), number(e.trainAccuracy ?? undefined, 3), number(e.testAccuracy ?? undefined, 3), e.seconds.toFixed(2)]);
    lines.push(table(["epoch", "loss", "train acc", "test acc", "seconds"], rows).replace(/^/gm, "  "));
  }
  return lines.join("\n");
}
