/**
 * The fraud report of a period: a handful of aggregate queries over the payments and alerts
 * read models, each bounded (counts are grouped, top lists are capped), whatever the volume.
 */
import { z } from 'zod';
import type { Services } from '../context.js';

/** Customers and counterparties listed by score, at most. */
export const REPORT_TOP_MAX = 10;

const total = z.object({ currency: z.string(), amount: z.string(), count: z.number() });
const scored = z.object({
  id: z.string(),
  payments: z.number(),
  maxScore: z.number(),
  averageScore: z.number(),
});

export const fraudReport = z.object({
  from: z.string(),
  to: z.string(),
  payments: z.number(),
  byDecision: z.object({ allow: z.number(), review: z.number(), block: z.number() }),
  byStatus: z.record(z.string(), z.number()),
  alerts: z.object({
    byRule: z.array(z.object({ rule: z.string(), alerts: z.number() })),
    byStatus: z.record(z.string(), z.number()),
  }),
  top: z.object({ customers: z.array(scored), counterparties: z.array(scored) }),
  amounts: z.object({ blocked: z.array(total), held: z.array(total) }),
});
export type FraudReport = z.infer<typeof fraudReport>;

export async function loadFraudReport(
  services: Services,
  orgId: string,
  from: Date,
  to: Date,
): Promise<FraudReport> {
  const { db } = services;
  const range = [orgId, from.toISOString(), to.toISOString()];
  const PERIOD = 'org_id = $1 AND created_at >= $2 AND created_at < $3';
  const P_PERIOD = 'p.org_id = $1 AND p.created_at >= $2 AND p.created_at < $3';
  const statuses = await db.query<{ status: string; count: string }>(
    `SELECT status, count(*)::text AS count FROM rm_payments WHERE ${PERIOD} GROUP BY status ORDER BY status`,
    range,
  );
  // Held = an alert was raised for it, whatever the review made of it since.
  const decisions = await db.query<{ decision: string; count: string }>(
    `SELECT CASE WHEN p.status = 'blocked' THEN 'block'
                 WHEN EXISTS (SELECT 1 FROM rm_fraud_alerts a WHERE a.org_id = p.org_id AND a.payment_id = p.payment_id)
                 THEN 'review' ELSE 'allow' END AS decision, count(*)::text AS count
       FROM rm_payments p WHERE ${P_PERIOD} GROUP BY 1`,
    range,
  );
  const rules = await db.query<{ rule: string; count: string }>(
    `SELECT r->>'rule' AS rule, count(*)::text AS count
       FROM rm_fraud_alerts, jsonb_array_elements(rules) AS r
      WHERE ${PERIOD} GROUP BY 1 ORDER BY 2 DESC, 1`,
    range,
  );
  const alertStatuses = await db.query<{ status: string; count: string }>(
    `SELECT status, count(*)::text AS count FROM rm_fraud_alerts WHERE ${PERIOD} GROUP BY status ORDER BY status`,
    range,
  );
  const top = async (column: 'customer_id' | 'counterparty') =>
    (
      await db.query<{ id: string; payments: string; max: number; average: string }>(
        `SELECT ${column} AS id, count(*)::text AS payments, max(fraud_score) AS max,
                round(avg(fraud_score), 1)::text AS average
           FROM rm_payments WHERE ${PERIOD} AND ${column} IS NOT NULL
          GROUP BY 1 ORDER BY max(fraud_score) DESC, avg(fraud_score) DESC, 1 LIMIT $4`,
        [...range, REPORT_TOP_MAX],
      )
    ).rows.map((row) => ({
      id: row.id,
      payments: Number(row.payments),
      maxScore: row.max,
      averageScore: Number(row.average),
    }));
  const totals = async (where: string) =>
    (
      await db.query<{ currency: string; amount: string; count: string }>(
        `SELECT currency, sum(amount)::text AS amount, count(*)::text AS count
           FROM rm_payments p WHERE ${P_PERIOD} AND ${where}
          GROUP BY currency ORDER BY currency`,
        range,
      )
    ).rows.map((row) => ({ currency: row.currency, amount: row.amount, count: Number(row.count) }));
  const byDecision = { allow: 0, review: 0, block: 0 };
  for (const row of decisions.rows) {
    if (row.decision === 'allow' || row.decision === 'review' || row.decision === 'block') {
      byDecision[row.decision] = Number(row.count);
    }
  }
  const byStatus = Object.fromEntries(statuses.rows.map((row) => [row.status, Number(row.count)]));
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    payments: Object.values(byStatus).reduce((sum, count) => sum + count, 0),
    byDecision,
    byStatus,
    alerts: {
      byRule: rules.rows.map((row) => ({ rule: row.rule, alerts: Number(row.count) })),
      byStatus: Object.fromEntries(alertStatuses.rows.map((row) => [row.status, Number(row.count)])),
    },
    top: { customers: await top('customer_id'), counterparties: await top('counterparty') },
    amounts: {
      blocked: await totals(`p.status = 'blocked'`),
      held: await totals(
        'EXISTS (SELECT 1 FROM rm_fraud_alerts a WHERE a.org_id = p.org_id AND a.payment_id = p.payment_id)',
      ),
    },
  };
}

function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The same figures as CSV: one row per figure, section first. */
export function fraudReportCsv(report: FraudReport): string {
  const rows: (string | number)[][] = [
    ['section', 'key', 'count', 'amount', 'currency', 'max_score', 'average_score'],
  ];
  rows.push(['period', `${report.from}/${report.to}`, report.payments, '', '', '', '']);
  for (const [decision, count] of Object.entries(report.byDecision))
    rows.push(['decision', decision, count, '', '', '', '']);
  for (const [status, count] of Object.entries(report.byStatus))
    rows.push(['status', status, count, '', '', '', '']);
  for (const rule of report.alerts.byRule)
    rows.push(['alerts_by_rule', rule.rule, rule.alerts, '', '', '', '']);
  for (const [status, count] of Object.entries(report.alerts.byStatus))
    rows.push(['alerts_by_status', status, count, '', '', '', '']);
  for (const item of report.top.customers)
    rows.push(['top_customer', item.id, item.payments, '', '', item.maxScore, item.averageScore]);
  for (const item of report.top.counterparties)
    rows.push(['top_counterparty', item.id, item.payments, '', '', item.maxScore, item.averageScore]);
  for (const item of report.amounts.blocked)
    rows.push(['blocked', item.currency, item.count, item.amount, item.currency, '', '']);
  for (const item of report.amounts.held)
    rows.push(['held', item.currency, item.count, item.amount, item.currency, '', '']);
  return `${rows.map((row) => row.map(csvField).join(',')).join('\n')}\n`;
}
