/**
 * Whether the ledger read model's keys (migration 0018) are still the ones this database
 * computes. They are hashes stored in each row when it was written, and every query finds rows
 * by computing the hash again: should the hash functions ever give other values, queries would
 * miss rows and answer short, with no error. So a process checks the canary (migration 0019)
 * before it serves and refuses to start when it is stale, and a rebuild of the ledger read
 * model, which writes every key again, records the canary anew in its transaction.
 */
import type { SqlClient } from '../../adapters/db/database.js';
import { LedgerlineError } from '../../domain/errors.js';

/** What each canary input hashes to now, by the same functions the generated columns call. */
const CURRENT_VALUE = `CASE name WHEN 'account' THEN ll_account_key(org_id, address) ELSE ll_org_key(org_id) END`;

/** The canaries whose recorded value is no longer what the key functions give. */
export async function staleLedgerKeys(db: SqlClient): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT name FROM ll_key_canary WHERE value IS DISTINCT FROM ${CURRENT_VALUE} ORDER BY name`,
  );
  return rows.map((row) => row.name);
}

/** Refuses, naming the remedy, when the stored keys were written by other hash functions. */
export async function assertLedgerKeysCurrent(db: SqlClient): Promise<void> {
  const stale = await staleLedgerKeys(db);
  if (stale.length === 0) return;
  throw new LedgerlineError(
    'READ_MODEL_KEYS_STALE',
    `The ledger read model's ${stale.join(' and ')} keys were written by other hash functions than ` +
      `this database's (was PostgreSQL upgraded, or its data moved to another machine?): ` +
      `histories, balances and lists would miss rows. Run \`ledgerline projections rebuild ledger\`, ` +
      `then start again.`,
    { stale },
  );
}

/** Records what the key functions give now: for a rebuild, in the transaction that emptied the tables. */
export async function recordLedgerKeys(tx: SqlClient): Promise<void> {
  await tx.query(`UPDATE ll_key_canary SET value = ${CURRENT_VALUE}, recorded_at = now()`);
}
