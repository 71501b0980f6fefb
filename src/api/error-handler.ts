import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import type { ErrorBody } from "../contracts/api.js";
import { InvalidRequestError, LosslineError } from "../contracts/errors.js";

const STATUS_BY_CODE: Record<string, number> = {
  not_found: 404,
  conflict: 409,
  invalid_request: 400,
  service_unavailable: 503,
  unauthorized: 401,
  rate_limited: 429,
  too_many_active_runs: 429,
};

interface Issue {
  path: string;
  message: string;
}

/** The one place where errors become HTTP responses. A 4xx says exactly what was wrong; a 5xx says little. */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const send = (status: number, body: Omit<ErrorBody, "requestId">) =>
    void reply.code(status).type("application/json").send(JSON.stringify({ ...body, requestId: request.id }));

  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.flatMap((v) => toIssues(error.validationContext, v));
    return send(400, { error: "invalid_request", message: summarise(issues), issues });
  }
  if (error instanceof LosslineError) {
    const status = STATUS_BY_CODE[error.code] ?? 500;
    const issues = error instanceof InvalidRequestError && error.issues.length > 0 ? { issues: error.issues } : {};
    return send(status, { error: error.code, message: error.message, ...issues });
  }
  if (isUnavailable(error)) {
    request.log.warn({ err: error.message.split("\n").filter(Boolean).at(-1), code: error.code }, "backing service unavailable");
    return send(503, { error: "service_unavailable", message: "a backing service is unreachable; retry shortly" });
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    // Fastify's own request errors: malformed JSON, body too large, wrong content type, ...
    return send(error.statusCode, { error: codeFor(error.statusCode), message: error.message, issues: [{ path: "body", message: error.message }] });
  }
  request.log.error({ err: error }, "unhandled error");
  return send(500, { error: "internal", message: "internal error; quote the requestId when reporting it" });
}

/**
 * Turns one zod issue into field paths a user can act on: "optimizer.lr" in a body, "query.limit"
 * or "params.id" elsewhere, "body" for the body as a whole. Unknown keys are named one by one.
 */
function toIssues(
  context: string | undefined,
  validation: { keyword: string; instancePath: string; message?: string; params: Record<string, unknown> },
): Issue[] {
  const segments = validation.instancePath.split("/").filter(Boolean);
  const prefix = !context || context === "body" ? [] : [context === "querystring" ? "query" : context];
  const pathOf = (extra: string[]) => [...prefix, ...segments, ...extra].join(".") || "body";
  const keys = validation.params.keys;
  if (validation.keyword === "unrecognized_keys" && Array.isArray(keys)) {
    return keys.map((key) => ({ path: pathOf([String(key)]), message: "unknown field" }));
  }
  return [{ path: pathOf([]), message: validation.message ?? "invalid" }];
}

const summarise = (issues: Issue[]) => issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ");

function codeFor(status: number): string {
  if (status === 413) return "payload_too_large";
  if (status === 415) return "unsupported_media_type";
  if (status === 404) return "not_found";
  return "invalid_request";
}

/** Postgres or Redis unreachable: connection refused, reset, timed out, or Prisma's "can't reach" codes. */
export function isUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let current = error; current && typeof current === "object" && !seen.has(current); ) {
    seen.add(current);
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === "string" && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|P1001|P1002|P1017|P2024|P2028)$/.test(code)) return true;
    if (typeof message === "string" && /Connection is closed|Stream isn't writeable|enableOfflineQueue|ECONNREFUSED|Can't reach database|connection timeout|timeout exceeded when trying to connect/.test(message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
