// Follows a run's WebSocket stream in a terminal: a progress bar with the latest loss and an ETA,
// a line per epoch in the style of the book's train_ch5, and the end message. Reconnects with
// ?after= when the server drops the connection before the run ends.
import WebSocket from "ws";
import { streamMessageSchema, type StreamMessage } from "../contracts/events.js";

export interface FollowOptions {
  wsUrl: string;
  runId: string;
  /** Sent with the upgrade request (the API key). */
  headers?: Record<string, string>;
  samplesTotal: number;
  out?: NodeJS.WriteStream;
  /** Aborting stops following (the run goes on); the promise then resolves with null. */
  signal?: AbortSignal;
}

type EndMessage = Extract<StreamMessage, { type: "end" }>;

const MAX_RECONNECTS = 10;

export async function followRun({ wsUrl, runId, headers = {}, samplesTotal, out = process.stdout, signal }: FollowOptions): Promise<EndMessage | null> {
  const progress = createProgress(samplesTotal, out);
  let lastSeq = -1;
  for (let attempt = 0; ; attempt++) {
    const url = `${wsUrl}/v1/runs/${runId}/stream?after=${lastSeq}`;
    const result = await followOnce(url, headers, progress, signal, (seq) => (lastSeq = seq), attempt === 0);
    if (result.kind !== "dropped") return result.kind === "end" ? result.end : null;
    if (attempt >= MAX_RECONNECTS) throw new Error(`stream closed before the run ended (${result.why}); gave up after ${MAX_RECONNECTS} reconnects`);
    progress.line(`connection lost (${result.why}); reconnecting after point ${lastSeq}`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 10_000)));
  }
}

type Outcome = { kind: "end"; end: EndMessage } | { kind: "aborted" } | { kind: "dropped"; why: string };

function followOnce(url: string, headers: Record<string, string>, progress: Progress, signal: AbortSignal | undefined, seen: (seq: number) => void, first: boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve({ kind: "aborted" });
    const socket = new WebSocket(url, { headers });
    let end: EndMessage | undefined;
    const abort = () => socket.close(1000, "client stopped following");
    signal?.addEventListener("abort", abort, { once: true });
    socket.on("message", (data) => {
      const parsed = streamMessageSchema.safeParse(JSON.parse(String(data)));
      if (!parsed.success) return; // a message type this client does not know: skip it
      const message = parsed.data;
      if (message.type === "hello" && first) progress.line(`watching run ${message.runId} (status ${message.status})`);
      else if (message.type === "points" && message.points.length > 0) {
        const last = message.points.at(-1)!;
        seen(last.seq);
        progress.bar(last.samplesSeen, last.epoch, last.value, last.seq);
      } else if (message.type === "epoch") progress.line(epochLine(message.summary));
      else if (message.type === "status") progress.line(`status: ${message.status}${message.reason ? ` (${message.reason})` : ""}`);
      else if (message.type === "end") end = message;
    });
    socket.once("close", (code, reason) => {
      signal?.removeEventListener("abort", abort);
      progress.clear();
      if (end) resolve({ kind: "end", end });
      else if (signal?.aborted) resolve({ kind: "aborted" });
      else resolve({ kind: "dropped", why: `${code} ${String(reason)}`.trim() });
    });
    socket.once("error", () => undefined); // 'close' follows and decides
  });
}

/** "epoch 1, loss 0.2464, train acc 0.790, test acc 0.835, time 2.9 sec", as train_ch5 prints. */
function epochLine(summary: Extract<StreamMessage, { type: "epoch" }>["summary"]): string {
  const { epoch, loss, trainAccuracy, testAccuracy, seconds } = summary;
  const accuracy =
    (trainAccuracy === null ? "" : `, train acc ${trainAccuracy.toFixed(3)}`) + (testAccuracy === null ? "" : `, test acc ${testAccuracy.toFixed(3)}`);
  return `epoch ${epoch}, loss ${loss.toFixed(4)}${accuracy}, time ${seconds.toFixed(1)} sec`;
}

type Progress = ReturnType<typeof createProgress>;

/**
 * The progress bar. Its ETA comes from the rate observed while following (samples gained since the
 * first point received), not from the run's start: points replayed on connect are not progress.
 */
function createProgress(samplesTotal: number, out: NodeJS.WriteStream) {
  const interactive = out.isTTY === true;
  let barShown = false;
  let lastPrinted = 0;
  let firstSeen: { samples: number; at: number } | undefined;
  const clear = () => {
    if (interactive && barShown) out.write("\r\x1b[2K");
    barShown = false;
  };
  return {
    clear,
    line(text: string) {
      clear();
      out.write(`${text}\n`);
    },
    bar(samplesSeen: number, epoch: number, loss: number, seq: number) {
      const now = Date.now();
      firstSeen ??= { samples: samplesSeen, at: now };
      const fraction = samplesTotal > 0 ? Math.min(1, samplesSeen / samplesTotal) : 0;
      const width = 30;
      const filled = Math.round(fraction * width);
      const rate = (samplesSeen - firstSeen.samples) / Math.max(1e-3, (now - firstSeen.at) / 1000);
      const eta = rate > 0 ? (samplesTotal - samplesSeen) / rate : Number.NaN;
      const text =
        `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ` +
        `${samplesSeen.toLocaleString("en-US")}/${samplesTotal.toLocaleString("en-US")} samples  ` +
        `epoch ${epoch.toFixed(2)}  loss ${loss.toFixed(4)}  (point ${seq})` +
        (Number.isFinite(eta) && fraction < 1 ? `  eta ${eta.toFixed(1)} s` : "");
      if (interactive) {
        out.write(`\r\x1b[2K${text}`);
        barShown = true;
      } else if (fraction >= 1 || now - lastPrinted > 250) {
        out.write(`${text}\n`);
        lastPrinted = now;
      }
    },
  };
}
