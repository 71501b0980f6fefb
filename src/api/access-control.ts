import { createHash, timingSafeEqual } from "node:crypto";
import fastifyRateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { RateLimitedError, ServiceUnavailableError, UnauthorizedError } from "../contracts/errors.js";
import { hashApiKey, isApiKeyShape, type Caller, type TenantsRepository } from "../persistence/tenants-repository.js";
import { withDeadline, type Redis } from "../queue/redis.js";
import { isUnavailable } from "./error-handler.js";

/** How long a key lookup may take before the request gets 503, in ms. */
const LOOKUP_DEADLINE_MS = 2_000;
/** While Postgres cannot answer, a key it accepted at most this long ago is still trusted, in ms. */
const STALE_KEY_MS = 10 * 60_000;
/** A refused key is refused again without asking Postgres for this long, in ms. */
const REFUSED_KEY_CACHE_MS = 1_000;

declare module "fastify" {
  interface FastifyRequest {
    /** Who sent the request, once its API key is checked; null on public routes. */
    caller: Caller | null;
  }
}

export interface AccessControlOptions {
  tenants: TenantsRepository;
  /** The rate limit's shared counters live here, so that every API instance counts together. */
  redis: Redis;
  redisPrefix: string;
  /** Requests per minute of a tenant without a limit of its own. */
  rateLimitPerMinute: number;
  /** The bearer token of GET /metrics (Prometheus's); unset: /metrics refuses every request. */
  metricsToken: string | undefined;
  /** A key stays valid this long in an API instance after it was checked (so a revoke takes at most this long), in ms. */
  keyCacheMs: number;
}

/** The data needs a tenant's key and the metrics the operator's token; health checks, the dashboard's files and the API docs need neither. */
const requiresKey = (path: string) => path.startsWith("/v1/") || path === "/metrics";

const sameSecret = (a: string, b: string) => {
  const [x, y] = [createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest()];
  return timingSafeEqual(x, y);
};

/** `Authorization: Bearer <key>`, else `?token=<key>` (browsers cannot set a WebSocket's headers). */
function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? "";
  const query = request.query as Record<string, unknown> | undefined;
  const token = query?.token;
  if (query && "token" in query) delete query.token; // not a field of any route's own query
  return typeof token === "string" ? token : undefined;
}

/** The URL as logged: a query token never reaches the logs. */
export const redactToken = (url: string) => url.replace(/([?&]token=)[^&]*/g, "$1[redacted]");

/**
 * Every protected request must carry a valid key (401 otherwise); the request then knows its tenant
 * (`request.caller`), and the tenant's requests are counted against its rate limit across all API
 * instances (429 with Retry-After). The counters live in Redis; while Redis is unreachable requests
 * are not limited (the routes that need Redis answer 503 themselves).
 */
export async function registerAccessControl(app: FastifyInstance, options: AccessControlOptions): Promise<void> {
  /** Checked keys: `checkedAt` is when Postgres last said yes; `caller` null when it said no. */
  const cache = new Map<string, { caller: Caller | null; checkedAt: number }>();
  app.decorateRequest("caller", null);

  async function checkKey(key: string): Promise<Caller> {
    // Not the shape of any key made here: refused without asking Postgres.
    if (!isApiKeyShape(key)) throw new UnauthorizedError("this API key is unknown or revoked");
    const hash = hashApiKey(key);
    const now = Date.now();
    const cached = cache.get(hash);
    if (cached && now - cached.checkedAt < (cached.caller ? options.keyCacheMs : REFUSED_KEY_CACHE_MS)) {
      if (!cached.caller) throw new UnauthorizedError("this API key is unknown or revoked");
      return cached.caller;
    }
    let caller: Caller | null;
    try {
      caller = await withDeadline(options.tenants.authenticate(key), LOOKUP_DEADLINE_MS);
    } catch (error) {
      // Postgres down or stuck: a key Postgres accepted in the last STALE_KEY_MS still works (its
      // requests get their own 503 where they need Postgres), without renewing that time; any
      // other key waits for Postgres.
      if (cached?.caller && now - cached.checkedAt < STALE_KEY_MS) return cached.caller;
      if (isUnavailable(error)) {
        throw new ServiceUnavailableError("cannot check the API key: Postgres is unreachable; retry shortly");
      }
      throw error;
    }
    if (cache.size >= 10_000) cache.clear();
    cache.set(hash, { caller, checkedAt: now });
    if (!caller) throw new UnauthorizedError("this API key is unknown or revoked");
    return caller;
  }

  app.addHook("onRequest", async (request) => {
    // The matched route decides (whatever the URL's spelling); a URL no route matches, its path.
    const path = request.routeOptions.url ?? request.url.split("?", 1)[0]!;
    if (!requiresKey(path) && !requiresKey(request.url.split("?", 1)[0]!)) return;
    const key = presentedKey(request);
    if (path === "/metrics") {
      // Service-wide numbers, so no tenant's key; and checked without Postgres, so that a scrape
      // still reports an outage of it.
      if (!options.metricsToken) throw new UnauthorizedError("GET /metrics is off: start the API with METRICS_TOKEN set, and scrape with `Authorization: Bearer <METRICS_TOKEN>`");
      if (!key || !sameSecret(key, options.metricsToken)) throw new UnauthorizedError("GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`");
      return;
    }
    if (!key) {
      throw new UnauthorizedError(
        "an API key is required: send the header `Authorization: Bearer <key>` (or `?token=<key>` where a client cannot set headers); an operator makes keys with `lossline keys create <tenant>`",
      );
    }
    request.caller = await checkKey(key);
    request.log = request.log.child({ tenant: request.caller.tenantName });
  });

  await app.register(fastifyRateLimit, {
    global: true,
    redis: options.redis,
    nameSpace: `${options.redisPrefix}:rate-limit:`,
    skipOnError: true,
    timeWindow: 60_000,
    allowList: (request) => request.caller === null,
    // Runs before allowList (which lets public requests through unlimited), so public requests have no caller here.
    keyGenerator: (request) => request.caller?.tenantId ?? request.ip,
    max: (request) => request.caller?.rateLimitPerMinute ?? options.rateLimitPerMinute,
    errorResponseBuilder: (request, context) =>
      new RateLimitedError(`tenant ${request.caller?.tenantName} sent more than ${context.max} requests in a minute, its limit; retry in ${context.after}`),
  });
}

/** The caller of a protected route (always set there: the hook refused the request otherwise). */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new UnauthorizedError("an API key is required");
  return request.caller;
}

/** The caller as the owner of new runs, with the cap that applies to its tenant. */
export function ownerOf(request: FastifyRequest, defaultMaxActiveRuns: number) {
  const caller = callerOf(request);
  return { tenantId: caller.tenantId, tenantName: caller.tenantName, maxActiveRuns: caller.maxActiveRuns ?? defaultMaxActiveRuns };
}
