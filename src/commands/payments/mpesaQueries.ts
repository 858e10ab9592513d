/**
 * M-Pesa history and reports, from the payments read model.
 */
import { z } from 'zod';
import { readModelGrantNote, readModelGrantParam, readModelOrg } from '../audit/access.js';
import { defineQuery } from '../catalog.js';
import * as s from '../schemas.js';
import { KES } from './mpesaFlows.js';

/** Report periods longer than this are refused: a report is a summary, not an export. */
export const REPORT_DAYS_MAX = 366;
/** A report without a period covers this many days up to now. */
export const DEFAULT_PERIOD_DAYS = 30;
/** Rows of a report (day × status × kind), at most. */
const REPORT_ROWS_MAX = REPORT_DAYS_MAX * 7 * 2;

const paymentsGrant = readModelGrantParam('payments:read');
const GRANT_NOTE = readModelGrantNote('payments:read');

const KINDS = { collection: 'mpesa_collection', payout: 'mpesa_payout' } as const;
const STATUSES = ['held', 'initiated', 'pending', 'succeeded', 'failed', 'cancelled', 'blocked'] as const;
const decimal = z
  .string()
  .regex(/^(0|[1-9]\d{0,19})(\.\d{1,2})?$/, 'must be a decimal string such as "1500"');

const transaction = z.object({
  paymentId: z.string(),
  type: z.string(),
  status: z.string(),
  amount: z.string(),
  currency: z.string(),
  phone: z.string(),
  reference: z.string(),
  receipt: z.string().nullable(),
  resultCode: z.string().nullable(),
  resultText: z.string().nullable(),
  customerId: z.string().nullable(),
  batchId: z.string().nullable(),
  fraudScore: z.number(),
  reversedAmount: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

interface Row {
  readonly payment_id: string;
  readonly kind: string;
  readonly status: string;
  readonly amount: string;
  readonly currency: string;
  readonly counterparty: string;
  readonly reference: string;
  readonly receipt: string | null;
  readonly result_code: string | null;
  readonly result_text: string | null;
  readonly customer_id: string | null;
  readonly batch_id: string | null;
  readonly fraud_score: number;
  readonly reversed_amount: string;
  readonly created_at: Date;
  readonly updated_at: Date;
}

function typeOf(kind: string): string {
  return kind === KINDS.payout ? 'payout' : 'collection';
}

export const mpesaTransactionHistory = defineQuery({
  name: 'mpesa_transaction_history',
  title: 'M-Pesa transactions',
  description:
    'The organization’s M-Pesa collections and payouts, newest first, a page at a time: filter by time range (from inclusive, to exclusive), status, type (collection or payout), phone and amount range.' +
    GRANT_NOTE,
  params: z.strictObject({
    ...s.pageParams,
    from: s.isoTime.optional(),
    to: s.isoTime.optional(),
    status: z.enum(STATUSES).optional(),
    type: z.enum(['collection', 'payout']).optional(),
    phone: z
      .string()
      .regex(/^254[17]\d{8}$/, 'must be a normalized phone number such as 254712345678')
      .optional(),
    minAmount: decimal.optional(),
    maxAmount: decimal.optional(),
    customerId: z.string().max(40).optional(),
    grantId: paymentsGrant,
  }),
  result: s.page(transaction),
  scope: 'payments:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/mpesa/transactions' },
  mcp: { tool: true },
  async run(params, context) {
    const cursor = s.decodeCursor(params.cursor);
    // The cursor is "{createdAt}|{paymentId}" of the last row shown: newest first, ties by id.
    const [afterTime, afterId] = cursor === null ? [null, null] : (cursor.split('|') as [string, string]);
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'payments:read',
      'mpesa_transaction_history',
      'M-Pesa transactions',
    );
    const { rows } = await context.services.db.query<Row>(
      `SELECT payment_id, kind, status, amount::text AS amount, currency, counterparty, reference, receipt,
              result_code, result_text, customer_id, batch_id, fraud_score, reversed_amount::text AS reversed_amount,
              created_at, updated_at
         FROM rm_payments
        WHERE org_id = $1 AND provider = 'mpesa'
          AND ($2::timestamptz IS NULL OR (created_at, payment_id) < ($2::timestamptz, $3::text))
          AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at < $5)
          AND ($6::text IS NULL OR status = $6) AND ($7::text IS NULL OR kind = $7)
          AND ($8::text IS NULL OR counterparty = $8)
          AND ($9::numeric IS NULL OR amount >= $9) AND ($10::numeric IS NULL OR amount <= $10)
          AND ($11::text IS NULL OR customer_id = $11)
        ORDER BY created_at DESC, payment_id DESC
        LIMIT $12`,
      [
        orgId,
        afterTime,
        afterId,
        params.from ?? null,
        params.to ?? null,
        params.status ?? null,
        params.type ? KINDS[params.type] : null,
        params.phone ?? null,
        params.minAmount ?? null,
        params.maxAmount ?? null,
        params.customerId ?? null,
        params.limit + 1,
      ],
    );
    return s.pageOf(
      rows,
      params.limit,
      (row) => ({
        paymentId: row.payment_id,
        type: typeOf(row.kind),
        status: row.status,
        amount: centsText(toCents(row.amount)),
        currency: row.currency,
        phone: row.counterparty,
        reference: row.reference,
        receipt: row.receipt,
        resultCode: row.result_code,
        resultText: row.result_text,
        customerId: row.customer_id,
        batchId: row.batch_id,
        fraudScore: row.fraud_score,
        reversedAmount: centsText(toCents(row.reversed_amount)),
        createdAt: row.created_at.toISOString(),
        updatedAt: row.updated_at.toISOString(),
      }),
      (item) => `${item.createdAt}|${item.paymentId}`,
    );
  },
});

