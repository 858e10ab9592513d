/**
 * Payments read back: lists from the payments read model (cursor-paged), one payment from its
 * own stream (status, fraud score and rules, refunds), and a customer's saved cards. These back
 * the MCP resources payments://{customer_id}/history, payments://{payment_id}/status and
 * payments://{customer_id}/methods.
 */
import { Decimal } from 'decimal.js';
import { z } from 'zod';
import { LedgerlineError } from '../../domain/errors.js';
import { formatAmount } from '../../domain/ledger/money.js';
import { PAYMENT_KINDS, PAYMENT_STATUSES, reversibleUnits } from '../../domain/payments/payment.js';
import { readModelGrantNote, readModelGrantParam, readModelOrg } from '../audit/access.js';
import { defineQuery } from '../catalog.js';
import type { CommandContext, QueryContext, Services } from '../context.js';
import * as c from '../customers/schemas.js';
import * as s from '../schemas.js';
import { askAboutCardPayment } from './cardFollowUp.js';
import { loadPaymentView, refundedAmount, verdictOutput } from './paymentViews.js';

const paymentsGrant = readModelGrantParam('payments:read');
const GRANT_NOTE = readModelGrantNote('payments:read');

const ruleOutput = z.object({ rule: z.string(), points: z.number(), reason: z.string() });

