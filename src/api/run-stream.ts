import type { WebSocket } from "ws";
import type { EpochSummary, LiveEvent, LossPoint, StreamMessage } from "../contracts/events.js";
import { isTerminal, type RunStatus } from "../contracts/run-status.js";
import type { MetricsRepository } from "../persistence/metrics-repository.js";
import type { Run, RunsRepository } from "../persistence/runs-repository.js";
import type { LiveEventHub } from "../queue/live-events.js";

export interface RunStreamDeps {
  runs: RunsRepository;
  metrics: MetricsRepository;
  liveEvents: LiveEventHub;
  /** How often the run is re-read from Postgres in case a live message was lost, in ms. */
  pollMs: number;
  /** Ping interval; a peer that misses a whole interval is dropped, in ms. */
  heartbeatMs: number;
  /** A client whose unsent data passes this many bytes is dropped (it stopped reading). */
  maxBufferedBytes: number;
  log: { warn(obj: object, message: string): void };
}

const PAGE = 5_000;
const POINTS_PER_MESSAGE = 1_000;

/**
 * Serves one watcher of one run. Subscribes to the run's live channel first, then replays what
 * Postgres holds after `after`, then forwards live events; everything runs on one promise chain, so
 * `lastSeq` only grows and every point goes out once, in order. A live point that skips ahead is
 * preceded by the missing ones read from Postgres; a periodic re-read covers lost messages. Once the
 * run is terminal the remaining points, then `end`, are sent and the socket is closed.
 */
export function streamRun(socket: WebSocket, runId: string, after: number, deps: RunStreamDeps): void {
  let lastSeq = after;
  const sentEpochs = new Set<number>();
  let finished = false;
  let chain: Promise<void> = Promise.resolve();
  let unsubscribe: (() => Promise<void>) | undefined;
  let alive = true;

  /**
   * Sends one message; resolves once it is handed to the kernel. Catch-up awaits that (the client's
   * reading speed paces the replay); live messages do not, and a client whose backlog passes the
   * limit is dropped: it can reconnect with ?after=.
   */
  const send = (message: StreamMessage, live = true): Promise<void> => {
    if (finished || socket.readyState !== socket.OPEN) return Promise.resolve();
    if (live && socket.bufferedAmount > deps.maxBufferedBytes) {
      stop(1008, "client is not reading: buffer limit passed");
      return Promise.resolve();
    }
    return new Promise((resolve) => socket.send(JSON.stringify(message), () => resolve()));
  };

  const sendPoints = (points: LossPoint[], live = true): Promise<void> => {
    const fresh = points.filter((point) => point.seq > lastSeq);
    let sent = Promise.resolve();
    for (let i = 0; i < fresh.length; i += POINTS_PER_MESSAGE) sent = send({ type: "points", points: fresh.slice(i, i + POINTS_PER_MESSAGE) }, live);
    if (fresh.length > 0) lastSeq = fresh.at(-1)!.seq;
    return sent;
  };

  const sendEpoch = (summary: EpochSummary) => {
    if (sentEpochs.has(summary.epoch)) return;
    sentEpochs.add(summary.epoch);
    send({ type: "epoch", summary });
  };

  /** Sends stored points with seq in (lastSeq, beforeSeq), all of them when beforeSeq is absent. */
  const catchUpPoints = async (beforeSeq = Number.POSITIVE_INFINITY) => {
    while (!finished && lastSeq + 1 < beforeSeq) {
      const page = (await deps.metrics.listPoints(runId, lastSeq, PAGE)).filter((point) => point.seq < beforeSeq);
      if (page.length === 0) return;
      await sendPoints(page, false);
      if (page.length < PAGE) return;
    }
  };

  const catchUpEpochs = async () => {
    for (const summary of await deps.metrics.listEpochs(runId)) sendEpoch(summary);
  };

  /** The run is terminal in Postgres: everything it stored goes out, then `end`. */
  const finish = async (run: Run) => {
    await catchUpPoints();
    await catchUpEpochs();
    send({
      type: "end",
      status: run.status,
      reason: run.failureReason,
      finalMetrics: (run.finalMetrics as Record<string, number> | null) ?? null,
      lastSeq,
    });
    stop(1000, `run ${run.status}`);
  };

  const readRun = async (): Promise<Run> => {
    const run = await deps.runs.findById(runId);
    if (!run) throw new Error(`run ${runId} vanished`);
    return run;
  };

  const onLive = async (event: LiveEvent) => {
    if (event.type === "points") {
      const first = event.points.find((point) => point.seq > lastSeq);
      if (first && first.seq > lastSeq + 1) await catchUpPoints(first.seq);
      sendPoints(event.points);
    } else if (event.type === "epoch") {
      sendEpoch(event.summary);
    } else if (isTerminal(event.status)) {
      send(event);
      await finish(await readRun());
    } else {
      send(event);
    }
  };

  /** Safety net under pub/sub: picks up points and a terminal status whose messages were lost. */
  const poll = async () => {
    const run = await readRun(); // status first: a terminal status implies every point is stored
    if (isTerminal(run.status)) return finish(run);
    await catchUpPoints();
  };

  const enqueue = (task: () => Promise<void>) => {
    chain = chain.then(() => (finished ? undefined : task())).catch((error: unknown) => {
      deps.log.warn({ err: error, runId }, "stream failed");
      stop(1011, "stream failed; reconnect with ?after=<last seq>");
    });
  };

  let pollQueued = false; // one poll at a time: slow Postgres must not pile them up
  const pollTimer = setInterval(() => {
    if (pollQueued) return;
    pollQueued = true;
    enqueue(() => poll().finally(() => (pollQueued = false)));
  }, deps.pollMs);
  const heartbeat = setInterval(() => {
    if (!alive) return stop(1001, "no pong within a heartbeat");
    alive = false;
    socket.ping();
  }, deps.heartbeatMs);

  function stop(code: number, reason: string): void {
    if (finished) return;
    finished = true;
    clearInterval(pollTimer);
    clearInterval(heartbeat);
    void unsubscribe?.();
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
      if (code === 1001 || code === 1008) socket.terminate();
      else socket.close(code, reason);
    }
  }

  socket.on("pong", () => {
    alive = true;
  });
  socket.on("close", () => stop(1000, "client closed"));
  socket.on("error", () => stop(1011, "socket error"));

  // Subscribe before reading Postgres; live events queue up behind the catch-up task.
  const subscribed = deps.liveEvents.subscribe(runId, (event) => enqueue(() => onLive(event)));
  subscribed.catch(() => undefined); // awaited below, in order; this only marks it handled
  enqueue(async () => {
    unsubscribe = await subscribed;
    if (finished) return void unsubscribe();
    const run = await readRun(); // status before points, as in poll()
    send({ type: "hello", runId, status: run.status as RunStatus, after });
    if (isTerminal(run.status)) return finish(run);
    await catchUpPoints();
    await catchUpEpochs();
  });
}