const reportLine = z.object({
  day: z.string(),
  type: z.string(),
  status: z.string(),
  count: z.number(),
  total: z.string(),
});

export const mpesaGenerateReport = defineQuery({
  name: 'mpesa_generate_report',
  title: 'M-Pesa report for a period',
  description: `Totals of the organization’s M-Pesa collections and payouts for a period (at most ${REPORT_DAYS_MAX} days; the last ${DEFAULT_PERIOD_DAYS} days when none is given), by day (Nairobi time), type and status, with grand totals; as JSON, and also as CSV text with format=csv.${GRANT_NOTE}`,
  params: z
    .strictObject({
      from: s.isoTime.optional(),
      to: s.isoTime.optional(),
      format: z.enum(['json', 'csv']).default('json'),
      grantId: paymentsGrant,
    })
    .refine((period) => periodOf(period, Date.now()).to > periodOf(period, Date.now()).from, {
      message: 'must be after from',
      path: ['to'],
    })
    .refine(
      (period) => {
        const { from, to } = periodOf(period, Date.now());
        return to - from <= REPORT_DAYS_MAX * 86_400_000;
      },
      { message: `must be at most ${REPORT_DAYS_MAX} days after from`, path: ['to'] },
    ),
  result: z.object({
    from: z.string(),
    to: z.string(),
    currency: z.string(),
    lines: z.array(reportLine).max(REPORT_ROWS_MAX),
    totals: z.object({
      collected: z.string(),
      paidOut: z.string(),
      byStatus: z.record(z.string(), z.object({ count: z.number(), total: z.string() })),
    }),
    csv: z.string().nullable(),
  }),
  scope: 'payments:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/mpesa/report' },
  mcp: { tool: true },
  async run(params, context) {
    const period = periodOf(params, context.now.getTime());
    const from = new Date(period.from).toISOString();
    const to = new Date(period.to).toISOString();
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'payments:read',
      'mpesa_generate_report',
      `M-Pesa report ${from}..${to}`,
    );
    const { rows } = await context.services.db.query<{
      day: string;
      kind: string;
      status: string;
      count: string;
      total: string;
    }>(
      `SELECT to_char(created_at + interval '3 hours', 'YYYY-MM-DD') AS day, kind, status,
              count(*)::text AS count, sum(amount)::text AS total
         FROM rm_payments
        WHERE org_id = $1 AND provider = 'mpesa' AND created_at >= $2 AND created_at < $3
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LIMIT $4`,
      [orgId, from, to, REPORT_ROWS_MAX],
    );
    const lines = rows.map((row) => ({
      day: row.day,
      type: typeOf(row.kind),
      status: row.status,
      count: Number(row.count),
      // numeric's text form keeps or drops trailing zeros by engine; the answer always has two decimals.
      total: centsText(toCents(row.total)),
    }));
    const sum = (values: readonly string[]): string => {
      // Exact decimal addition in cents: amounts have at most two decimals.
      return centsText(values.reduce((acc, value) => acc + toCents(value), 0n));
    };
    const byStatus: Record<string, { count: number; total: string }> = {};
    for (const status of new Set(lines.map((line) => line.status))) {
      const matching = lines.filter((line) => line.status === status);
      byStatus[status] = {
        count: matching.reduce((n, line) => n + line.count, 0),
        total: sum(matching.map((line) => line.total)),
      };
    }
    const succeeded = (type: string) =>
      sum(
        lines.filter((line) => line.type === type && line.status === 'succeeded').map((line) => line.total),
      );
    const csv =
      params.format === 'csv'
        ? [
            'day,type,status,count,total',
            ...lines.map((line) => `${line.day},${line.type},${line.status},${line.count},${line.total}`),
          ].join('\n')
        : null;
    return {
      from,
      to,
      currency: KES,
      lines,
      totals: { collected: succeeded('collection'), paidOut: succeeded('payout'), byStatus },
      csv,
    };
  },
});

/** The period asked for, in epoch ms: up to now, and DEFAULT_PERIOD_DAYS back, unless given. */
function periodOf(period: { from?: string | undefined; to?: string | undefined }, nowMs: number) {
  const to = period.to === undefined ? nowMs : Date.parse(period.to);
  const from = period.from === undefined ? to - DEFAULT_PERIOD_DAYS * 86_400_000 : Date.parse(period.from);
  return { from, to };
}

function centsText(cents: bigint): string {
  return `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
}

function toCents(value: string): bigint {
  const [whole = '0', fraction = ''] = value.split('.');
  return BigInt(whole) * 100n + BigInt((fraction + '00').slice(0, 2));
}
