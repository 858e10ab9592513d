/**
 * Fraud read back: alerts (cursor-paged), a customer's risk, and a period's report. They back
 * the MCP resources fraud://{customer_id}/alerts and fraud://{customer_id}/risk-report.
 */
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.js';
import { readModelGrantNote, readModelGrantParam, readModelOrg } from '../audit/access.js';
import { defineQuery } from '../catalog.js';
import * as c from '../customers/schemas.js';
import * as s from '../schemas.js';
import { fraudReportCsv, loadFraudReport, fraudReport } from './fraudReport.js';
import { assertCustomer } from './paymentQueries.js';

const fraudGrant = readModelGrantParam('fraud:read');
const GRANT_NOTE = readModelGrantNote('fraud:read');

const ruleOutput = z.object({ rule: z.string(), points: z.number(), reason: z.string() });
export const ALERT_STATUSES = ['open', 'released', 'cancelled'] as const;
/** The latest alerts a risk report shows. */
export const RISK_RECENT_ALERTS_MAX = 10;
/** A report covers at most this many days (each query stays an indexed range). */
export const REPORT_PERIOD_DAYS_MAX = 366;
/** Without from: the 30 days before `to` (now, without to). */
const REPORT_PERIOD_DAYS_DEFAULT = 30;

const alertItem = z.object({
  alertId: z.string(),
  paymentId: z.string(),
  customerId: z.string().nullable(),
  counterparty: z.string(),
  score: z.number(),
  rules: z.array(ruleOutput),
  status: z.enum(ALERT_STATUSES),
  notes: z.string().nullable(),
  reviewerId: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

interface AlertRow {
  readonly alert_id: string;
  readonly payment_id: string;
  readonly customer_id: string | null;
  readonly counterparty: string;
  readonly score: number;
  readonly rules: { rule: string; points: number; reason: string }[];
  readonly status: (typeof ALERT_STATUSES)[number];
  readonly notes: string | null;
  readonly reviewer_id: string | null;
  readonly created_at: Date;
  readonly updated_at: Date;
}

const ALERT_COLUMNS =
  'alert_id, payment_id, customer_id, counterparty, score, rules, status, notes, reviewer_id, created_at, updated_at';

function toAlert(row: AlertRow): z.infer<typeof alertItem> {
  return {
    alertId: row.alert_id,
    paymentId: row.payment_id,
    customerId: row.customer_id,
    counterparty: row.counterparty,
    score: row.score,
    rules: row.rules,
    status: row.status,
    notes: row.notes,
    reviewerId: row.reviewer_id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export const listFraudAlerts = defineQuery({
  name: 'list_fraud_alerts',
  title: 'Fraud alerts',
  description:
    'Payments the fraud rules held for review, oldest first, a page at a time: score, the rules that fired and why, and the review (open, released, cancelled; notes, reviewer). Filter by status (open = still waiting for review_flagged_transaction) and customer (NOT_FOUND for a customer the organization does not have).' +
    GRANT_NOTE,
  params: z.strictObject({
    ...s.pageParams,
    status: z.enum(ALERT_STATUSES).optional(),
    customerId: c.customerId.optional(),
    grantId: fraudGrant,
  }),
  result: s.page(alertItem),
  scope: 'fraud:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/fraud/alerts' },
  mcp: {
    resource: {
      uri: 'fraud://{customer_id}/alerts',
      name: 'Fraud alerts',
      vars: { customer_id: 'customerId' },
    },
  },
  async run(params, context) {
    const cursor = s.decodeCursor(params.cursor);
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'fraud:read',
      'list_fraud_alerts',
      'fraud alerts',
    );
    // A customer filter names one customer: one the organization does not have is not found.
    if (params.customerId !== undefined) await assertCustomer(context.services, orgId, params.customerId);
    const { rows } = await context.services.db.query<AlertRow>(
      `SELECT ${ALERT_COLUMNS} FROM rm_fraud_alerts
        WHERE org_id = $1 AND ($2::text IS NULL OR alert_id > $2)
          AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR customer_id = $4)
        ORDER BY alert_id LIMIT $5`,
      [orgId, cursor, params.status ?? null, params.customerId ?? null, params.limit + 1],
    );
    return s.pageOf(rows, params.limit, toAlert, (item) => item.alertId);
  },
});

export const getCustomerRisk = defineQuery({
  name: 'get_customer_risk',
  title: 'A customer’s fraud risk',
  description:
    'How risky a customer’s payments have looked: how many payments, their average and highest fraud score, how many failed, were blocked or held, how many alerts are still open, and the latest alerts with the rules that fired.' +
    GRANT_NOTE,
  params: z.strictObject({ customerId: c.customerId, grantId: fraudGrant }),
  result: z.object({
    customerId: z.string(),
    payments: z.number(),
    averageScore: z.number(),
    maxScore: z.number(),
    failed: z.number(),
    blocked: z.number(),
    alerts: z.object({ held: z.number(), open: z.number(), recent: z.array(alertItem) }),
  }),
  scope: 'fraud:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/customers/:customerId/risk' },
  mcp: {
    resource: {
      uri: 'fraud://{customer_id}/risk-report',
      name: 'Risk report',
      vars: { customer_id: 'customerId' },
    },
  },
  async run(params, context) {
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'fraud:read',
      'get_customer_risk',
      `risk of customer ${params.customerId}`,
    );
    const { db } = context.services;
    await assertCustomer(context.services, orgId, params.customerId);
    const { rows } = await db.query<{
      payments: string;
      average: string | null;
      max: number | null;
      failed: string;
      blocked: string;
    }>(
      `SELECT count(*)::text AS payments, round(avg(fraud_score), 1)::text AS average, max(fraud_score) AS max,
              count(*) FILTER (WHERE status = 'failed')::text AS failed,
              count(*) FILTER (WHERE status = 'blocked')::text AS blocked
         FROM rm_payments WHERE org_id = $1 AND customer_id = $2`,
      [orgId, params.customerId],
    );
    const alerts = await db.query<{ held: string; open: string }>(
      `SELECT count(*)::text AS held, count(*) FILTER (WHERE status = 'open')::text AS open
         FROM rm_fraud_alerts WHERE org_id = $1 AND customer_id = $2`,
      [orgId, params.customerId],
    );
    const recent = await db.query<AlertRow>(
      `SELECT ${ALERT_COLUMNS} FROM rm_fraud_alerts WHERE org_id = $1 AND customer_id = $2
        ORDER BY alert_id DESC LIMIT $3`,
      [orgId, params.customerId, RISK_RECENT_ALERTS_MAX],
    );
    const totals = rows[0];
    const alertTotals = alerts.rows[0];
    return {
      customerId: params.customerId,
      payments: Number(totals?.payments ?? 0),
      averageScore: Number(totals?.average ?? 0),
      maxScore: totals?.max ?? 0,
      failed: Number(totals?.failed ?? 0),
      blocked: Number(totals?.blocked ?? 0),
      alerts: {
        held: Number(alertTotals?.held ?? 0),
        open: Number(alertTotals?.open ?? 0),
        recent: recent.rows.map(toAlert),
      },
    };
  },
});

