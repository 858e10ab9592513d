/**
 * Migration 0012 gave every batch stored before it `state = 'sending'`, so the resumer would
 * have taken batches long finished (or abandoned by their callers, who may have paid another
 * way) for cut-short ones. Those older than a day (the default payout reservation lifetime, the
 * resumer's own age limit) are closed here: `dispatched` when every payout of it was handed
 * on (none left unrecorded or merely initiated), otherwise `stuck`, for a person. The resumer
 * refuses such batches by age anyway (that also covers a read-model rebuild). Cancelled
 * batches whose workers may have left payouts under way are now `cancelling` until the resumer
 * closes them, so the resumer's partial index covers both.
 */
export const migration = {
  version: 15,
  name: 'payout_batch_backfill',
  sql: String.raw`
UPDATE rm_payout_batches b SET state = 'dispatched'
 WHERE b.state = 'sending' AND b.created_at < now() - interval '1 day'
   AND (SELECT count(*) FROM rm_payments p
         WHERE p.org_id = b.org_id AND p.batch_id = b.batch_id AND p.status <> 'initiated') = b.item_count;
UPDATE rm_payout_batches SET state = 'stuck'
 WHERE state = 'sending' AND created_at < now() - interval '1 day';
DROP INDEX IF EXISTS rm_payout_batches_sending;
CREATE INDEX rm_payout_batches_resumable ON rm_payout_batches (created_at, org_id, batch_id)
  WHERE state IN ('sending', 'cancelling');
`,
};
