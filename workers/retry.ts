/**
 * Calls `operation` until it succeeds or `forMs` has passed, backing off from 100 ms to 2 s;
 * then rethrows the last error. For writes that must land once Postgres is back.
 */
export async function retrying<T>(operation: () => Promise<T>, forMs: number, onRetry: (error: unknown) => void): Promise<T> {
  const deadline = Date.now() + forMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await operation();
    } catch (error) {
      if (Date.now() + delay > deadline) throw error;
      onRetry(error);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
