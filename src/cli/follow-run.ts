// Follows a run's WebSocket stream in a terminal: a progress bar with the latest loss, a line per
// epoch in the style of the book's train_ch5, and the end message.
import WebSocket from "ws";
import { streamMessageSchema, type StreamMessage } from "../contracts/events.js";

export interface FollowOptions {
  wsUrl: string;
  runId: string;
  samplesTotal: number;
  out?: NodeJS.WriteStream;
}

type EndMessage = Extract<StreamMessage, { type: "end" }>;

export function followRun({ wsUrl, runId, samplesTotal, out = process.stdout }: FollowOptions): Promise<EndMessage> {
  const interactive = out.isTTY === true;
  const started = Date.now();
  let lastPrinted = 0;
  let barShown = false;

  const clearBar = () => {
    if (interactive && barShown) out.write("\r\x1b[2K");
    barShown = false;
  };
  const line = (text: string) => {
    clearBar();
    out.write(`${text}\n`);
  };
  const bar = (samplesSeen: number, epoch: number, loss: number, seq: number, force: boolean) => {
    const fraction = samplesTotal > 0 ? Math.min(1, samplesSeen / samplesTotal) : 0;
    const width = 30;
    const filled = Math.round(fraction * width);
    const elapsed = (Date.now() - started) / 1000;
    const eta = fraction > 0 ? elapsed * (1 / fraction - 1) : Number.NaN;
    const text =
      `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ` +
      `${samplesSeen.toLocaleString("en-US")}/${samplesTotal.toLocaleString("en-US")} samples  ` +
      `epoch ${epoch.toFixed(2)}  loss ${loss.toFixed(4)}  (point ${seq})` +
      (Number.isFinite(eta) && fraction < 1 ? `  eta ${eta.toFixed(1)} s` : "");
    if (interactive) {
      out.write(`\r\x1b[2K${text}`);
      barShown = true;
    } else if (force || Date.now() - lastPrinted > 250) {
      out.write(`${text}\n`);
      lastPrinted = Date.now();
    }
  };

  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${wsUrl}/v1/runs/${runId}/stream`);
    let end: EndMessage | undefined;
    socket.on("message", (data) => {
      const message = streamMessageSchema.parse(JSON.parse(String(data)));
      switch (message.type) {
        case "hello":
          line(`watching run ${runId} (status ${message.status})`);
          break;
        case "points": {
          const last = message.points.at(-1);
          if (last) bar(last.samplesSeen, last.epoch, last.value, last.seq, last.samplesSeen >= samplesTotal);
          break;
        }
        case "epoch": {
          const { epoch, loss, trainAccuracy, testAccuracy, seconds } = message.summary;
          const accuracy =
            (trainAccuracy === null ? "" : `, train acc ${trainAccuracy.toFixed(3)}`) +
            (testAccuracy === null ? "" : `, test acc ${testAccuracy.toFixed(3)}`);
          line(`epoch ${epoch}, loss ${loss.toFixed(4)}${accuracy}, time ${seconds.toFixed(1)} sec`);
          break;
        }
        case "status":
          line(`status: ${message.status}${message.reason ? ` (${message.reason})` : ""}`);
          break;
        case "end":
          end = message;
          break;
      }
    });
    socket.once("close", (code, reason) => {
      clearBar();
      if (end) resolve(end);
      else reject(new Error(`stream closed before the run ended (${code} ${String(reason)})`));
    });
    socket.once("error", reject);
  });
}
