/**
 * OAuth access tokens, one per set of Daraja credentials, kept until shortly before they
 * expire (Daraja's tokens live 3599 s). Keyed by a hash of the base URL, consumer key and
 * consumer secret, so a rotated secret gets a fresh token and no secret is a map key.
 * Concurrent calls for one key share a single token request.
 */
import { createHash } from 'node:crypto';

/** Renew this long before the provider's expiry, so a token never expires mid-request. */
export const TOKEN_EXPIRY_MARGIN_MS = 60_000;
/** One token per organization; beyond this many organizations, the least recently stored go. */
export const TOKEN_CACHE_ENTRIES_MAX = 10_000;

interface Entry {
  readonly token: string;
  readonly renewAtMs: number;
}

export class DarajaTokenCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly now: () => number,
    private readonly entriesMax: number = TOKEN_CACHE_ENTRIES_MAX,
  ) {}

  static key(baseUrl: string, consumerKey: string, consumerSecret: string): string {
    return createHash('sha256').update(`${baseUrl}\n${consumerKey}\n${consumerSecret}`).digest('hex');
  }

  get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() >= entry.renewAtMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.token;
  }

  /** Stores a token that expires `expiresInMs` from now. */
  set(key: string, token: string, expiresInMs: number): void {
    // A short-lived token keeps half its life as margin rather than none at all.
    const margin = Math.min(TOKEN_EXPIRY_MARGIN_MS, expiresInMs / 2);
    this.entries.delete(key);
    if (this.entries.size >= this.entriesMax) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { token, renewAtMs: this.now() + expiresInMs - margin });
  }

  /** Forgets a token the provider refused. */
  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Runs `load` once for concurrent callers of the same key. */
  async singleFlight<Value>(key: string, load: () => Promise<Value>): Promise<Value> {
    const running = this.inFlight.get(key);
    if (running) return running as Promise<Value>;
    const started = load().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }
}
