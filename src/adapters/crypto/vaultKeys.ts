/**
 * Organizations' data keys (envelope encryption): each organization has at most one active
 * data key — 32 random bytes, stored only wrapped (AES-256-GCM) under the master key, in
 * `ll_vault_data_keys`. Shredding overwrites the wrapped key with NULL and marks the row
 * `shredded`; the row stays, so a later attempt to open what that key sealed answers
 * CREDENTIALS_SHREDDED rather than a puzzling "no such key".
 *
 * Unwrapped keys are cached briefly (VAULT_KEY_CACHE_MS, at most VAULT_KEY_CACHE_ENTRIES_MAX)
 * so that sealing and opening do not cost a database round trip each; `forget` drops an
 * organization's keys when its key is shredded.
 */
import type { Database } from '../db/database.js';
import { LedgerlineError } from '../../domain/errors.js';
import { TtlCache } from '../ttlCache.js';
import {
  dataKeyContext,
  masterKeyId,
  newDataKey,
  open,
  seal,
  VaultDecryptError,
  type Sealed,
} from './vaultCipher.js';

/**
 * How long an unwrapped data key stays in memory. Another node learns of a shred through the
 * event fan-out (forget); this bounds how long a node that missed it could still open secrets.
 */
export const VAULT_KEY_CACHE_MS = 10_000;
/** One entry per organization using the vault on this node, at most. */
export const VAULT_KEY_CACHE_ENTRIES_MAX = 10_000;
/** Attempts at finding or creating the active key when another writer races this one. */
const ACTIVE_KEY_ATTEMPTS_MAX = 3;
/** An organization shreds its key rarely; more shredded keys than this is a bug. */
export const DATA_KEYS_PER_ORG_MAX = 1_000;

export interface DataKey {
  readonly keyId: string;
  readonly key: Buffer;
}

interface KeyRow {
  readonly key_id: string;
  readonly status: 'active' | 'shredded';
  readonly master_key_id: string;
  readonly wrapped_key: Uint8Array | null;
  readonly wrap_iv: Uint8Array | null;
  readonly wrap_tag: Uint8Array | null;
}

const KEY_COLUMNS = 'key_id, status, master_key_id, wrapped_key, wrap_iv, wrap_tag';

export class DataKeyStore {
  private readonly masterId: string;
  private readonly keys = new TtlCache<Buffer>(VAULT_KEY_CACHE_MS, VAULT_KEY_CACHE_ENTRIES_MAX);
  private readonly active = new TtlCache<string>(VAULT_KEY_CACHE_MS, VAULT_KEY_CACHE_ENTRIES_MAX);

  constructor(
    private readonly db: Database,
    private readonly master: Buffer,
    private readonly newKeyId: () => string,
  ) {
    this.masterId = masterKeyId(master);
  }

  /** The organization's active data key, made (and wrapped, and stored) on first use. */
  async activeKey(orgId: string): Promise<DataKey> {
    const cachedId = this.active.get(orgId);
    const cached = cachedId === undefined ? undefined : this.keys.get(`${orgId}/${cachedId}`);
    if (cachedId !== undefined && cached !== undefined) return { keyId: cachedId, key: cached };
    for (let attempt = 1; attempt <= ACTIVE_KEY_ATTEMPTS_MAX; attempt += 1) {
      const { rows } = await this.db.query<KeyRow>(
        `SELECT ${KEY_COLUMNS} FROM ll_vault_data_keys WHERE org_id = $1 AND status = 'active'`,
        [orgId],
      );
      const row = rows[0];
      if (row)
        return { keyId: row.key_id, key: this.remember(orgId, row.key_id, this.unwrap(orgId, row), true) };
      const keyId = this.newKeyId();
      const key = newDataKey();
      const wrapped = seal(this.master, key, dataKeyContext(orgId, keyId));
      // The partial unique index allows one active key per organization: a racing writer's
      // insert does nothing, and the next attempt reads the winner's key.
      const inserted = await this.db.query(
        `INSERT INTO ll_vault_data_keys (key_id, org_id, status, master_key_id, wrapped_key, wrap_iv, wrap_tag)
         VALUES ($1, $2, 'active', $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING key_id`,
        [keyId, orgId, this.masterId, wrapped.ciphertext, wrapped.iv, wrapped.authTag],
      );
      if (inserted.rowCount > 0) return { keyId, key: this.remember(orgId, keyId, key, true) };
    }
    throw new LedgerlineError('CONCURRENCY_CONFLICT', 'Could not settle on a data key; try again.');
  }

