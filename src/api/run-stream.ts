import type { WebSocket } from "ws";
import type { EpochSummary, LiveEvent, LossPoint, StreamMessage } from "../contracts/events.js";
import { isTerminal } from "../contracts/run-status.js";
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
  /**
   * A client whose backlog passes this many bytes is dropped (it stopped reading): bytes the socket
   * has not sent plus live events waiting behind a send the client does not take.
   */
  maxBufferedBytes: number;
  log: { warn(obj: object, message: string): void };
}

const PAGE = 5_000;
const POINTS_PER_MESSAGE = 1_000;
/** Bytes a point takes in a message, about (seq, samples, epoch, value, time; an iterate adds ~20 per coordinate). */
const POINT_BYTES = 110;

/** About how many bytes a live event will take on the wire: for the backlog limit, not exact. */
const approximateBytes = (event: LiveEvent) =>
  event.type === "points" ? 32 + event.points.reduce((sum, point) => sum + POINT_BYTES + 20 * (point.x?.length ?? 0), 0) : 400;

/** Serves one watcher of one run over `socket` until the run ends or the client leaves. */
export function streamRun(socket: WebSocket, runId: string, after: number, deps: RunStreamDeps): void {
  new RunStream(socket, runId, after, deps).start();
}

/**
 * Subscribes to the run's live channel first, then replays what Postgres holds after `after`, then
 * forwards live events. Every task runs on one promise chain, so `lastSeq` only grows and every
 * point goes out once, in order. A live point that skips ahead is preceded by the missing ones read
 * from Postgres; a periodic re-read covers lost messages. Once the run is terminal the remaining
 * points, then `end`, are sent and the socket is closed.
 */
