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

/**
 * The canary's inputs, as migration 0019 first recorded them (a migration is frozen; these
 * let a rebuild write a canary row again should one ever be missing).
 */
const CANARY_INPUTS = `VALUES ('account', 'org_KEYCANARY', 'assets:key:canary'), ('organization', 'org_KEYCANARY', NULL)`;

/** What a canary input hashes to now, by the same functions the generated columns call. */
const currentValue = (row: string): string =>
  `CASE ${row}.name WHEN 'account' THEN ll_account_key(${row}.org_id, ${row}.address) ELSE ll_org_key(${row}.org_id) END`;

/**
 * What no longer matches: each canary whose recorded value (or row) is not what the key
 * functions give now, and `stored transfer` when a stored transfer's own keys are not, which
 * also catches a hash that changed before the canary was first recorded. One row is enough to
 * look at: every row written before such a change carries keys of the old hash.
 */
export async function staleLedgerKeys(db: SqlClient): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT w.name FROM (${CANARY_INPUTS}) AS w(name, org_id, address)
       LEFT JOIN ll_key_canary c ON c.name = w.name
      WHERE c.name IS NULL OR c.value IS DISTINCT FROM ${currentValue('c')}
     UNION ALL
     SELECT 'stored transfer' FROM (SELECT * FROM rm_ledger_transfers LIMIT 1) t
      WHERE t.org_key IS DISTINCT FROM ll_org_key(t.org_id)
         OR t.debit_key IS DISTINCT FROM ll_account_key(t.org_id, t.debit_account)
         OR t.credit_key IS DISTINCT FROM ll_account_key(t.org_id, t.credit_account)
     ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

/** Refuses, naming the remedy, when the stored keys were written by other hash functions. */
export async function assertLedgerKeysCurrent(db: SqlClient): Promise<void> {
  const stale = await staleLedgerKeys(db);
  if (stale.length === 0) return;
  throw new LedgerlineError(
    'READ_MODEL_KEYS_STALE',
    `The ledger read model's keys (${stale.join(', ')}) were written by other hash functions than ` +
      `this database's (was PostgreSQL upgraded, or its data moved to another machine?): ` +
      `histories, balances and lists would miss rows. Run \`ledgerline projections rebuild ledger\`, ` +
      `then start again.`,
    { stale },
  );
}

/** Records what the key functions give now: for a rebuild, in the transaction that emptied the tables. */
export async function recordLedgerKeys(tx: SqlClient): Promise<void> {
  await tx.query(
    `INSERT INTO ll_key_canary (name, org_id, address, value)
     SELECT w.name, w.org_id, w.address, ${currentValue('w')} FROM (${CANARY_INPUTS}) AS w(name, org_id, address)
     ON CONFLICT (name) DO UPDATE SET org_id = excluded.org_id, address = excluded.address,
       value = excluded.value, recorded_at = now()`,
  );
}
