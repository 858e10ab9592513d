/**
 * Narrower index keys for transfers (issue 5: replay and batch speed). Every transfer row is
 * in an index per side keyed (org_id, account, position): within one organization every key
 * begins with the same organization id, so each comparison of a sort or a descent first walks
 * that shared text, then the account's, before it reaches what tells two rows apart. Building
 * those two indexes was a third of a million-transfer rebuild.
 *
 * - Each side's index is keyed on a 64-bit account key instead: a hash of the organization and
 *   the address, kept in a generated column, so the projector and the rebuild write it without
 *   a word about it. Two accounts may share a key: every query that uses one also names the
 *   organization and the address, which the index's rows are checked against, so a shared key
 *   costs rows read, never a wrong answer. The key is the server's own text hash; were a
 *   major-version upgrade ever to change it, `ledgerline projections rebuild ledger` writes
 *   every key again.
 * - The index of an organization's transfers in global order is keyed on a 64-bit key of the
 *   organization, the same way: the list of transfers names the organization and checks it.
 *   (Its text key was also wide enough that a rebuild's sort of a million rows spilled to disk.)
 * - The primary key leads with the transfer id, which differs between rows from its first
 *   bytes, and ends with the organization: the same uniqueness, and every lookup names both.
 *
 * The postings view gains the key of each posting's account (as its last column: a view keeps
 * its columns' order).
 */
export const migration = {
  version: 18,
  name: 'ledger_narrow_keys',
  sql: String.raw`
CREATE FUNCTION ll_account_key(org_id text, address text) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN hashtextextended(address, hashtext(org_id));
CREATE FUNCTION ll_org_key(org_id text) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN hashtextextended(org_id, 0);

DROP INDEX rm_ledger_transfers_debit, rm_ledger_transfers_credit, rm_ledger_transfers_debit_resolved,
  rm_ledger_transfers_credit_resolved, rm_ledger_transfers_order;

ALTER TABLE rm_ledger_transfers
  ADD COLUMN org_key bigint GENERATED ALWAYS AS (ll_org_key(org_id)) STORED,
  ADD COLUMN debit_key bigint GENERATED ALWAYS AS (ll_account_key(org_id, debit_account)) STORED,
  ADD COLUMN credit_key bigint GENERATED ALWAYS AS (ll_account_key(org_id, credit_account)) STORED,
  DROP CONSTRAINT rm_ledger_transfers_pkey,
  ADD CONSTRAINT rm_ledger_transfers_pkey PRIMARY KEY (transfer_id, org_id);

CREATE INDEX rm_ledger_transfers_order ON rm_ledger_transfers (org_key, commit_position, prepare_position);
CREATE INDEX rm_ledger_transfers_debit ON rm_ledger_transfers (debit_key, commit_position, prepare_position);
CREATE INDEX rm_ledger_transfers_credit ON rm_ledger_transfers (credit_key, commit_position, prepare_position);
CREATE INDEX rm_ledger_transfers_debit_resolved ON rm_ledger_transfers
  (debit_key, resolved_commit_position, resolved_prepare_position) WHERE resolved_commit_position IS NOT NULL;
CREATE INDEX rm_ledger_transfers_credit_resolved ON rm_ledger_transfers
  (credit_key, resolved_commit_position, resolved_prepare_position) WHERE resolved_commit_position IS NOT NULL;

CREATE OR REPLACE VIEW rm_ledger_postings AS
  SELECT org_id, debit_account AS address, commit_position, prepare_position, 0 AS seq, transfer_id,
         'debit' AS side, CASE WHEN pending THEN 'pending' ELSE 'posted' END AS phase,
         trim_scale(amount) AS amount, created_at AS occurred_at, debit_key AS account_key
    FROM rm_ledger_transfers
  UNION ALL
  SELECT org_id, credit_account, commit_position, prepare_position, 1, transfer_id,
         'credit', CASE WHEN pending THEN 'pending' ELSE 'posted' END, trim_scale(amount), created_at, credit_key
    FROM rm_ledger_transfers
  UNION ALL
  SELECT org_id, debit_account, resolved_commit_position, resolved_prepare_position, 0, transfer_id,
         'debit', 'pending', -trim_scale(amount), resolved_at, debit_key
    FROM rm_ledger_transfers WHERE resolved_commit_position IS NOT NULL
  UNION ALL
  SELECT org_id, credit_account, resolved_commit_position, resolved_prepare_position, 1, transfer_id,
         'credit', 'pending', -trim_scale(amount), resolved_at, credit_key
    FROM rm_ledger_transfers WHERE resolved_commit_position IS NOT NULL
  UNION ALL
  SELECT org_id, debit_account, resolved_commit_position, resolved_prepare_position, 2, transfer_id,
         'debit', 'posted', trim_scale(posted_amount), resolved_at, debit_key
    FROM rm_ledger_transfers WHERE resolved_commit_position IS NOT NULL AND status = 'posted'
  UNION ALL
  SELECT org_id, credit_account, resolved_commit_position, resolved_prepare_position, 3, transfer_id,
         'credit', 'posted', trim_scale(posted_amount), resolved_at, credit_key
    FROM rm_ledger_transfers WHERE resolved_commit_position IS NOT NULL AND status = 'posted';
`,
};
