/**
 * The ledger read models rebuilt in SQL, straight from ll_events: a handful of set-based
 * statements instead of a million events fetched, decoded, folded and written back row by
 * row. Each statement is the batch fold of ledgerProjection.ts, said once for every event:
 *
 * - accounts: the first opening of an address wins (ON CONFLICT DO NOTHING there); closing and
 *   limit changes apply in event order, the last one's time is `updated_at`;
 * - transfers: as created (one per TransferCreated, one per element of a TransfersCreated);
 *   then each resolution (post, void, expiry: at most one per transfer) and the sum of each
 *   transfer's reversals;
 * - balances: summed per account from the final transfer rows, which is what adding every
 *   change gives: posted amounts are `posted_amount` (zero until posted), pending amounts
 *   those of transfers still pending.
 *
 * The rebuild-equals-live property tests (test/projections) hold this to the live fold.
 */
import type { SqlClient } from '../../adapters/db/database.js';
import type { Position } from '../../adapters/eventstore/port.js';

/** Events up to and including the rebuild's bound ($1, $2). */
const UP_TO = '(e.transaction_id, e.global_position) <= ($1::xid8, $2::bigint)';
const COMMIT = 'e.transaction_id::text::bigint';

export async function rebuildLedgerInSql(tx: SqlClient, upTo: Position): Promise<void> {
  const bound = [upTo.commit.toString(), upTo.prepare.toString()];
  // Every ledger event but single transfers, read once: the statements below each need some
  // (batches of transfers are few events, so they come along instead of a second full scan).
  await tx.query(
    `CREATE TEMPORARY TABLE ll_rebuild_ledger_events ON COMMIT DROP AS
     SELECT e.event_type, e.org_id, e.data, e.occurred_at, e.transaction_id, e.global_position
       FROM ll_events e
      WHERE e.event_type IN ('AccountOpened', 'AccountClosed', 'AccountLimitChanged', 'PendingTransferPosted',
                             'PendingTransferVoided', 'PendingTransferExpired', 'TransfersCreated') AND ${UP_TO}`,
    bound,
  );
  await tx.query(
    `INSERT INTO rm_ledger_accounts (org_id, address, asset, scale, account_type, debits_must_not_exceed_credits,
       credits_must_not_exceed_debits, credit_limit, metadata, status, debits_posted, credits_posted, debits_pending,
       credits_pending, opened_at, updated_at)
     SELECT DISTINCT ON (o.org_id, o.address) o.org_id, o.address, o.asset, o.scale, o.account_type, o.dmnec, o.cmned,
            o.credit_limit, o.metadata, 'open', round(0, o.scale), round(0, o.scale), round(0, o.scale),
            round(0, o.scale), o.occurred_at, o.occurred_at
       FROM (SELECT e.org_id, x.address, e.data->>'asset' AS asset, (e.data->>'scale')::integer AS scale,
                    x.account_type, x.dmnec, x.cmned, x.credit_limit, x.metadata, e.occurred_at, e.transaction_id,
                    e.global_position, x.ord
               FROM ll_rebuild_ledger_events e
               CROSS JOIN LATERAL (VALUES
                 (0, 'world:' || (e.data->>'asset'), 'equity', false, false, NULL::numeric, '{}'::jsonb),
                 (1, e.data->>'address', e.data->>'accountType', (e.data->'flags'->>'debitsMustNotExceedCredits')::boolean,
                  (e.data->'flags'->>'creditsMustNotExceedDebits')::boolean, (e.data->>'creditLimit')::numeric,
                  e.data->'metadata')
               ) AS x(ord, address, account_type, dmnec, cmned, credit_limit, metadata)
              WHERE e.event_type = 'AccountOpened') o
      ORDER BY o.org_id, o.address, o.transaction_id, o.global_position, o.ord`,
  );
  await tx.query(
    `UPDATE rm_ledger_accounts a
        SET status = CASE WHEN c.closed THEN 'closed' ELSE a.status END,
            credit_limit = CASE WHEN c.limit_changed THEN c.credit_limit ELSE a.credit_limit END,
            updated_at = c.updated_at
       FROM (SELECT e.org_id, e.data->>'address' AS address,
                    bool_or(e.event_type = 'AccountClosed') AS closed,
                    bool_or(e.event_type = 'AccountLimitChanged') AS limit_changed,
                    (array_agg((e.data->>'creditLimit')::numeric ORDER BY e.transaction_id DESC, e.global_position DESC)
                      FILTER (WHERE e.event_type = 'AccountLimitChanged'))[1] AS credit_limit,
                    (array_agg(e.occurred_at ORDER BY e.transaction_id DESC, e.global_position DESC))[1] AS updated_at
               FROM ll_rebuild_ledger_events e
              WHERE e.event_type IN ('AccountClosed', 'AccountLimitChanged')
              GROUP BY e.org_id, e.data->>'address') c
      WHERE a.org_id = c.org_id AND a.address = c.address`,
  );
  await tx.query(
    `INSERT INTO rm_ledger_transfers (org_id, transfer_id, debit_account, credit_account, asset, amount, posted_amount,
       reversed_amount, code, status, pending, timeout_at, reversal_of, reference, metadata, created_at, updated_at,
       commit_position, prepare_position)
     SELECT t.org_id, t.data->>'transferId', t.data->>'debitAccount', t.data->>'creditAccount', t.data->>'asset',
            t.amount, CASE WHEN t.pending THEN t.amount * 0 ELSE t.amount END, t.amount * 0, t.data->>'code',
            CASE WHEN t.pending THEN 'pending' ELSE 'posted' END, t.pending, (t.data->>'timeoutAt')::timestamptz,
            t.data->>'reversalOf', t.data->>'reference', t.data->'metadata', t.occurred_at, t.occurred_at, t.commit,
            t.global_position
       FROM (SELECT e.org_id, e.data, e.occurred_at, e.global_position, ${COMMIT} AS commit,
                    (e.data->>'amount')::numeric AS amount, (e.data->>'pending')::boolean AS pending
               FROM ll_events e WHERE e.event_type = 'TransferCreated' AND ${UP_TO}
             UNION ALL
             SELECT e.org_id, x.data, e.occurred_at, e.global_position, ${COMMIT},
                    (x.data->>'amount')::numeric, (x.data->>'pending')::boolean
               FROM ll_rebuild_ledger_events e CROSS JOIN LATERAL jsonb_array_elements(e.data->'transfers') AS x(data)
              WHERE e.event_type = 'TransfersCreated') t`,
    bound,
  );
  await tx.query(
    `UPDATE rm_ledger_transfers t
        SET status = CASE r.event_type WHEN 'PendingTransferPosted' THEN 'posted'
                       WHEN 'PendingTransferVoided' THEN 'voided' ELSE 'expired' END,
            posted_amount = CASE WHEN r.event_type = 'PendingTransferPosted' THEN (r.data->>'amount')::numeric
                              ELSE t.posted_amount END,
            updated_at = r.occurred_at, resolved_commit_position = r.commit,
            resolved_prepare_position = r.global_position, resolved_at = r.occurred_at
       FROM (SELECT e.org_id, e.event_type, e.data, e.occurred_at, e.global_position, ${COMMIT} AS commit
               FROM ll_rebuild_ledger_events e
              WHERE e.event_type IN ('PendingTransferPosted', 'PendingTransferVoided', 'PendingTransferExpired')) r
      WHERE t.org_id = r.org_id AND t.transfer_id = r.data->>'transferId'`,
  );
  // Reversals come after what they reverse; updated_at is the time of whichever came last.
  await tx.query(
    `UPDATE rm_ledger_transfers t
        SET reversed_amount = t.reversed_amount + r.total,
            updated_at = CASE WHEN (r.commit, r.prepare) >
                                   (coalesce(t.resolved_commit_position, t.commit_position),
                                    coalesce(t.resolved_prepare_position, t.prepare_position))
                              THEN r.at ELSE t.updated_at END
       FROM (SELECT org_id, reversal_of, sum(amount) AS total,
                    (array_agg(commit_position ORDER BY commit_position DESC, prepare_position DESC))[1] AS commit,
                    (array_agg(prepare_position ORDER BY commit_position DESC, prepare_position DESC))[1] AS prepare,
                    (array_agg(created_at ORDER BY commit_position DESC, prepare_position DESC))[1] AS at
               FROM rm_ledger_transfers WHERE reversal_of IS NOT NULL
              GROUP BY org_id, reversal_of) r
      WHERE t.org_id = r.org_id AND t.transfer_id = r.reversal_of`,
  );
  // Each side summed on its own: half the sums of one pass over both.
  await tx.query(
    `UPDATE rm_ledger_accounts a
        SET debits_posted = round(a.debits_posted + coalesce(b.debits_posted, 0), a.scale),
            credits_posted = round(a.credits_posted + coalesce(b.credits_posted, 0), a.scale),
            debits_pending = round(a.debits_pending + coalesce(b.debits_pending, 0), a.scale),
            credits_pending = round(a.credits_pending + coalesce(b.credits_pending, 0), a.scale)
       FROM (SELECT coalesce(d.org_id, c.org_id) AS org_id, coalesce(d.address, c.address) AS address,
                    d.posted AS debits_posted, d.pending AS debits_pending, c.posted AS credits_posted,
                    c.pending AS credits_pending
               FROM (SELECT org_id, debit_account AS address, sum(posted_amount) AS posted,
                            sum(amount) FILTER (WHERE status = 'pending') AS pending
                       FROM rm_ledger_transfers GROUP BY org_id, debit_account) d
               FULL JOIN (SELECT org_id, credit_account AS address, sum(posted_amount) AS posted,
                                 sum(amount) FILTER (WHERE status = 'pending') AS pending
                            FROM rm_ledger_transfers GROUP BY org_id, credit_account) c
                 ON c.org_id = d.org_id AND c.address = d.address) b
      WHERE a.org_id = b.org_id AND a.address = b.address`,
  );
}
