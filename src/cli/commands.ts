import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import type { RunList, RunView } from "./types.js";
import type { ApiClient } from "./api-client.js";
import { followRun } from "./follow-run.js";
import { describeRun, runsTable, table } from "./format.js";

export interface Io {
  out: NodeJS.WriteStream;
  input: NodeJS.ReadStream;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read ${path} as JSON: ${(error as Error).message}`);
  }
}

export async function submit(api: ApiClient, io: Io, specPath: string, follow: boolean): Promise<number> {
  const created = await api.post<{ id: string }>("/v1/runs", readJson(specPath));
  io.out.write(`submitted run ${created.id}\n`);
  return follow ? followToEnd(api, io, created.id) : 0;
}

/**
 * Follows a run until it ends. Ctrl-C stops following first (so nothing redraws over the question),
 * then asks whether to cancel the run; a second Ctrl-C at the question means no.
 * Exit code 0 only if the run succeeded; 130 after Ctrl-C.
 */
export async function followToEnd(api: ApiClient, io: Io, runId: string): Promise<number> {
  const run = await api.get<RunView>(`/v1/runs/${runId}`);
  const interrupt = new AbortController();
  const onInterrupt = () => interrupt.abort();
  process.once("SIGINT", onInterrupt);
  try {
    const end = await followRun({ wsUrl: api.wsUrl, headers: api.headers, runId, samplesTotal: run.samplesTotal, out: io.out, signal: interrupt.signal });
    if (!end) {
      await askToCancel(api, io, runId);
      return 130;
    }
    io.out.write(`\n${describeRun(await api.get<RunView>(`/v1/runs/${runId}`))}\n`);
    return end.status === "succeeded" ? 0 : 1;
  } finally {
    process.off("SIGINT", onInterrupt);
  }
}

async function askToCancel(api: ApiClient, io: Io, runId: string): Promise<void> {
  const leave = () => void io.out.write(`\nleft running; follow it again with: lossline follow ${runId}\n`);
  if (!io.input.isTTY) return leave();
  const prompt = createInterface({ input: io.input, output: io.out });
  const asked = new AbortController();
  prompt.on("SIGINT", () => asked.abort());
  let answer = "";
  try {
    answer = await prompt.question(`\ncancel run ${runId}? [y/N] `, { signal: asked.signal });
  } catch {
    answer = ""; // Ctrl-C again: no
  } finally {
    prompt.close();
  }
  if (/^y(es)?$/i.test(answer.trim())) await cancel(api, io, runId);
  else leave();
}

export async function runs(api: ApiClient, io: Io, filters: Record<string, string | undefined>): Promise<number> {
  const query = new URLSearchParams(Object.entries(filters).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const page = await api.get<RunList>(`/v1/runs?${query}`);
  io.out.write(`${runsTable(page.runs)}\n`);
  if (page.nextCursor) io.out.write(`more: --cursor ${page.nextCursor}\n`);
  return 0;
}

export async function show(api: ApiClient, io: Io, runId: string): Promise<number> {
  io.out.write(`${describeRun(await api.get<RunView>(`/v1/runs/${runId}`))}\n`);
  return 0;
}

export async function cancel(api: ApiClient, io: Io, runId: string): Promise<number> {
  const result = await api.post<{ status: string }>(`/v1/runs/${runId}/cancel`, {});
  io.out.write(result.status === "canceled" ? `run ${runId} canceled\n` : `run ${runId}: cancel requested; it stops within seconds\n`);
  return 0;
}

interface MetricsPage {
  points: { seq: number; samplesSeen: number; epoch: number; value: number; wallTime: string; x?: number[]; eta?: number | null }[];
  nextAfter: number | null;
}

/** Every point (all pages), as CSV or as a table. */
export async function metrics(api: ApiClient, io: Io, runId: string, csv: boolean, points?: string): Promise<number> {
  const rows: MetricsPage["points"] = [];
  for (let after = -1; ; ) {
    const page = await api.get<MetricsPage>(`/v1/runs/${runId}/metrics?after=${after}${points ? `&points=${points}` : ""}`);
    rows.push(...page.points);
    if (page.nextAfter === null) break; // a downsampled answer is whole; a plain one may come in pages
    after = page.nextAfter;
  }
  const header = ["seq", "samplesSeen", "epoch", "value", "wallTime", ...(rows.some((p) => p.x) ? ["x", "eta"] : [])];
  const cells = rows.map((p) => [p.seq, p.samplesSeen, p.epoch, p.value, p.wallTime, ...(p.x ? [p.x.join(" "), p.eta ?? ""] : [])].map(String));
  io.out.write(csv ? `${[header, ...cells].map((cellsOfRow) => cellsOfRow.join(",")).join("\n")}\n` : `${table(header, cells)}\n`);
  return 0;
}

export async function sweep(api: ApiClient, io: Io, sweepPath: string): Promise<number> {
  const created = await api.post<{ id: string; runs: { id: string; combination: Record<string, unknown> }[]; links: { compare: string } }>(
    "/v1/sweeps",
    readJson(sweepPath),
  );
  io.out.write(`sweep ${created.id}: ${created.runs.length} runs\n`);
  io.out.write(`${table(["run", "combination"], created.runs.map((run) => [run.id, JSON.stringify(run.combination)]))}\n`);
  io.out.write(`status: GET /v1/sweeps/${created.id}   compare: GET ${created.links.compare}\n`);
  return 0;
}