class RunStream {
  private lastSeq: number;
  private readonly sentEpochs = new Set<number>();
  private finished = false;
  private chain: Promise<void> = Promise.resolve();
  /** Resolves to the unsubscribe function once Redis confirmed the subscription. */
  private subscription: Promise<() => Promise<void>> | undefined;
  private alive = true;
  /** Approximate bytes of live events received but not yet sent (waiting on the chain). */
  private waitingLiveBytes = 0;
  /**
   * True during the first replay from Postgres: live points are not queued then (they are stored
   * before they are published, so the replay, and one more read after it, sends them), which keeps
   * a long replay to a slow client from counting as a backlog.
   */
  private replaying = true;
  /** During the replay: approximate bytes of live points published since a send last completed. */
  private liveSinceDrain = 0;
  private pollQueued = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly runId: string,
    private readonly after: number,
    private readonly deps: RunStreamDeps,
  ) {
    this.lastSeq = after;
  }

  start(): void {
    this.socket.on("pong", () => (this.alive = true));
    this.socket.on("close", () => this.stop(1000, "client closed"));
    this.socket.on("error", () => this.stop(1011, "socket error"));
    // Subscribe before reading Postgres; live events queue up behind the catch-up task.
    const subscription = this.deps.liveEvents.subscribe(this.runId, (event) => this.onLiveArrival(event));
    subscription.catch(() => undefined); // awaited in order below; this only marks it handled
    this.subscription = subscription;
    this.enqueue(() => this.catchUp(subscription));
    this.pollTimer = setInterval(() => this.schedulePoll(), this.deps.pollMs);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.deps.heartbeatMs);
  }

  private async catchUp(subscription: Promise<() => Promise<void>>): Promise<void> {
    await subscription;
    const run = await this.readRun(); // status before points: a terminal status implies every point is stored
    await this.send({ type: "hello", runId: this.runId, status: run.status, after: this.after });
    if (isTerminal(run.status)) return this.finish(run);
    await this.catchUpPoints();
    await this.catchUpEpochs();
    this.replaying = false;
    await this.catchUpPoints(); // what was published during the replay; later points come live
  }

  /**
   * A live event joins the chain unless the backlog is over the limit. The chain waits for each
   * send to reach the kernel, so a client that stops reading stalls it and events pile up here:
   * counting them is what notices such a client.
   */
  private onLiveArrival(event: LiveEvent): void {
    if (this.finished) return;
    const bytes = approximateBytes(event);
    if (this.replaying && event.type === "points") {
      // Not queued (the replay sends it from Postgres), but counted while the client takes nothing:
      // a client that reads slowly drains now and then and starts again from zero, one that stopped
      // reading never does.
      this.liveSinceDrain += bytes;
      if (this.socket.bufferedAmount + this.liveSinceDrain > this.deps.maxBufferedBytes) this.stop(1008, "client is not reading: buffer limit passed");
      return;
    }
    if (this.socket.bufferedAmount + this.waitingLiveBytes + bytes > this.deps.maxBufferedBytes) {
      return this.stop(1008, "client is not reading: buffer limit passed");
    }
    this.waitingLiveBytes += bytes;
    this.enqueue(() => {
      this.waitingLiveBytes -= bytes;
      return this.onLive(event);
    });
  }

  private async onLive(event: LiveEvent): Promise<void> {
    if (event.type === "points") {
      const first = event.points.find((point) => point.seq > this.lastSeq);
      if (first && first.seq > this.lastSeq + 1) await this.catchUpPoints(first.seq);
      await this.sendPoints(event.points);
    } else if (event.type === "epoch") {
      await this.sendEpoch(event.summary);
    } else {
      await this.send(event);
      if (isTerminal(event.status)) await this.finish(await this.readRun());
    }
  }

  /** Safety net under pub/sub: picks up points and a terminal status whose messages were lost. */
  private async poll(): Promise<void> {
    const run = await this.readRun();
    if (isTerminal(run.status)) return this.finish(run);
    await this.catchUpPoints();
  }

  /** The run is terminal in Postgres: everything it stored goes out, then `end`. */
  private async finish(run: Run): Promise<void> {
    await this.catchUpPoints();
    await this.catchUpEpochs();
    await this.send({
      type: "end",
      status: run.status,
      reason: run.failureReason,
      finalMetrics: (run.finalMetrics as Record<string, number> | null) ?? null,
      lastSeq: this.lastSeq,
    });
    this.stop(1000, `run ${run.status}`);
  }

  /** Sends stored points with seq in (lastSeq, beforeSeq), all of them when beforeSeq is absent, paced by the client. */
  private async catchUpPoints(beforeSeq = Number.POSITIVE_INFINITY): Promise<void> {
    while (!this.finished && this.lastSeq + 1 < beforeSeq) {
      const page = (await this.deps.metrics.listPoints(this.runId, this.lastSeq, PAGE)).filter((point) => point.seq < beforeSeq);
      if (page.length === 0) return;
      await this.sendPoints(page, false);
      if (page.length < PAGE) return;
    }
  }

  private async catchUpEpochs(): Promise<void> {
    for (const summary of await this.deps.metrics.listEpochs(this.runId)) await this.sendEpoch(summary);
  }

  private sendPoints(points: LossPoint[], live = true): Promise<void> {
    const fresh = points.filter((point) => point.seq > this.lastSeq);
    let sent = Promise.resolve();
    for (let i = 0; i < fresh.length; i += POINTS_PER_MESSAGE) {
      sent = this.send({ type: "points", points: fresh.slice(i, i + POINTS_PER_MESSAGE) }, live);
    }
    if (fresh.length > 0) this.lastSeq = fresh.at(-1)!.seq;
    return sent;
  }

  private sendEpoch(summary: EpochSummary): Promise<void> {
    if (this.sentEpochs.has(summary.epoch)) return Promise.resolve();
    this.sentEpochs.add(summary.epoch);
    return this.send({ type: "epoch", summary });
  }

  /**
   * Sends one message; resolves once it is handed to the kernel. Catch-up waits for that (the
   * client's reading speed paces the replay); live sends do not, and a client whose backlog passes
   * the limit is dropped: it can reconnect with ?after=.
   */
  private send(message: StreamMessage, live = true): Promise<void> {
    if (this.finished || this.socket.readyState !== this.socket.OPEN) return Promise.resolve();
    if (live && this.socket.bufferedAmount > this.deps.maxBufferedBytes) {
      this.stop(1008, "client is not reading: buffer limit passed");
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.socket.send(JSON.stringify(message), () => {
        this.liveSinceDrain = 0;
        resolve();
      }),
    );
  }

  private async readRun(): Promise<Run> {
    const run = await this.deps.runs.findById(this.runId);
    if (!run) throw new Error(`run ${this.runId} vanished`);
    return run;
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain
      .then(() => (this.finished ? undefined : task()))
      .catch((error: unknown) => {
        this.deps.log.warn({ err: error, runId: this.runId }, "stream failed");
        this.stop(1011, "stream failed; reconnect with ?after=<last seq>");
      });
  }

  /** One poll at a time: a slow Postgres must not pile them up. */
  private schedulePoll(): void {
    if (this.pollQueued) return;
    this.pollQueued = true;
    this.enqueue(() => this.poll().finally(() => (this.pollQueued = false)));
  }

  private heartbeat(): void {
    if (!this.alive) return this.stop(1001, "no pong within a heartbeat");
    this.alive = false;
    this.socket.ping();
  }

  private stop(code: number, reason: string): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.pollTimer);
    clearInterval(this.heartbeatTimer);
    // Released however far the start got: the subscription may still be pending.
    void this.subscription?.then((unsubscribe) => unsubscribe(), () => undefined);
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      if (code === 1001 || code === 1008) this.socket.terminate();
      else this.socket.close(code, reason);
    }
  }
}
