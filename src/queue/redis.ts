import { Redis, type RedisOptions } from "ioredis";

export type { Redis };

/**
 * A Redis connection. `blocking` connections (BullMQ workers, subscribers) retry forever; the
 * others fail a command fast while Redis is unreachable instead of queueing it, so that an HTTP
 * request gets a quick 503 rather than hanging.
 */
export function createRedis(url: string, options: { blocking: boolean; name: string }): Redis {
  const base: RedisOptions = {
    connectionName: options.name,
    maxRetriesPerRequest: options.blocking ? null : 1,
    enableOfflineQueue: options.blocking,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  };
  return new Redis(url, base);
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
