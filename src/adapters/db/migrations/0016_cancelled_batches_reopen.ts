/**
 * Batches cancelled before the run recorded `PayoutBatchDispatched` after a cancellation were
 * projected `cancelled` at once, so the resumer never looked at them: a payout a dying run had
 * initiated (and reserved) but not sent stayed `initiated`, its reservation holding the float.
 * Those cancelled within the last day (the resumer's default age limit) are reopened as
 * `cancelling`, for the resumer to fail what was never sent (voiding its reservation) and then
 * close them; older ones it would refuse by age anyway.
 */
export const migration = {
  version: 16,
  name: 'cancelled_batches_reopen',
  sql: String.raw`
UPDATE rm_payout_batches SET state = 'cancelling'
 WHERE state = 'cancelled' AND created_at >= now() - interval '1 day';
`,
};
