/**
 * Payout batches know whether they were fully handed on: `sending` until every payout was
 * sent, refused, held or cancelled (PayoutBatchDispatched, PayoutBatchCancelled). The
 * background resumer looks only at batches still `sending` long after they were created —
 * the partial index keeps that look cheap however many batches are done.
 */
export const migration = {
  version: 12,
  name: 'payout_batch_dispatch',
  sql: String.raw`
ALTER TABLE rm_payout_batches ADD COLUMN state text NOT NULL DEFAULT 'sending';
CREATE INDEX rm_payout_batches_sending ON rm_payout_batches (created_at, org_id, batch_id)
  WHERE state = 'sending';
`,
};
