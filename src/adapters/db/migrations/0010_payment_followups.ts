/**
 * Following up on payments whose outcome is not known yet: how many times the provider was
 * asked about each (the background resolver stops after a bounded number), and the
 * reconciliation alerts raised when the books and the provider may disagree (a payout that
 * succeeded after its reservation expired, a payment no query could resolve).
 */
export const migration = {
  version: 10,
  name: 'payment_followups',
  sql: String.raw`
ALTER TABLE rm_payments ADD COLUMN status_queries integer NOT NULL DEFAULT 0;

CREATE TABLE rm_reconciliation_alerts (
  alert_id text PRIMARY KEY,
  org_id text NOT NULL,
  payment_id text NOT NULL,
  kind text NOT NULL,
  amount numeric NOT NULL,
  currency text NOT NULL,
  transfer_id text,
  detail text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX rm_reconciliation_alerts_org ON rm_reconciliation_alerts (org_id, created_at, alert_id);
`,
};
