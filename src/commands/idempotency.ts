/**
 * Idempotency keys (SPEC §3): the same key with the same input answers the first answer and
 * writes nothing; with a different input it is IDEMPOTENCY_KEY_REUSED. Concurrent requests
 * with one key run once: the first claims the key, the others wait for its answer.
 */
import { hash } from 'node:crypto';
import { canonicalJson } from '../domain/canonicalJson.js';
import { LedgerlineError } from '../domain/errors.js';
import type { Database } from '../adapters/db/database.js';

/** Keys are kept at least this long (SPEC: ≥ 24 h). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** A claim older than this whose request never finished (a crash) may be taken over. */
export const PENDING_STALE_MS = 60_000;
/** How long a duplicate waits for the first request's answer. */
export const DUPLICATE_WAIT_MAX_MS = 30_000;
const DUPLICATE_POLL_MS = 15;
/**
 * The longest key accepted. Events carry the key (SPEC §2), and the event store takes metadata
 * ids of at most 200 characters: a longer key would be claimed, then refused at the append.
 */
export const IDEMPOTENCY_KEY_LENGTH_MAX = 200;

export type Claim =
  { readonly kind: 'run' } | { readonly kind: 'replay'; readonly status: number; readonly body: unknown };

interface Row {
  readonly command: string;
  readonly request_hash: string;
  readonly state: 'pending' | 'done';
  readonly status_code: number | null;
  readonly response: unknown;
  readonly age_ms: number;
  readonly expired: boolean;
}

export function requestHash(command: string, input: unknown): string {
  return canonicalRequestHash(command, canonicalJson(input ?? null));
}

/** requestHash of an input whose canonical JSON is already at hand. */
export function canonicalRequestHash(command: string, json: string): string {
  // One-shot: this runs for every transfer of a batch (its fingerprint).
  return hash('sha256', `${command}\n${json}`, 'hex');
}

export class IdempotencyStore {
  constructor(private readonly db: Database) {}

  /**
   * `legacyHash`: the plain fingerprint keys were stored with before they were keyed (HMAC);
   * a retry of such a key still replays its first answer until the key expires (24 h).
   */
  async claim(
    orgId: string,
    key: string,
    command: string,
    hash: string,
    legacyHash: string | null = null,
  ): Promise<Claim> {
    const deadline = Date.now() + DUPLICATE_WAIT_MAX_MS;
    while (Date.now() < deadline) {
      const inserted = await this.db.query(
        `INSERT INTO ll_idempotency_keys (org_id, idempotency_key, command, request_hash, state, expires_at)
         VALUES ($1, $2, $3, $4, 'pending', now() + $5 * interval '1 millisecond')
         ON CONFLICT (org_id, idempotency_key) DO NOTHING RETURNING 1`,
        [orgId, key, command, hash, IDEMPOTENCY_TTL_MS],
      );
      if (inserted.rowCount > 0) return { kind: 'run' };
      const { rows } = await this.db.query<Row>(
        `SELECT command, request_hash, state, status_code, response,
                (extract(epoch FROM now() - created_at) * 1000)::float8 AS age_ms, expires_at < now() AS expired
           FROM ll_idempotency_keys WHERE org_id = $1 AND idempotency_key = $2`,
        [orgId, key],
      );
      const row = rows[0];
      if (!row) continue;
      if (row.expired) {
        await this.db.query(
          `DELETE FROM ll_idempotency_keys WHERE org_id = $1 AND idempotency_key = $2 AND expires_at < now()`,
          [orgId, key],
        );
        continue;
      }
      if (row.command !== command || (row.request_hash !== hash && row.request_hash !== legacyHash)) {
        throw new LedgerlineError(
          'IDEMPOTENCY_KEY_REUSED',
          `Idempotency-Key "${key}" was first used with a different ${row.command === command ? 'input' : 'command'}.`,
        );
      }
      if (row.state === 'done') return { kind: 'replay', status: row.status_code ?? 200, body: row.response };
      if (row.age_ms > PENDING_STALE_MS) {
        const taken = await this.db.query(
          `UPDATE ll_idempotency_keys SET created_at = now() WHERE org_id = $1 AND idempotency_key = $2
             AND state = 'pending' AND created_at < now() - $3 * interval '1 millisecond' RETURNING 1`,
          [orgId, key, PENDING_STALE_MS],
        );
        if (taken.rowCount > 0) return { kind: 'run' };
      }
      await new Promise((resolve) => setTimeout(resolve, DUPLICATE_POLL_MS));
    }
    throw new LedgerlineError(
      'CONCURRENCY_CONFLICT',
      `A request with Idempotency-Key "${key}" is still running; retry later.`,
    );
  }

  async complete(orgId: string, key: string, status: number, body: unknown): Promise<void> {
    await this.db.query(
      `UPDATE ll_idempotency_keys SET state = 'done', status_code = $3, response = $4::jsonb
        WHERE org_id = $1 AND idempotency_key = $2`,
      [orgId, key, status, JSON.stringify(body)],
    );
  }

  /** Frees the key after an unexpected failure, so a retry can run. */
  async abandon(orgId: string, key: string): Promise<void> {
    await this.db.query(
      `DELETE FROM ll_idempotency_keys WHERE org_id = $1 AND idempotency_key = $2 AND state = 'pending'`,
      [orgId, key],
    );
  }

  /** Deletes expired keys, at most `limit` at a time. */
  async sweep(limit: number): Promise<number> {
    const result = await this.db.query(
      `DELETE FROM ll_idempotency_keys WHERE (org_id, idempotency_key) IN (
         SELECT org_id, idempotency_key FROM ll_idempotency_keys WHERE expires_at < now() LIMIT $1)`,
      [limit],
    );
    return result.rowCount;
  }
}
