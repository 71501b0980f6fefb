import type { ErrorBody } from "../contracts/api.js";

/** The API answered with an error status; `body` is its error body when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Partial<ErrorBody>,
  ) {
    super(body.message ?? `HTTP ${status}`);
  }
}

/** The API could not be reached at all. */
export class UnreachableError extends Error {}

/** A small client for Lossline's public HTTP API: JSON in, JSON out, errors as exceptions. Sends `apiKey` as a bearer token. */
export function createApiClient(baseUrl: string, apiKey?: string) {
  const auth: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  async function request<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: body === undefined ? auth : { ...auth, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new UnreachableError(`cannot reach Lossline at ${baseUrl} (${cause}); is the API running (npm run api)? Set LOSSLINE_URL to point elsewhere.`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(response.status, { message: `the server at ${baseUrl} answered HTTP ${response.status} with something that is not JSON` });
    }
    if (response.status === 401 && !apiKey) {
      throw new ApiError(401, { ...(parsed as Partial<ErrorBody>), message: "this API needs a key: set LOSSLINE_API_KEY (an operator makes one with `lossline keys create <tenant>`)" });
    }
    if (!response.ok) throw new ApiError(response.status, (parsed ?? {}) as Partial<ErrorBody>);
    return parsed as T;
  }
  return {
    baseUrl,
    wsUrl: baseUrl.replace(/^http/, "ws"),
    /** Headers a WebSocket to the API must send. */
    headers: auth,
    get: <T>(path: string) => request<T>("GET", path),
    post: <T>(path: string, body: unknown) => request<T>("POST", path, body),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
