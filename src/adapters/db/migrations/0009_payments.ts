/**
 * Customers, payments (M-Pesa collections and payouts, card payments) with their fraud scores,
 * fraud alerts awaiting review, customers' payment methods, and payout batches.
 */
export const migration = {
  version: 9,
  name: 'payments',
  sql: String.raw`
CREATE TABLE rm_customers (
  customer_id text PRIMARY KEY,
  org_id text NOT NULL,
  name text NOT NULL,
  email text,
  phone text,
  external_ref text,
  metadata jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX rm_customers_org ON rm_customers (org_id, customer_id);

CREATE TABLE rm_payments (
  payment_id text PRIMARY KEY,
  org_id text NOT NULL,
  kind text NOT NULL,
  provider text NOT NULL,
  customer_id text,
  amount numeric NOT NULL,
  currency text NOT NULL,
  scale integer NOT NULL,
  counterparty text NOT NULL,
  reference text NOT NULL,
  description text NOT NULL,
  batch_id text,
  status text NOT NULL,
  provider_ref text,
  receipt text,
  result_code text,
  result_text text,
  fraud_score integer NOT NULL,
  fraud_rules jsonb NOT NULL,
  transfer_id text,
  reversed_amount numeric NOT NULL,
  reversal_status text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX rm_payments_org_time ON rm_payments (org_id, created_at, payment_id);
CREATE INDEX rm_payments_provider_ref ON rm_payments (org_id, provider_ref);
CREATE INDEX rm_payments_customer ON rm_payments (org_id, customer_id, created_at);
CREATE INDEX rm_payments_counterparty ON rm_payments (org_id, counterparty, created_at);
CREATE INDEX rm_payments_batch ON rm_payments (org_id, batch_id);
CREATE INDEX rm_payments_pending ON rm_payments (status, updated_at) WHERE status = 'pending';

CREATE TABLE rm_fraud_alerts (
  alert_id text PRIMARY KEY,
  org_id text NOT NULL,
  payment_id text NOT NULL,
  customer_id text,
  counterparty text NOT NULL,
  score integer NOT NULL,
  rules jsonb NOT NULL,
  status text NOT NULL,
  notes text,
  reviewer_id text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX rm_fraud_alerts_org ON rm_fraud_alerts (org_id, status, created_at);
CREATE INDEX rm_fraud_alerts_customer ON rm_fraud_alerts (org_id, customer_id, created_at);

CREATE TABLE rm_payment_methods (
  method_id text PRIMARY KEY,
  org_id text NOT NULL,
  customer_id text NOT NULL,
  brand text NOT NULL,
  last4 text NOT NULL,
  exp_month integer NOT NULL,
  exp_year integer NOT NULL,
  is_default boolean NOT NULL,
  status text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX rm_payment_methods_customer ON rm_payment_methods (org_id, customer_id, created_at);

CREATE TABLE rm_payout_batches (
  batch_id text NOT NULL,
  org_id text NOT NULL,
  item_count integer NOT NULL,
  total numeric NOT NULL,
  currency text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, batch_id)
);
`,
};
