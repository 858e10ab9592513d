/**
 * Reversals (M-Pesa) and refunds (cards) one by one, so the background resolvers can follow
 * up those whose outcome never came: each with its status and how many times the provider was
 * asked about it. The partial indexes keep the resolvers' look at the reversals and payments
 * still waiting (card payments whose answer was lost stay `initiated`) cheap however many are
 * done. Reversals requested before this migration appear after
 * `ledgerline projections rebuild payments`.
 */
export const migration = {
  version: 14,
  name: 'reversal_followups',
  sql: String.raw`
CREATE TABLE rm_payment_reversals (
  reversal_id text PRIMARY KEY,
  org_id text NOT NULL,
  payment_id text NOT NULL,
  provider text NOT NULL,
  amount numeric NOT NULL,
  status text NOT NULL,
  status_queries integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX rm_payment_reversals_payment ON rm_payment_reversals (org_id, payment_id);
CREATE INDEX rm_payment_reversals_requested ON rm_payment_reversals (provider, updated_at, reversal_id)
  WHERE status = 'requested';
CREATE INDEX rm_payments_unsettled ON rm_payments (provider, updated_at, payment_id)
  WHERE status IN ('initiated', 'pending');
`,
};
