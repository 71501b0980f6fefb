import os from "node:os";
import { z } from "zod";

const integer = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Every setting Lossline reads from the environment, with defaults that work on a developer's machine. */
export const configSchema = z.object({
  DATABASE_URL: z.string().startsWith("postgres").default("postgresql://postgres@127.0.0.1:5432/lossline"),
  REDIS_URL: z.string().startsWith("redis").default("redis://127.0.0.1:6379"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: integer(0, 65_535, 3000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Name of the BullMQ queue that carries run ids to workers. */
  QUEUE_NAME: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/).default("lossline-runs"),
  /** Prefix of every Redis key and channel Lossline uses (BullMQ's too). */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/).default("lossline"),
  /** Largest accepted request body, in bytes. */
  BODY_LIMIT_BYTES: integer(1024, 10_000_000, 65_536),
  WORKER_ID: z.string().min(1).max(200).default(`${os.hostname()}-${process.pid}`),
  WORKER_CONCURRENCY: integer(1, 64, 1),
  /**
   * "gpu": this worker takes GPU jobs (and CPU jobs too) when its backend runs on a GPU; "cpu": only
   * jobs that did not ask for a GPU.
   */
  WORKER_ACCELERATOR: z.enum(["cpu", "gpu"]).default("cpu"),
  /** Directory holding Fashion-MNIST's four gzipped IDX files. */
  FASHION_MNIST_DIR: z.string().min(1).default("/usr/share/datasets/fashion-mnist"),
  /** TensorFlow.js backend for workers: `auto` takes the fastest present (tfjs-node-gpu, tfjs-node, cpu + oneDNN addon, wasm, cpu; on a GPU worker webgpu on a GPU adapter after tfjs-node-gpu); `webgpu` forces Dawn even on a software adapter. */
  TF_BACKEND: z.enum(["auto", "cpu", "wasm", "tensorflow", "onednn", "webgpu"]).default("auto"),
  /**
   * With the oneDNN engine, the arrays of disposed tensors are reused for the outputs of its native kernels
   * (V8 collects garbage far less often); at most this many MiB of them wait for reuse. 0 turns the reuse off.
   */
  TENSOR_POOL_MIB: integer(0, 1_048_576, 1024),
  /** How long a worker's lock on a job lasts without renewal, in ms. */
  JOB_LOCK_MS: integer(5_000, 3_600_000, 60_000),
  /** A training run is checkpointed at least this often (and at each epoch's end), in ms. */
  CHECKPOINT_INTERVAL_MS: integer(100, 3_600_000, 120_000),
  /** A run whose worker dies more often than this (its job stalls) ends failed. */
  MAX_WORKER_CRASHES: integer(0, 100, 2),
  /** Loss points are written to Postgres at least this often while a run trains, in ms. */
  POINT_FLUSH_MS: integer(10, 60_000, 200),
  /** Every this many ms a reconciler looks for queued runs whose job is missing from Redis. */
  RECONCILE_INTERVAL_MS: integer(100, 3_600_000, 5_000),
  /** A queued run younger than this is left alone by the reconciler (its producer may still be adding it), in ms. */
  RECONCILE_GRACE_MS: integer(0, 3_600_000, 10_000),
  /** Requests per minute a tenant may send (all its keys and API instances together), unless the tenant has its own limit. */
  RATE_LIMIT_PER_MINUTE: integer(1, 1_000_000, 600),
  /** Queued plus running runs a tenant may have at one time, unless the tenant has its own cap. */
  MAX_ACTIVE_RUNS: integer(1, 1_000_000, 50),
  /** An API instance trusts a key it checked for this long, so a revoked key stops working within it, in ms. */
  API_KEY_CACHE_MS: integer(0, 600_000, 5_000),
  /** Prometheus scrapes GET /metrics with `Authorization: Bearer <METRICS_TOKEN>`; unset, /metrics is off. */
  METRICS_TOKEN: z.string().min(16).max(200).optional(),
  /** Watchers poll a run's status this often as a safety net under Redis pub/sub, in ms. */
  STREAM_POLL_MS: integer(100, 600_000, 5_000),
});

export type Config = Readonly<z.infer<typeof configSchema>>;

/** Parses the environment once; throws with every bad variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`Invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  return Object.freeze(parsed.data);
}

/** The command-line client's settings. */
export const cliConfigSchema = z.object({
  LOSSLINE_URL: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:3000"),
  /** The key the CLI sends (`lossline keys create <tenant>` makes one). */
  LOSSLINE_API_KEY: z.string().min(1).optional(),
});
export type CliConfig = Readonly<z.infer<typeof cliConfigSchema>>;

export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const parsed = cliConfigSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${issue?.path.join(".") ?? "LOSSLINE_URL"}: ${issue?.message ?? "invalid"}`);
  }
  return Object.freeze({ ...parsed.data, LOSSLINE_URL: parsed.data.LOSSLINE_URL.replace(/\/+$/, "") });
}
