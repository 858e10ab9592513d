/**
 * Login attempts, limited per account and per address (SPEC §1): a fixed window of failures
 * per key. An account locks after a few failures; an address (which may be a whole office
 * behind one NAT) after many more. A success clears the account's count only, so one valid
 * login cannot reset an address that is guessing at other accounts. In memory and per
 * process: a brute force spread over many nodes gets a node's share of attempts each, and
 * the memory-hard hash makes every guess expensive anyway.
 */
export const LOGIN_FAILURES_PER_ACCOUNT_MAX = 5;
export const LOGIN_FAILURES_PER_ADDRESS_MAX = 50;
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
  retryAfterMs(account: string, address: string, nowMs: number): number {
    return Math.max(
      this.waitFor(`account:${account.toLowerCase()}`, LOGIN_FAILURES_PER_ACCOUNT_MAX, nowMs),
      this.waitFor(`address:${address}`, LOGIN_FAILURES_PER_ADDRESS_MAX, nowMs),
    );
  }

  fail(account: string, address: string, nowMs: number): void {
    this.count(`account:${account.toLowerCase()}`, nowMs);
    this.count(`address:${address}`, nowMs);
  }

  succeed(account: string): void {
    this.windows.delete(`account:${account.toLowerCase()}`);
  }

  private waitFor(key: string, max: number, nowMs: number): number {
    const window = this.windows.get(key);
    if (!window) return 0;
    const ends = window.startedAt + LOGIN_WINDOW_MS;
    if (ends <= nowMs) {
      this.windows.delete(key);
      return 0;
    }
    return window.failures >= max ? ends - nowMs : 0;
  }

  private count(key: string, nowMs: number): void {
    const window = this.windows.get(key);
    if (window && window.startedAt + LOGIN_WINDOW_MS > nowMs) {
      window.failures += 1;
      return;
    }
    if (this.windows.size >= LOGIN_KEYS_MAX) {
      const oldest = this.windows.keys().next();
      if (!oldest.done) this.windows.delete(oldest.value);
    }
    this.windows.set(key, { failures: 1, startedAt: nowMs });
  }
}
