import { Redis, type RedisOptions } from "ioredis";

export type { Redis };

/**
 * A Redis connection. `blocking` connections (BullMQ workers, subscribers) retry forever; the
 * others fail a command fast while Redis is unreachable instead of queueing it, so that an HTTP
 * request gets a quick 503 rather than hanging.
 */
export function createRedis(url: string, options: { blocking: boolean; name: string; onError?: (error: Error) => void }): Redis {
  const base: RedisOptions = {
    connectionName: options.name,
    maxRetriesPerRequest: options.blocking ? null : 1,
    enableOfflineQueue: options.blocking,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  };
  const redis = new Redis(url, base);
  // Attached at once: a connection refused before anyone listens would otherwise be printed as unhandled.
  redis.on("error", options.onError ?? (() => undefined));
  return redis;
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitUntilReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once("ready", onReady);
  });
}

/**
 * Closes a connection without waiting on a Redis that does not answer: QUIT when connected (bounded
 * by `timeoutMs`), else a plain disconnect. Never rejects.
 */
export async function closeRedis(redis: Redis, timeoutMs = 2_000): Promise<void> {
  if (redis.status !== "ready") return void redis.disconnect();
  await withDeadline(redis.quit(), timeoutMs).catch(() => undefined);
  redis.disconnect();
}

/** Resolves or rejects as `promise` does, or rejects after `ms` with an ETIMEDOUT error (an unavailable service to isUnavailable). */
export async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: "ETIMEDOUT" })), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
