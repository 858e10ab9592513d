/**
 * The organization's reconciliation alerts, a page at a time (list_reconciliation_alerts): where
 * the books and a provider may disagree, for a person to check and close with
 * resolve_reconciliation_alert. The M-Pesa balance shows only the newest few; this lists every
 * alert of every provider (card refunds whose outcome nobody could learn included), filtered by
 * state, kind and payment. REST only, like the command that resolves them.
 */
import { z } from 'zod';
import {
  ALERT_RESOLUTIONS,
  RECONCILIATION_KINDS,
  type AlertResolution,
  type ReconciliationKind,
} from '../../domain/payments/payment.js';
import { readModelGrantNote, readModelGrantParam, readModelOrg } from '../audit/access.js';
import { defineQuery } from '../catalog.js';
import type { Services } from '../context.js';
import * as c from '../customers/schemas.js';
import * as s from '../schemas.js';
import { assertPayment, splitTimeKey } from './paymentQueries.js';

/** Open: nobody has resolved it yet; resolved: closed by a person (any resolution). */
export const ALERT_STATES = ['open', 'resolved'] as const;

/** What the M-Pesa balance shows of each alert too (mpesa_check_balance's reconciliationAlerts). */
export const alertSummaryFields = {
  alertId: z.string(),
  paymentId: z.string(),
  kind: z.enum(RECONCILIATION_KINDS),
  amount: z.string(),
  currency: z.string(),
  transferId: z.string().nullable(),
  detail: z.string(),
  raisedAt: z.string(),
  /** Null while open; see resolve_reconciliation_alert. */
  resolution: z.enum(ALERT_RESOLUTIONS).nullable(),
  resolvedAt: z.string().nullable(),
};

const alertItem = z.object({
  ...alertSummaryFields,
  /** The payment's provider and kind, from the payments read model. */
  provider: z.string().nullable(),
  paymentKind: z.string().nullable(),
  /** The refund or reversal the alert is about; null when it is about the payment itself. */
  reversalId: z.string().nullable(),
  resolutionNote: z.string().nullable(),
  resolvedBy: z.string().nullable(),
});

interface AlertRow {
  readonly alert_id: string;
  readonly payment_id: string;
  readonly provider: string | null;
  readonly payment_kind: string | null;
  readonly kind: ReconciliationKind;
  readonly reversal_id: string | null;
  readonly amount: string;
  readonly currency: string;
  readonly transfer_id: string | null;
  readonly detail: string;
  readonly created_at: Date | string;
  readonly resolution: AlertResolution | null;
  readonly resolution_note: string | null;
  readonly resolved_by: string | null;
  readonly resolved_at: Date | string | null;
}

type AlertItem = z.infer<typeof alertItem>;

function toAlert(row: AlertRow): AlertItem {
  return {
    alertId: row.alert_id,
    paymentId: row.payment_id,
    provider: row.provider,
    paymentKind: row.payment_kind,
    kind: row.kind,
    reversalId: row.reversal_id,
    // Stored as the payment's (or refund's) own decimal string: numeric keeps its scale.
    amount: row.amount,
    currency: row.currency,
    transferId: row.transfer_id,
    detail: row.detail,
    raisedAt: new Date(row.created_at).toISOString(),
    resolution: row.resolution,
    resolutionNote: row.resolution_note,
    resolvedBy: row.resolved_by,
    resolvedAt: row.resolved_at === null ? null : new Date(row.resolved_at).toISOString(),
  };
}

/** Which alerts, newest first: after a cursor's key, of a state, a kind, a payment, at most `limit`. */
interface AlertFilter {
  readonly after?: { readonly at: string | null; readonly id: string | null };
  readonly state?: (typeof ALERT_STATES)[number] | null;
  readonly kind?: ReconciliationKind | null;
  readonly paymentId?: string | null;
  readonly limit: number;
}

/** The organization's alerts as the filter asks, newest first; the one read of the table. */
export async function readAlerts(
  services: Services,
  orgId: string,
  filter: AlertFilter,
): Promise<AlertItem[]> {
  const { rows } = await services.db.query<AlertRow>(
    `SELECT a.alert_id, a.payment_id, p.provider, p.kind AS payment_kind, a.kind, a.reversal_id,
            a.amount::text AS amount, a.currency, a.transfer_id, a.detail, a.created_at,
            a.resolution, a.resolution_note, a.resolved_by, a.resolved_at
       FROM rm_reconciliation_alerts a
       LEFT JOIN rm_payments p ON p.org_id = a.org_id AND p.payment_id = a.payment_id
      WHERE a.org_id = $1
        AND ($2::timestamptz IS NULL OR (a.created_at, a.alert_id) < ($2::timestamptz, $3::text))
        AND ($4::text IS NULL OR ($4 = 'open') = (a.resolution IS NULL))
        AND ($5::text IS NULL OR a.kind = $5)
        AND ($6::text IS NULL OR a.payment_id = $6)
      ORDER BY a.created_at DESC, a.alert_id DESC LIMIT $7`,
    [
      orgId,
      filter.after?.at ?? null,
      filter.after?.id ?? null,
      filter.state ?? null,
      filter.kind ?? null,
      filter.paymentId ?? null,
      filter.limit,
    ],
  );
  return rows.map(toAlert);
}

/** An alert as the M-Pesa balance shows it: the fields of alertSummaryFields only. */
export function alertSummary(item: AlertItem): z.infer<z.ZodObject<typeof alertSummaryFields>> {
  const {
    provider: _provider,
    paymentKind: _paymentKind,
    reversalId: _reversalId,
    resolutionNote: _resolutionNote,
    resolvedBy: _resolvedBy,
    ...summary
  } = item;
  return summary;
}

/** Cursor key: the alert's time and id, newest first (ids break ties). */
function alertKey(item: AlertItem): string {
  return `${item.raisedAt}|${item.alertId}`;
}

export const listReconciliationAlerts = defineQuery({
  name: 'list_reconciliation_alerts',
  title: 'Reconciliation alerts',
  description:
    'The organization’s reconciliation alerts, newest first, a page at a time: where the books and a provider may disagree — a payout paid after its reservation expired (payout_settled_after_expiry) or that the ledger could not record (payout_unposted), a payment, reversal or refund whose outcome no ask could learn (outcome_unresolved; reversalId names the refund or reversal), a card payment recorded failed that was charged after all (card_succeeded_after_failure). Filter by state (open, resolved), kind and payment (NOT_FOUND for a payment the organization does not have). A manager closes one with resolve_reconciliation_alert. REST only.' +
    readModelGrantNote('payments:read'),
  params: z.strictObject({
    ...s.pageParams,
    state: z.enum(ALERT_STATES).optional(),
    kind: z.enum(RECONCILIATION_KINDS).optional(),
    paymentId: c.paymentId.optional(),
    grantId: readModelGrantParam('payments:read'),
  }),
  result: s.page(alertItem),
  scope: 'payments:read',
  // As list_payments: auditors read it too (their own organization's, or under a grant).
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/reconciliation-alerts' },
  async run(params, context) {
    const after = splitTimeKey(params.cursor);
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'payments:read',
      'list_reconciliation_alerts',
      'reconciliation alerts',
    );
    // As list_payments answers for a customer: a payment the organization does not have is not found.
    if (params.paymentId !== undefined) await assertPayment(context.services, orgId, params.paymentId);
    const rows = await readAlerts(context.services, orgId, {
      after,
      state: params.state ?? null,
      kind: params.kind ?? null,
      paymentId: params.paymentId ?? null,
      limit: params.limit + 1,
    });
    return s.pageOf(rows, params.limit, (item) => item, alertKey);
  },
});