const paymentItem = z.object({
  paymentId: z.string(),
  kind: z.string(),
  provider: z.string(),
  customerId: z.string().nullable(),
  amount: z.string(),
  currency: z.string(),
  counterparty: z.string(),
  reference: z.string(),
  description: z.string(),
  status: z.string(),
  fraudScore: z.number(),
  fraudRules: z.array(ruleOutput),
  receipt: z.string().nullable(),
  resultCode: z.string().nullable(),
  resultText: z.string().nullable(),
  refundedAmount: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

interface PaymentRow {
  readonly payment_id: string;
  readonly kind: string;
  readonly provider: string;
  readonly customer_id: string | null;
  readonly amount: string;
  readonly currency: string;
  readonly scale: number;
  readonly counterparty: string;
  readonly reference: string;
  readonly description: string;
  readonly status: string;
  readonly fraud_score: number;
  readonly fraud_rules: { rule: string; points: number; reason: string }[];
  readonly receipt: string | null;
  readonly result_code: string | null;
  readonly result_text: string | null;
  readonly reversed_amount: string;
  readonly created_at: Date;
  readonly updated_at: Date;
}

const PAYMENT_COLUMNS = `payment_id, kind, provider, customer_id, amount::text AS amount, currency, scale, counterparty,
  reference, description, status, fraud_score, fraud_rules, receipt, result_code, result_text,
  reversed_amount::text AS reversed_amount, created_at, updated_at`;

function fixed(value: string, scale: number): string {
  return new Decimal(value).toFixed(scale);
}

function toPayment(row: PaymentRow): z.infer<typeof paymentItem> {
  return {
    paymentId: row.payment_id,
    kind: row.kind,
    provider: row.provider,
    customerId: row.customer_id,
    amount: fixed(row.amount, row.scale),
    currency: row.currency,
    counterparty: row.counterparty,
    reference: row.reference,
    description: row.description,
    status: row.status,
    fraudScore: row.fraud_score,
    fraudRules: row.fraud_rules,
    receipt: row.receipt,
    resultCode: row.result_code,
    resultText: row.result_text,
    refundedAmount: fixed(row.reversed_amount, row.scale),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Cursor key of a time-ordered list: the row's time and id (ids break ties). */
function timeKey(at: string, id: string): string {
  return `${at}|${id}`;
}

export function splitTimeKey(cursor: string | undefined): { at: string | null; id: string | null } {
  const key = s.decodeCursor(cursor);
  if (key === null) return { at: null, id: null };
  const [at, id] = key.split('|');
  if (at === undefined || id === undefined || Number.isNaN(Date.parse(at))) {
    throw new LedgerlineError('VALIDATION_FAILED', 'cursor: must be the nextCursor of an earlier page', {
      field: 'cursor',
    });
  }
  return { at, id };
}

/** NOT_FOUND unless the customer is the caller's organization's. */
export async function assertCustomer(services: Services, orgId: string, customerId: string): Promise<void> {
  const { rows } = await services.db.query<{ one: number }>(
    'SELECT 1 AS one FROM rm_customers WHERE org_id = $1 AND customer_id = $2',
    [orgId, customerId],
  );
  if (rows.length === 0) throw new LedgerlineError('NOT_FOUND', 'No such customer.', { customerId });
}

/** NOT_FOUND unless the payment is the caller's organization's. */
export async function assertPayment(services: Services, orgId: string, paymentId: string): Promise<void> {
  const { rows } = await services.db.query<{ one: number }>(
    'SELECT 1 AS one FROM rm_payments WHERE org_id = $1 AND payment_id = $2',
    [orgId, paymentId],
  );
  if (rows.length === 0) throw new LedgerlineError('NOT_FOUND', 'No such payment.', { paymentId });
}

export const listPayments = defineQuery({
  name: 'list_payments',
  title: 'Payments',
  description:
    'The organization’s payments (card payments, M-Pesa collections and payouts), oldest first, a page at a time: status, amount, fraud score and the rules that fired, receipt, what was refunded. Filter by customer (NOT_FOUND for a customer the organization does not have), kind, status and a time range (from inclusive, to exclusive). For one payment’s full story (refunds, failure reason) use get_payment.' +
    GRANT_NOTE,
  params: z.strictObject({
    ...s.pageParams,
    customerId: c.customerId.optional(),
    kind: z.enum(PAYMENT_KINDS).optional(),
    status: z.enum(PAYMENT_STATUSES).optional(),
    from: s.isoTime.optional(),
    to: s.isoTime.optional(),
    grantId: paymentsGrant,
  }),
  result: s.page(paymentItem),
  scope: 'payments:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/payments' },
  mcp: {
    resource: {
      uri: 'payments://{customer_id}/history',
      name: 'Payment history',
      vars: { customer_id: 'customerId' },
    },
  },
  async run(params, context) {
    const after = splitTimeKey(params.cursor);
    const orgId = await readModelOrg(context, params.grantId, 'payments:read', 'list_payments', 'payments');
    // A customer filter names one customer: one the organization does not have is not found
    // (as list_payment_methods and get_customer_risk answer), never an empty page.
    if (params.customerId !== undefined) await assertCustomer(context.services, orgId, params.customerId);
    const { rows } = await context.services.db.query<PaymentRow>(
      `SELECT ${PAYMENT_COLUMNS} FROM rm_payments
        WHERE org_id = $1
          AND ($2::timestamptz IS NULL OR (created_at, payment_id) > ($2::timestamptz, $3::text))
          AND ($4::text IS NULL OR customer_id = $4) AND ($5::text IS NULL OR kind = $5)
          AND ($6::text IS NULL OR status = $6)
          AND ($7::timestamptz IS NULL OR created_at >= $7) AND ($8::timestamptz IS NULL OR created_at < $8)
        ORDER BY created_at, payment_id LIMIT $9`,
      [
        orgId,
        after.at,
        after.id,
        params.customerId ?? null,
        params.kind ?? null,
        params.status ?? null,
        params.from ?? null,
        params.to ?? null,
        params.limit + 1,
      ],
    );
    return s.pageOf(rows, params.limit, toPayment, (item) => timeKey(item.createdAt, item.paymentId));
  },
});

const refundItem = z.object({
  refundId: z.string(),
  amount: z.string(),
  status: z.string(),
  reason: z.string(),
  providerRef: z.string().nullable(),
  failure: z.string().nullable(),
  requestedAt: z.string(),
});

/** A command context for work a read starts on the organization's behalf (the system acts). */
function systemContext(context: QueryContext): CommandContext {
  return {
    principal: { ...context.principal, actor: { kind: 'system', id: 'payment-resolver' } },
    services: context.services,
    now: context.now,
    requestId: context.services.newId('req'),
    idempotencyKey: null,
    clientAddress: '',
    channel: { kind: 'system' },
  };
}

export const getPayment = defineQuery({
  name: 'get_payment',
  title: 'A payment',
  description:
    'One payment’s status and story: amount, fraud score with every rule that fired and why, the alert id if it was held, the processor’s receipt, why it failed or was blocked, each refund (amount, status, reason) and what remains refundable. A card payment whose outcome is not known yet is asked about again here — one left processing is retrieved from the processor, one whose answer never came is asked with the same idempotency key (never a second charge) — except under an audit grant, which only reads.' +
    GRANT_NOTE,
  params: z.strictObject({ paymentId: c.paymentId, grantId: paymentsGrant }),
  result: z.object({
    paymentId: z.string(),
    kind: z.string(),
    provider: z.string(),
    customerId: z.string().nullable(),
    amount: z.string(),
    currency: z.string(),
    counterparty: z.string(),
    reference: z.string(),
    description: z.string(),
    status: z.string(),
    fraud: z.object({ score: z.number(), decision: z.string(), rules: z.array(ruleOutput) }),
    alertId: z.string().nullable(),
    providerRef: z.string().nullable(),
    receipt: z.string().nullable(),
    transferId: z.string().nullable(),
    failure: z.object({ code: z.string(), message: z.string() }).nullable(),
    refunds: z.object({ items: z.array(refundItem), refunded: z.string(), refundable: z.string() }),
    createdAt: z.string(),
    updatedAt: z.string(),
  }),
  scope: 'payments:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/payments/:paymentId' },
  mcp: {
    resource: {
      uri: 'payments://{payment_id}/status',
      name: 'Payment status',
      vars: { payment_id: 'paymentId' },
      subscribe: { categories: ['payment'] },
    },
  },
  async run(params, context) {
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'payments:read',
      'get_payment',
      `payment ${params.paymentId}`,
    );
    let view = await loadPaymentView(context.services, orgId, params.paymentId);
    const status = view.state.status;
    // An auditor reading under a grant never sets the other organization's payments in motion.
    if (
      params.grantId === undefined &&
      view.state.intent?.kind === 'card_payment' &&
      (status === 'initiated' || status === 'pending')
    ) {
      await askAboutCardPayment(systemContext(context), orgId, params.paymentId, false);
      view = await loadPaymentView(context.services, orgId, params.paymentId);
    }
    const { state } = view;
    const intent = state.intent;
    if (!intent) throw new LedgerlineError('NOT_FOUND', 'No such payment.');
    return {
      paymentId: intent.paymentId,
      kind: intent.kind,
      provider: intent.provider,
      customerId: intent.customerId,
      amount: intent.amount,
      currency: intent.currency,
      counterparty: intent.counterparty,
      reference: intent.reference,
      description: intent.description,
      status: state.status ?? 'initiated',
      fraud: verdictOutput(state),
      alertId: state.alertId,
      providerRef: state.providerRef,
      receipt: state.receipt,
      transferId: state.transferId,
      failure: view.failure,
      refunds: {
        items: view.refunds.map((refund) => ({ ...refund })),
        refunded: refundedAmount(view),
        refundable: formatAmount(state.status === 'succeeded' ? reversibleUnits(state) : 0n, intent.scale),
      },
      createdAt: view.createdAt,
      updatedAt: view.updatedAt,
    };
  },
});

const methodItem = z.object({
  methodId: z.string(),
  brand: z.string(),
  last4: z.string(),
  expMonth: z.number(),
  expYear: z.number(),
  isDefault: z.boolean(),
  createdAt: z.string(),
});

interface MethodRow {
  readonly method_id: string;
  readonly brand: string;
  readonly last4: string;
  readonly exp_month: number;
  readonly exp_year: number;
  readonly is_default: boolean;
  readonly created_at: Date;
}

export const listPaymentMethods = defineQuery({
  name: 'list_payment_methods',
  title: 'A customer’s saved cards',
  description:
    'The cards saved for a customer, oldest first, a page at a time: brand, last 4, expiry and which one is the default initiate_payment charges. Never a card number (none is kept).' +
    GRANT_NOTE,
  params: z.strictObject({ ...s.pageParams, customerId: c.customerId, grantId: paymentsGrant }),
  result: s.page(methodItem),
  scope: 'payments:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/customers/:customerId/payment-methods' },
  mcp: {
    resource: {
      uri: 'payments://{customer_id}/methods',
      name: 'Payment methods',
      vars: { customer_id: 'customerId' },
    },
  },
  async run(params, context) {
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'payments:read',
      'list_payment_methods',
      `customer ${params.customerId}`,
    );
    await assertCustomer(context.services, orgId, params.customerId);
    const { rows } = await context.services.db.query<MethodRow>(
      `SELECT method_id, brand, last4, exp_month, exp_year, is_default, created_at FROM rm_payment_methods
        WHERE org_id = $1 AND customer_id = $2 AND ($3::text IS NULL OR method_id > $3)
        ORDER BY method_id LIMIT $4`,
      [orgId, params.customerId, s.decodeCursor(params.cursor), params.limit + 1],
    );
    return s.pageOf(
      rows,
      params.limit,
      (row) => ({
        methodId: row.method_id,
        brand: row.brand,
        last4: row.last4,
        expMonth: row.exp_month,
        expYear: row.exp_year,
        isDefault: row.is_default,
        createdAt: row.created_at.toISOString(),
      }),
      (item) => item.methodId,
    );
  },
});
