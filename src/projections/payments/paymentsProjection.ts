/**
 * Customers, their payment methods, payments with their fraud scores, fraud alerts and payout
 * batches as tables, from the customer, payment and payout-batch streams.
 */
import { Decimal } from 'decimal.js';
import type { SqlClient } from '../../adapters/db/database.js';
import type { RecordedEvent } from '../../adapters/eventstore/port.js';
import type { CustomerEvent } from '../../domain/customers/customer.js';
import type { PayoutBatchEvent } from '../../domain/payments/payoutBatch.js';
import type { PaymentEvent } from '../../domain/payments/payment.js';
import type { Projection } from '../projection.js';
import { loadRows, upsertRows } from '../rowBatch.js';

interface CustomerRow {
  customer_id: string;
  org_id: string;
  name: string;
  email: string | null;
  phone: string | null;
  external_ref: string | null;
  metadata: object;
  created_at: string;
  updated_at: string;
}

interface PaymentRow {
  payment_id: string;
  org_id: string;
  kind: string;
  provider: string;
  customer_id: string | null;
  amount: string;
  currency: string;
  scale: number;
  counterparty: string;
  reference: string;
  description: string;
  batch_id: string | null;
  status: string;
  provider_ref: string | null;
  receipt: string | null;
  result_code: string | null;
  result_text: string | null;
  fraud_score: number;
  fraud_rules: object;
  transfer_id: string | null;
  reversed_amount: string;
  reversal_status: string | null;
  /** How many times the provider was asked about it (the resolver's bound). */
  status_queries: number;
  created_at: string;
  updated_at: string;
}

interface AlertRow {
  alert_id: string;
  org_id: string;
  payment_id: string;
  customer_id: string | null;
  counterparty: string;
  score: number;
  rules: object;
  status: string;
  notes: string | null;
  reviewer_id: string | null;
  created_at: string;
  updated_at: string;
}

const CUSTOMER_COLUMNS = [
  'customer_id',
  'org_id',
  'name',
  'email',
  'phone',
  'external_ref',
  'metadata',
  'created_at',
  'updated_at',
];
const PAYMENT_COLUMNS = [
  'payment_id',
  'org_id',
  'kind',
  'provider',
  'customer_id',
  'amount',
  'currency',
  'scale',
  'counterparty',
  'reference',
  'description',
  'batch_id',
  'status',
  'provider_ref',
  'receipt',
  'result_code',
  'result_text',
  'fraud_score',
  'fraud_rules',
  'transfer_id',
  'reversed_amount',
  'reversal_status',
  'status_queries',
  'created_at',
  'updated_at',
];
const ALERT_COLUMNS = [
  'alert_id',
  'org_id',
  'payment_id',
  'customer_id',
  'counterparty',
  'score',
  'rules',
  'status',
  'notes',
  'reviewer_id',
  'created_at',
  'updated_at',
];

type Event = CustomerEvent | PaymentEvent | PayoutBatchEvent;

export const PAYMENTS_EVENT_TYPES: readonly Event['type'][] = [
  'CustomerCreated',
  'CustomerUpdated',
  'PaymentMethodAdded',
  'PaymentInitiated',
  'FraudAlertRaised',
  'PaymentBlocked',
  'FraudReviewed',
  'PaymentSubmitted',
  'ProviderRequestStarted',
  'PaymentSucceeded',
  'PaymentFailed',
  'PaymentCancelled',
  'PaymentReceiptRecorded',
  'ReversalRequested',
  'ReversalSucceeded',
  'ReversalFailed',
  'ProviderStatusQueried',
  'ReconciliationAlertRaised',
  'ReconciliationAlertResolved',
  'PayoutBatchCreated',
  'PayoutBatchCancelled',
  'PayoutBatchDispatched',
  'PayoutBatchResumeFailed',
];

function pick<Row>(rows: ReadonlyMap<string, Row>, keys: ReadonlySet<string>): Row[] {
  return [...keys].flatMap((key) => {
    const row = rows.get(key);
    return row ? [row] : [];
  });
}

