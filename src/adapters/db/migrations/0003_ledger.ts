/**
 * The ledger's tables: snapshots of each book, and the read models for accounts (with their
 * four balances), transfers, and postings (every change to a balance, for history and
 * balances at any past point).
 */
export const migration = {
  version: 3,
  name: 'ledger',
  sql: String.raw`
CREATE TABLE ll_snapshots (
  stream_name text PRIMARY KEY,
  format integer NOT NULL,
  revision bigint NOT NULL,
  commit_position numeric(20, 0),
  prepare_position numeric(20, 0),
  state jsonb NOT NULL,
  created_at timestamptz NOT NULL
);

CREATE TABLE rm_ledger_accounts (
  org_id text NOT NULL,
  address text NOT NULL,
  asset text NOT NULL,
  scale integer NOT NULL,
  account_type text NOT NULL,
  debits_must_not_exceed_credits boolean NOT NULL,
  credits_must_not_exceed_debits boolean NOT NULL,
  credit_limit numeric,
  metadata jsonb NOT NULL,
  status text NOT NULL,
  debits_posted numeric NOT NULL DEFAULT 0,
  credits_posted numeric NOT NULL DEFAULT 0,
  debits_pending numeric NOT NULL DEFAULT 0,
  credits_pending numeric NOT NULL DEFAULT 0,
  opened_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, address)
);

CREATE TABLE rm_ledger_transfers (
  org_id text NOT NULL,
  transfer_id text NOT NULL,
  debit_account text NOT NULL,
  credit_account text NOT NULL,
  asset text NOT NULL,
  amount numeric NOT NULL,
  posted_amount numeric NOT NULL,
  reversed_amount numeric NOT NULL DEFAULT 0,
  code text NOT NULL,
  status text NOT NULL,
  pending boolean NOT NULL,
  timeout_at timestamptz,
  reversal_of text,
  reference text,
  metadata jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  commit_position numeric(20, 0) NOT NULL,
  prepare_position numeric(20, 0) NOT NULL,
  PRIMARY KEY (org_id, transfer_id)
);
CREATE INDEX rm_ledger_transfers_order ON rm_ledger_transfers (org_id, commit_position, prepare_position);
CREATE INDEX rm_ledger_transfers_pending ON rm_ledger_transfers (timeout_at) WHERE status = 'pending';

-- One row per change to an account's balances: side (debit | credit), phase (posted | pending),
-- a signed amount. Summing rows up to a position or time gives the balances then.
CREATE TABLE rm_ledger_postings (
  org_id text NOT NULL,
  address text NOT NULL,
  commit_position numeric(20, 0) NOT NULL,
  prepare_position numeric(20, 0) NOT NULL,
  seq integer NOT NULL,
  transfer_id text NOT NULL,
  side text NOT NULL,
  phase text NOT NULL,
  amount numeric NOT NULL,
  occurred_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, address, commit_position, prepare_position, seq)
);
CREATE INDEX rm_ledger_postings_time ON rm_ledger_postings (org_id, address, occurred_at);
`,
};
