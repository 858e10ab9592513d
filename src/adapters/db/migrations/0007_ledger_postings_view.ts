/**
 * Fewer read-model rows per transfer (issue 5, replay speed). Every change to a balance was a
 * row of rm_ledger_postings: two per transfer, four more when a pending one was posted. Those
 * rows are all implied by the transfer row, once it also records when (position and time) a
 * pending transfer was resolved — so the postings become a view over rm_ledger_transfers,
 * with the same columns, rows and amounts as before, served by indexes on each side's
 * account. A transfer is now one row with its indexes, projected live or rebuilt.
 *
 * Balances are stored at their asset's scale from now on (a rebuild that sums them in SQL and
 * the projector that adds them batch by batch must write the same numbers).
 */
export const migration = {
  version: 7,
  name: 'ledger_postings_view',
  sql: String.raw`
ALTER TABLE rm_ledger_transfers
  ADD COLUMN resolved_commit_position numeric(20, 0),
  ADD COLUMN resolved_prepare_position numeric(20, 0),
  ADD COLUMN resolved_at timestamptz;

-- A resolution (post, void or expiry) released the pending amount: that is its posting.
UPDATE rm_ledger_transfers t
   SET resolved_commit_position = p.commit_position, resolved_prepare_position = p.prepare_position,
       resolved_at = p.occurred_at
  FROM rm_ledger_postings p
 WHERE p.org_id = t.org_id AND p.transfer_id = t.transfer_id AND p.side = 'debit' AND p.phase = 'pending'
   AND p.amount < 0;

DROP TABLE rm_ledger_postings;

-- Ids and addresses compare byte by byte: the same answers to every query (equality, and an
-- order that only breaks ties no two transfers have), but sorts that use abbreviated keys
-- and memcmp instead of the locale's strcoll, so a rebuild builds these indexes in far less time.
ALTER TABLE rm_ledger_transfers
  ALTER COLUMN org_id TYPE text COLLATE "C",
  ALTER COLUMN transfer_id TYPE text COLLATE "C",
  ALTER COLUMN debit_account TYPE text COLLATE "C",
  ALTER COLUMN credit_account TYPE text COLLATE "C";

CREATE INDEX rm_ledger_transfers_debit ON rm_ledger_transfers (org_id, debit_account, commit_position, prepare_position);
CREATE INDEX rm_ledger_transfers_credit ON rm_ledger_transfers (org_id, credit_account, commit_position, prepare_position);
CREATE INDEX rm_ledger_transfers_debit_resolved ON rm_ledger_transfers
  (org_id, debit_account, resolved_commit_position, resolved_prepare_position) WHERE resolved_commit_position IS NOT NULL;
CREATE INDEX rm_ledger_transfers_credit_resolved ON rm_ledger_transfers
  (org_id, credit_account, resolved_commit_position, resolved_prepare_position) WHERE resolved_commit_position IS NOT NULL;

-- Each change to an account's balances, as the table had it: seq numbers the postings of one
-- event (debit before credit; a post releases the reservation, 0 and 1, then posts, 2 and 3);
-- amounts without trailing zeros, a released reservation negative.
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

UPDATE rm_ledger_accounts
   SET debits_posted = round(debits_posted, scale), credits_posted = round(credits_posted, scale),
       debits_pending = round(debits_pending, scale), credits_pending = round(credits_pending, scale);
`,
};
