import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { healthSchema } from "../../contracts/api.js";
import { withDeadline } from "../../queue/redis.js";

export interface HealthChecks {
  /** Each resolves when its service answers, and rejects otherwise. */
  postgres(): Promise<void>;
  redis(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2_000;

export const healthRoutes: FastifyPluginAsyncZod<{ checks: HealthChecks }> = async (app, { checks }) => {
  app.get("/healthz", { schema: { security: [], response: { 200: healthSchema } } }, async () => ({ status: "ok" as const, checks: {} }));

  app.get(
    "/readyz",
    { schema: { security: [], description: "200 when Postgres and Redis both answer, else 503", response: { 200: healthSchema, 503: healthSchema } } },
    async (_request, reply) => {
      const results = await Promise.all(
        Object.entries(checks).map(async ([name, check]: [string, () => Promise<void>]) => [name, await probe(check)] as const),
      );
      const ok = results.every(([, result]) => result === "ok");
      return reply.code(ok ? 200 : 503).send({ status: ok ? "ok" : "unavailable", checks: Object.fromEntries(results) });
    },
  );
};

async function probe(check: () => Promise<void>): Promise<string> {
  try {
    await withDeadline(check(), CHECK_TIMEOUT_MS);
    return "ok";
  } catch (error) {
    return `unavailable: ${(error as Error).message.split("\n").filter(Boolean).at(-1)}`;
  }
}
