/**
 * A canary for the ledger read model's keys (migration 0018). Those keys are PostgreSQL's own
 * text hashes, kept in stored generated columns: rows keep the value computed when they were
 * written. Were the hash ever to give other values (a pg_upgrade to a version that changed
 * it), every query would compute keys that no stored row has, and histories, past balances and
 * account lists would come back short without an error. (A dump restored elsewhere computes
 * the generated columns again but copies this table: at worst a needless rebuild.)
 *
 * This table records what the key functions gave for fixed inputs when the keys were written;
 * a process checks it before it serves (src/projections/ledger/ledgerKeys.ts), and a rebuild of
 * the ledger read model, which writes every key again, records it anew.
 */
export const migration = {
  version: 19,
  name: 'ledger_key_canary',
  sql: String.raw`
CREATE TABLE ll_key_canary (
  name text PRIMARY KEY CHECK (name IN ('account', 'organization')),
  org_id text NOT NULL,
  address text,
  value bigint NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO ll_key_canary (name, org_id, address, value) VALUES
  ('account', 'org_KEYCANARY', 'assets:key:canary', ll_account_key('org_KEYCANARY', 'assets:key:canary')),
  ('organization', 'org_KEYCANARY', NULL, ll_org_key('org_KEYCANARY'));
`,
};
