/**
 * Login attempts, limited per account and per address (SPEC §1): a fixed window of failures
 * per key. In memory and per process — a brute force spread over many nodes gets a node's
 * share of attempts each; the memory-hard hash makes every guess expensive anyway.
 */
export const LOGIN_FAILURES_MAX = 5;
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
/** Keys remembered at most; the oldest are forgotten first. */
export const LOGIN_KEYS_MAX = 100_000;

interface Window {
  failures: number;
  startedAt: number;
}

export class LoginLimiter {
  private readonly windows = new Map<string, Window>();

  /** Milliseconds to wait before trying again, or 0 when an attempt is allowed now. */
  retryAfterMs(keys: readonly string[], nowMs: number): number {
    let wait = 0;
    for (const key of keys) {
      const window = this.windows.get(key);
      if (!window) continue;
      const ends = window.startedAt + LOGIN_WINDOW_MS;
      if (ends <= nowMs) {
        this.windows.delete(key);
        continue;
      }
      if (window.failures >= LOGIN_FAILURES_MAX) wait = Math.max(wait, ends - nowMs);
    }
    return wait;
  }

  fail(keys: readonly string[], nowMs: number): void {
    for (const key of keys) {
      const window = this.windows.get(key);
      if (window && window.startedAt + LOGIN_WINDOW_MS > nowMs) {
        window.failures += 1;
        continue;
      }
      if (this.windows.size >= LOGIN_KEYS_MAX) {
        const oldest = this.windows.keys().next();
        if (!oldest.done) this.windows.delete(oldest.value);
      }
      this.windows.set(key, { failures: 1, startedAt: nowMs });
    }
  }

  succeed(keys: readonly string[]): void {
    for (const key of keys) this.windows.delete(key);
  }
}