  /** The data key `keyId` of the organization; CREDENTIALS_SHREDDED once it is destroyed. */
  async key(orgId: string, keyId: string): Promise<Buffer> {
    const cached = this.keys.get(`${orgId}/${keyId}`);
    if (cached) return cached;
    const { rows } = await this.db.query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM ll_vault_data_keys WHERE org_id = $1 AND key_id = $2`,
      [orgId, keyId],
    );
    const row = rows[0];
    if (!row) {
      throw new LedgerlineError('INTERNAL', `The data key ${keyId} of ${orgId} is not in the key table.`, {
        keyId,
      });
    }
    return this.remember(orgId, keyId, this.unwrap(orgId, row), false);
  }

  /**
   * Destroys the organization's active data key: the wrapped key is overwritten (NULL) and the
   * row marked shredded, in one statement. Answers the ids of every shredded key of the
   * organization (this one and earlier ones), so a shred interrupted before its event was
   * recorded is recorded by the next attempt.
   */
  async shred(orgId: string): Promise<{ shreddedNow: string[]; shredded: string[] }> {
    const { rows: now } = await this.db.query<{ key_id: string }>(
      `UPDATE ll_vault_data_keys
          SET status = 'shredded', wrapped_key = NULL, wrap_iv = NULL, wrap_tag = NULL, shredded_at = now()
        WHERE org_id = $1 AND status = 'active' RETURNING key_id`,
      [orgId],
    );
    this.forget(orgId);
    const { rows: all } = await this.db.query<{ key_id: string }>(
      `SELECT key_id FROM ll_vault_data_keys WHERE org_id = $1 AND status = 'shredded'
        ORDER BY created_at, key_id LIMIT $2`,
      [orgId, DATA_KEYS_PER_ORG_MAX],
    );
    return { shreddedNow: now.map((row) => row.key_id), shredded: all.map((row) => row.key_id) };
  }

  /**
   * Asks PostgreSQL to reclaim the dead row versions that still hold the overwritten wrapped
   * key. Best effort: WAL and backups taken before the shred keep it until they expire.
   */
  async reclaim(): Promise<void> {
    await this.db.query('VACUUM ll_vault_data_keys');
  }

  /** Drops the organization's cached keys (after a shred, here or on another node). */
  forget(orgId: string): void {
    this.active.delete(orgId);
    // Keys are cached by organization and key id; an organization has one or two at most, and
    // a shred is rare enough that dropping every cached key costs nothing worth counting.
    this.keys.clear();
  }

  private remember(orgId: string, keyId: string, key: Buffer, isActive: boolean): Buffer {
    this.keys.set(`${orgId}/${keyId}`, key);
    if (isActive) this.active.set(orgId, keyId);
    return key;
  }

  private unwrap(orgId: string, row: KeyRow): Buffer {
    if (row.status === 'shredded' || !row.wrapped_key || !row.wrap_iv || !row.wrap_tag) {
      throw new LedgerlineError(
        'CREDENTIALS_SHREDDED',
        'The organization’s data key was destroyed (crypto-shredded); what it sealed can never be read again.',
        { keyId: row.key_id },
      );
    }
    if (row.master_key_id !== this.masterId) {
      throw new LedgerlineError(
        'MASTER_KEY_MISMATCH',
        `The data key ${row.key_id} was wrapped by master key ${row.master_key_id}, not by the configured one (${this.masterId}).`,
        { keyId: row.key_id },
      );
    }
    const wrapped: Sealed = {
      ciphertext: Buffer.from(row.wrapped_key),
      iv: Buffer.from(row.wrap_iv),
      authTag: Buffer.from(row.wrap_tag),
    };
    try {
      return open(this.master, wrapped, dataKeyContext(orgId, row.key_id));
    } catch (error) {
      if (!(error instanceof VaultDecryptError)) throw error;
      throw new LedgerlineError(
        'MASTER_KEY_MISMATCH',
        `The data key ${row.key_id} does not unwrap.`,
        {
          keyId: row.key_id,
        },
        { cause: error },
      );
    }
  }
}