export const paymentsProjection: Projection = {
  name: 'payments',
  tables: [
    'rm_customers',
    'rm_payments',
    'rm_fraud_alerts',
    'rm_payment_methods',
    'rm_payout_batches',
    'rm_reconciliation_alerts',
    'rm_payment_reversals',
  ],
  eventTypes: PAYMENTS_EVENT_TYPES,
  async apply(tx: SqlClient, events: readonly RecordedEvent[]): Promise<void> {
    const domain = events.map((event) => ({ event, e: { type: event.type, data: event.data } as Event }));
    const customerIds = domain.flatMap(({ e }) =>
      e.type === 'CustomerCreated' || e.type === 'CustomerUpdated' ? [e.data.customerId] : [],
    );
    const paymentIds = domain.flatMap(({ e }) => ('paymentId' in e.data ? [e.data.paymentId] : []));
    const alertIds = domain.flatMap(({ e }) =>
      // Fraud alerts' ids: a reconciliation alert is kept in its own table.
      e.type !== 'ReconciliationAlertRaised' &&
      e.type !== 'ReconciliationAlertResolved' &&
      'alertId' in e.data
        ? [e.data.alertId]
        : [],
    );
    const customers = await loadRows<CustomerRow>(tx, 'rm_customers', 'customer_id', customerIds);
    const payments = await loadRows<PaymentRow>(tx, 'rm_payments', 'payment_id', paymentIds);
    const alerts = await loadRows<AlertRow>(tx, 'rm_fraud_alerts', 'alert_id', alertIds);
    const touched = { customers: new Set<string>(), payments: new Set<string>(), alerts: new Set<string>() };

    for (const { event, e } of domain) {
      const at = event.occurredAt.toISOString();
      switch (e.type) {
        case 'CustomerCreated':
          customers.set(e.data.customerId, {
            customer_id: e.data.customerId,
            org_id: event.orgId,
            name: e.data.name,
            email: e.data.email,
            phone: e.data.phone,
            external_ref: e.data.externalRef,
            metadata: e.data.metadata,
            created_at: at,
            updated_at: at,
          });
          touched.customers.add(e.data.customerId);
          break;
        case 'CustomerUpdated': {
          const customer = customers.get(e.data.customerId);
          if (!customer) break;
          if (e.data.name !== undefined) customer.name = e.data.name;
          if (e.data.email !== undefined) customer.email = e.data.email;
          if (e.data.phone !== undefined) customer.phone = e.data.phone;
          if (e.data.externalRef !== undefined) customer.external_ref = e.data.externalRef;
          if (e.data.metadata !== undefined) customer.metadata = e.data.metadata;
          customer.updated_at = at;
          touched.customers.add(customer.customer_id);
          break;
        }
        case 'PaymentMethodAdded':
          // Rare and order-sensitive (a new default demotes the old one): one statement each.
          if (e.data.isDefault) {
            await tx.query(
              'UPDATE rm_payment_methods SET is_default = false WHERE org_id = $1 AND customer_id = $2',
              [event.orgId, e.data.customerId],
            );
          }
          await tx.query(
            `INSERT INTO rm_payment_methods
               (method_id, org_id, customer_id, brand, last4, exp_month, exp_year, is_default, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9)
             ON CONFLICT (method_id) DO NOTHING`,
            [
              e.data.methodId,
              event.orgId,
              e.data.customerId,
              e.data.brand,
              e.data.last4,
              e.data.expMonth,
              e.data.expYear,
              e.data.isDefault,
              at,
            ],
          );
          break;
        case 'PayoutBatchCreated':
          await tx.query(
            `INSERT INTO rm_payout_batches (batch_id, org_id, item_count, total, currency, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
            [e.data.batchId, event.orgId, e.data.items.length, e.data.total, e.data.currency, at],
          );
          break;
        case 'PayoutBatchCancelled':
          // Cancelled, but payouts under way may still be unfinished (their run may die): the
          // resumer still looks at it until it is handed on. Never reopens a closed batch.
          await tx.query(
            `UPDATE rm_payout_batches SET state = 'cancelling'
              WHERE org_id = $1 AND batch_id = $2 AND state = 'sending'`,
            [event.orgId, e.data.batchId],
          );
          break;
        case 'PayoutBatchDispatched':
          // Handed on: no longer a batch the resumer looks at. A stuck batch stays stuck.
          await tx.query(
            `UPDATE rm_payout_batches
                SET state = CASE WHEN state = 'cancelling' THEN 'cancelled' ELSE 'dispatched' END
              WHERE org_id = $1 AND batch_id = $2 AND state <> 'stuck'`,
            [event.orgId, e.data.batchId],
          );
          break;
        case 'PayoutBatchResumeFailed':
          // Left for a person: the resumer looks at it no more.
          if (e.data.abandoned) {
            await tx.query(
              `UPDATE rm_payout_batches SET state = 'stuck' WHERE org_id = $1 AND batch_id = $2`,
              [event.orgId, e.data.batchId],
            );
          }
          break;
        case 'PaymentInitiated':
          payments.set(e.data.paymentId, {
            payment_id: e.data.paymentId,
            org_id: event.orgId,
            kind: e.data.kind,
            provider: e.data.provider,
            customer_id: e.data.customerId,
            amount: e.data.amount,
            currency: e.data.currency,
            scale: e.data.scale,
            counterparty: e.data.counterparty,
            reference: e.data.reference,
            description: e.data.description,
            batch_id: e.data.batchId,
            status: e.data.status,
            provider_ref: null,
            receipt: null,
            result_code: null,
            result_text: null,
            fraud_score: e.data.fraud.score,
            fraud_rules: e.data.fraud.rules,
            transfer_id: null,
            reversed_amount: '0',
            reversal_status: null,
            status_queries: 0,
            created_at: at,
            updated_at: at,
          });
          touched.payments.add(e.data.paymentId);
          break;
        case 'FraudAlertRaised':
          alerts.set(e.data.alertId, {
            alert_id: e.data.alertId,
            org_id: event.orgId,
            payment_id: e.data.paymentId,
            customer_id: e.data.customerId,
            counterparty: e.data.counterparty,
            score: e.data.score,
            rules: e.data.rules,
            status: 'open',
            notes: null,
            reviewer_id: null,
            created_at: at,
            updated_at: at,
          });
          touched.alerts.add(e.data.alertId);
          updatePayment(payments, touched.payments, e.data.paymentId, at, (row) => {
            row.status = 'held';
          });
          break;
        case 'FraudReviewed': {
          const alert = alerts.get(e.data.alertId);
          if (alert) {
            alert.status = e.data.outcome;
            alert.notes = e.data.notes;
            alert.reviewer_id = e.data.reviewerId;
            alert.updated_at = at;
            touched.alerts.add(alert.alert_id);
          }
          if (e.data.outcome === 'released') {
            updatePayment(payments, touched.payments, e.data.paymentId, at, (row) => {
              row.status = 'initiated';
            });
          }
          break;
        }
        case 'PaymentBlocked':
        case 'PaymentCancelled':
        case 'PaymentSubmitted':
        case 'PaymentSucceeded':
        case 'PaymentFailed':
        case 'ProviderRequestStarted':
          updatePayment(payments, touched.payments, e.data.paymentId, at, (row) => {
            applyStatus(row, e);
          });
          break;
        case 'PaymentReceiptRecorded':
          updatePayment(payments, touched.payments, e.data.paymentId, at, (row) => {
            row.receipt = e.data.receipt;
          });
          break;
        case 'ReversalRequested':
        case 'ReversalSucceeded':
        case 'ReversalFailed':
          await projectReversal(tx, event.orgId, e, at, payments.get(e.data.paymentId)?.provider);
          updatePayment(payments, touched.payments, e.data.paymentId, at, (row) => {
            if (e.type === 'ReversalRequested') row.reversal_status = 'requested';
            if (e.type === 'ReversalFailed') row.reversal_status = 'failed';
            if (e.type === 'ReversalSucceeded') {
              row.reversal_status = 'succeeded';
              row.reversed_amount = new Decimal(row.reversed_amount).plus(e.data.amount).toFixed();
            }
          });
          break;
        case 'ProviderStatusQueried':
          // Asked again: to the back of the resolver's queue, one attempt nearer its bound.
          if (e.data.reversalId !== undefined) {
            await tx.query(
              `UPDATE rm_payment_reversals SET status_queries = status_queries + 1, updated_at = $3
                WHERE org_id = $1 AND reversal_id = $2`,
              [event.orgId, e.data.reversalId, at],
            );
            break;
          }
          updatePayment(payments, touched.payments, e.data.paymentId, at, (row) => {
            row.status_queries += 1;
          });
          break;
        case 'ReconciliationAlertRaised':
          await tx.query(
            `INSERT INTO rm_reconciliation_alerts
               (alert_id, org_id, payment_id, kind, amount, currency, transfer_id, detail, created_at,
                reversal_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (alert_id) DO NOTHING`,
            [
              e.data.alertId,
              event.orgId,
              e.data.paymentId,
              e.data.kind,
              e.data.amount,
              e.data.currency,
              e.data.transferId,
              e.data.detail,
              at,
              e.data.reversalId ?? null,
            ],
          );
          break;
        case 'ReconciliationAlertResolved':
          await tx.query(
            `UPDATE rm_reconciliation_alerts
                SET resolution = $3, resolution_note = $4, resolved_by = $5, resolved_at = $6
              WHERE org_id = $1 AND alert_id = $2`,
            [event.orgId, e.data.alertId, e.data.resolution, e.data.note, e.data.resolvedBy, at],
          );
          break;
        default:
          break;
      }
    }
    await upsertRows(tx, 'rm_customers', 'customer_id', CUSTOMER_COLUMNS, pick(customers, touched.customers));
    await upsertRows(tx, 'rm_payments', 'payment_id', PAYMENT_COLUMNS, pick(payments, touched.payments));
    await upsertRows(tx, 'rm_fraud_alerts', 'alert_id', ALERT_COLUMNS, pick(alerts, touched.alerts));
  },
};

/**
 * One reversal or refund as its own row (rare next to payments: one statement each), for the
 * resolvers to find those still waiting for their outcome.
 */
async function projectReversal(
  tx: SqlClient,
  orgId: string,
  e: Extract<PaymentEvent, { type: 'ReversalRequested' | 'ReversalSucceeded' | 'ReversalFailed' }>,
  at: string,
  provider: string | undefined,
): Promise<void> {
  if (e.type === 'ReversalRequested') {
    await tx.query(
      `INSERT INTO rm_payment_reversals
         (reversal_id, org_id, payment_id, provider, amount, status, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, 'requested', $6, $6) ON CONFLICT (reversal_id) DO NOTHING`,
      [e.data.reversalId, orgId, e.data.paymentId, provider ?? 'unknown', e.data.amount, at],
    );
    return;
  }
  await tx.query(
    `UPDATE rm_payment_reversals SET status = $3, updated_at = $4 WHERE org_id = $1 AND reversal_id = $2`,
    [orgId, e.data.reversalId, e.type === 'ReversalSucceeded' ? 'succeeded' : 'failed', at],
  );
}

function updatePayment(
  payments: Map<string, PaymentRow>,
  touched: Set<string>,
  paymentId: string,
  at: string,
  change: (row: PaymentRow) => void,
): void {
  const row = payments.get(paymentId);
  if (!row) return;
  change(row);
  row.updated_at = at;
  touched.add(paymentId);
}

function applyStatus(
  row: PaymentRow,
  e: Extract<
    PaymentEvent,
    {
      type:
        | 'PaymentBlocked'
        | 'PaymentCancelled'
        | 'PaymentSubmitted'
        | 'PaymentSucceeded'
        | 'PaymentFailed'
        | 'ProviderRequestStarted';
    }
  >,
): void {
  switch (e.type) {
    case 'PaymentBlocked':
      row.status = 'blocked';
      row.result_text = e.data.reason;
      break;
    case 'PaymentCancelled':
      row.status = 'cancelled';
      row.result_text = e.data.reason;
      break;
    case 'PaymentSubmitted':
      row.status = 'pending';
      row.provider_ref = e.data.providerRef;
      break;
    case 'ProviderRequestStarted':
      // Maybe at the provider already: the resolver's to settle if no answer comes.
      row.status = 'pending';
      break;
    case 'PaymentSucceeded':
      row.status = 'succeeded';
      row.receipt = e.data.receipt;
      row.transfer_id = e.data.transferId;
      row.provider_ref = e.data.providerRef ?? row.provider_ref;
      break;
    case 'PaymentFailed':
      row.status = 'failed';
      row.result_code = e.data.resultCode;
      row.result_text = e.data.resultText;
      row.provider_ref = e.data.providerRef ?? row.provider_ref;
      break;
  }
}
