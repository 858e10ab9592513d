/**
 * Transfer positions as bigint instead of numeric(20, 0) (issue 5: projection and replay
 * speed). Every transfer row is in four indexes keyed on positions; comparing two bigints is a
 * machine instruction, comparing two numerics is a call into arbitrary-precision arithmetic,
 * so keeping and building those indexes costs less. A position part is an xid8 (epoch and
 * transaction id) or a sequence value on PostgreSQL, a log offset on EventStoreDB: far below
 * 2^63 either way. The view of every posting is dropped and made again over the new columns,
 * unchanged.
 */
export const migration = {
  version: 13,
  name: 'ledger_bigint_positions',
  sql: String.raw`
DROP VIEW rm_ledger_postings;

ALTER TABLE rm_ledger_transfers
  ALTER COLUMN commit_position TYPE bigint,
  ALTER COLUMN prepare_position TYPE bigint,
  ALTER COLUMN resolved_commit_position TYPE bigint,
  ALTER COLUMN resolved_prepare_position TYPE bigint;

CREATE VIEW rm_ledger_postings AS
  SELECT org_id, debit_account AS address, commit_position, prepare_position, 0 AS seq, transfer_id,
         'debit' AS side, CASE WHEN pending THEN 'pending' ELSE 'posted' END AS phase,
         trim_scale(amount) AS amount, created_at AS occurred_at
    FROM rm_ledger_transfers
  UNION ALL
  SELECT org_id, credit_account, commit_position, prepare_position, 1, transfer_id,
         'credit', CASE WHEN pending THEN 'pending' ELSE 'posted' END, trim_scale(amount), created_at
    FROM rm_ledger_transfers
  UNION ALL
  SELECT org_id, debit_account, resolved_commit_position, resolved_prepare_position, 0, transfer_id,
         'debit', 'pending', -trim_scale(amount), resolved_at
    FROM rm_ledger_transfers WHERE resolved_commit_position IS NOT NULL
  UNION ALL
  SELECT org_id, credit_account, resolved_commit_position, resolved_prepare_position, 1, transfer_id,
         'credit', 'pending', -trim_scale(amount), resolved_at
    FROM rm_ledger_transfers WHERE resolved_commit_position IS NOT NULL
  UNION ALL
  SELECT org_id, debit_account, resolved_commit_position, resolved_prepare_position, 2, transfer_id,
         'debit', 'posted', trim_scale(posted_amount), resolved_at
    FROM rm_ledger_transfers WHERE resolved_commit_position IS NOT NULL AND status = 'posted'
  UNION ALL
  SELECT org_id, credit_account, resolved_commit_position, resolved_prepare_position, 3, transfer_id,
         'credit', 'posted', trim_scale(posted_amount), resolved_at
    FROM rm_ledger_transfers WHERE resolved_commit_position IS NOT NULL AND status = 'posted';
`,
};
