/** Errors the service raises on purpose; the API maps each `code` to one HTTP status in one place. */
export class LosslineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request is well-formed JSON but asks for something invalid; `issues` name each field. */
export class InvalidRequestError extends LosslineError {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super("invalid_request", message);
  }
}

export class NotFoundError extends LosslineError {
  constructor(message: string) {
    super("not_found", message);
  }
}

export class ConflictError extends LosslineError {
  constructor(message: string) {
    super("conflict", message);
  }
}

/** A backing service (Postgres, Redis) cannot be reached right now; the request may be retried. */
export class ServiceUnavailableError extends LosslineError {
  constructor(message: string) {
    super("service_unavailable", message);
  }
}

/** A worker tried to write for an attempt that is no longer the run's current one. */
export class StaleAttemptError extends LosslineError {
  constructor(runId: string, attempt: number) {
    super("stale_attempt", `run ${runId}: attempt ${attempt} is no longer current`);
  }
}

/** No API key, or one that is unknown or revoked. */
export class UnauthorizedError extends LosslineError {
  constructor(message: string) {
    super("unauthorized", message);
  }
}

/** The tenant sent more requests than its rate limit allows in the current window. */
export class RateLimitedError extends LosslineError {
  constructor(message: string) {
    super("rate_limited", message);
  }
}

/** Accepting the request would take the tenant past its cap on queued plus running runs. */
export class TooManyActiveRunsError extends LosslineError {
  constructor(message: string) {
    super("too_many_active_runs", message);
  }
}
