/**
 * Bounded retries with exponential backoff, for calls that fail because EventStoreDB cannot be
 * reached right now. The client rebuilds its gRPC channel on the next call after a failure, and
 * a call made while it does so can fail again, so every call the adapter makes goes through here.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attemptsMax: number;
  /** The wait before the second attempt; it doubles after each failure. */
  readonly initialDelayMs: number;
  /** No single wait is longer than this. */
  readonly maxDelayMs: number;
}

/**
 * Appends and reads: about 2.5 s of waiting in all, enough to ride out a dropped connection or a
 * leader change, short enough that a command still answers (with STORE_UNAVAILABLE) while its
 * caller is waiting. Retrying an append is safe: the adapter always sends an exact expected
 * revision and fixed event ids, so an append that was written but whose answer was lost is
 * answered idempotently by EventStoreDB's own id check.
 */
export const CALL_RETRY: RetryPolicy = { attemptsMax: 8, initialDelayMs: 25, maxDelayMs: 1_000 };

/**
 * Subscriptions: a subscriber (a projector) outlives short outages without its owner noticing;
 * about 25 s of consecutive failed connection attempts end it with STORE_UNAVAILABLE. The count
 * starts again after every connection the server confirms.
 */
export const SUBSCRIPTION_RETRY: RetryPolicy = { attemptsMax: 10, initialDelayMs: 100, maxDelayMs: 5_000 };

/** The wait after failed attempt number `failures` (1-based). */
export function backoffMs(policy: RetryPolicy, failures: number): number {
  const exponent = Math.max(0, Math.min(failures - 1, 30));
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** exponent);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `work` until it succeeds, fails with an error `retryable` refuses, or `policy.attemptsMax`
 * attempts failed; then the last error is thrown as it is (the caller maps it).
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  retryable: (error: unknown) => boolean,
  work: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= policy.attemptsMax || !retryable(error)) throw error;
      await sleep(backoffMs(policy, attempt));
    }
  }
}
