import { EventEmitter } from "node:events";
import { liveEventSchema, type LiveEvent } from "../contracts/events.js";
import type { Redis } from "./redis.js";

export const runChannel = (prefix: string, runId: string) => `${prefix}:run:${runId}`;
export const cancelChannel = (prefix: string) => `${prefix}:cancel`;

/** Sends a run's events to every process watching it. Postgres stays the source of truth: a lost message is recovered from there. */
export function createLiveEventPublisher({ redis, prefix }: { redis: Redis; prefix: string }) {
  return {
    async publish(runId: string, event: LiveEvent): Promise<void> {
      await redis.publish(runChannel(prefix, runId), JSON.stringify(event));
    },
    /** Asks whichever worker holds the run to stop it. */
    async publishCancel(runId: string): Promise<void> {
      await redis.publish(cancelChannel(prefix), runId);
    },
  };
}
export type LiveEventPublisher = ReturnType<typeof createLiveEventPublisher>;

export type LiveEventListener = (event: LiveEvent) => void;

/**
 * One Redis subscriber connection shared by every watcher in this process. `subscribe` resolves
 * once Redis has confirmed the subscription, so a watcher that then reads Postgres misses nothing.
 */
export class LiveEventHub {
  private readonly emitter = new EventEmitter();
  private readonly watchers = new Map<string, number>();
  private readonly cancelListeners = new Set<(runId: string) => void>();
  private closed = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly prefix: string,
  ) {
    this.emitter.setMaxListeners(0);
    subscriber.on("message", (channel: string, message: string) => this.dispatch(channel, message));
  }

  async subscribe(runId: string, listener: LiveEventListener): Promise<() => Promise<void>> {
    const channel = runChannel(this.prefix, runId);
    this.emitter.on(channel, listener);
    const count = (this.watchers.get(channel) ?? 0) + 1;
    this.watchers.set(channel, count);
    try {
      await this.subscriber.subscribe(channel);
    } catch (error) {
      await this.release(channel, listener);
      throw error;
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await this.release(channel, listener);
    };
  }

  /** Calls `listener` with the id of every run whose cancellation is announced. */
  async onCancel(listener: (runId: string) => void): Promise<void> {
    this.cancelListeners.add(listener);
    await this.subscriber.subscribe(cancelChannel(this.prefix));
  }

  private async release(channel: string, listener: LiveEventListener): Promise<void> {
    this.emitter.off(channel, listener);
    const count = (this.watchers.get(channel) ?? 1) - 1;
    if (count > 0) {
      this.watchers.set(channel, count);
      return;
    }
    this.watchers.delete(channel);
    if (!this.closed) await this.subscriber.unsubscribe(channel).catch(() => undefined);
  }

  private dispatch(channel: string, message: string): void {
    if (channel === cancelChannel(this.prefix)) {
      for (const listener of this.cancelListeners) listener(message);
      return;
    }
    if (!this.watchers.has(channel)) return;
    let event: LiveEvent;
    try {
      event = liveEventSchema.parse(JSON.parse(message));
    } catch {
      return; // not ours to trust: ignore
    }
    this.emitter.emit(channel, event);
  }

  close(): void {
    this.closed = true;
    this.emitter.removeAllListeners();
    this.cancelListeners.clear();
  }
}