export const generateFraudReport = defineQuery({
  name: 'generate_fraud_report',
  title: 'Fraud report for a period',
  description:
    'Summarizes a period (from inclusive, to exclusive, at most 366 days; by default the last 30 days) of the organization’s payments as the fraud rules saw them: counts by decision (allow, review, block) and by status, alerts by rule, the customers and counterparties with the highest scores, and the amounts blocked and held per currency. format=csv adds the same figures as CSV text (field csv). Reads only; cheap.' +
    GRANT_NOTE,
  params: z.strictObject({
    from: s.isoTime.optional(),
    to: s.isoTime.optional(),
    format: z.enum(['json', 'csv']).default('json'),
    grantId: fraudGrant,
  }),
  result: fraudReport.extend({ csv: z.string().nullable() }),
  scope: 'fraud:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/fraud/report' },
  mcp: { tool: true },
  async run(params, context) {
    const to = params.to === undefined ? context.now : new Date(params.to);
    const from =
      params.from === undefined
        ? new Date(to.getTime() - REPORT_PERIOD_DAYS_DEFAULT * 86_400_000)
        : new Date(params.from);
    if (to.getTime() <= from.getTime()) throw new ValidationError('to', 'must be later than from');
    if (to.getTime() - from.getTime() > REPORT_PERIOD_DAYS_MAX * 86_400_000) {
      throw new ValidationError('to', `the period must be at most ${REPORT_PERIOD_DAYS_MAX} days`);
    }
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'fraud:read',
      'generate_fraud_report',
      `fraud report ${from.toISOString()}..${to.toISOString()}`,
    );
    const report = await loadFraudReport(context.services, orgId, from, to);
    return { ...report, csv: params.format === 'csv' ? fraudReportCsv(report) : null };
  },
});
