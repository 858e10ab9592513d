/**
 * What the fraud engine needs to know before a payment: read from the payments read model,
 * each list bounded, so scoring costs three indexed queries whatever the organization's size.
 */
import type { FraudHistory } from '../../domain/fraud/score.js';
import { parseAmount, isAmountProblem } from '../../domain/ledger/money.js';
import type { Services } from '../context.js';

/** The median is taken over at most this many of the organization's latest payments. */
export const MEDIAN_WINDOW_MAX = 200;
/** Earlier payments with one counterparty considered, at most (velocity and "new counterparty"). */
export const COUNTERPARTY_HISTORY_MAX = 500;
/** Failures considered, at most. */
export const FAILURE_HISTORY_MAX = 500;
/** How far back any rule looks. */
const LOOKBACK_DAYS = 30;

export interface HistoryQuery {
  readonly orgId: string;
  readonly currency: string;
  readonly scale: number;
  readonly counterparty: string;
  readonly customerId: string | null;
  readonly now: Date;
  /** A payment being scored again (released after review) is not its own history. */
  readonly excludePaymentId?: string;
}

export async function fraudHistory(services: Services, query: HistoryQuery): Promise<FraudHistory> {
  const since = new Date(query.now.getTime() - LOOKBACK_DAYS * 86_400_000).toISOString();
  const exclude = query.excludePaymentId ?? '';
  const amounts = await services.db.query<{ amount: string }>(
    `SELECT amount::text AS amount FROM rm_payments
      WHERE org_id = $1 AND currency = $2 AND status = 'succeeded' AND created_at >= $3 AND payment_id <> $4
      ORDER BY created_at DESC LIMIT $5`,
    [query.orgId, query.currency, since, exclude, MEDIAN_WINDOW_MAX],
  );
  const counterparty = await services.db.query<{ at: Date }>(
    `SELECT created_at AS at FROM rm_payments
      WHERE org_id = $1 AND counterparty = $2 AND created_at >= $3 AND payment_id <> $4
        AND status NOT IN ('blocked', 'cancelled')
      ORDER BY created_at DESC LIMIT $5`,
    [query.orgId, query.counterparty, since, exclude, COUNTERPARTY_HISTORY_MAX],
  );
  const failures = await services.db.query<{ at: Date }>(
    `SELECT updated_at AS at FROM rm_payments
      WHERE org_id = $1 AND status = 'failed' AND updated_at >= $3 AND payment_id <> $5
        AND (counterparty = $2 OR ($4::text IS NOT NULL AND customer_id = $4))
      ORDER BY updated_at DESC LIMIT $6`,
    [query.orgId, query.counterparty, since, query.customerId, exclude, FAILURE_HISTORY_MAX],
  );
  return {
    recentAmounts: amounts.rows.flatMap(({ amount }) => {
      const units = parseAmount(
        amount.includes('.') ? amount.replace(/\.?0+$/, '') || '0' : amount,
        query.scale,
      );
      return isAmountProblem(units) ? [] : [units];
    }),
    counterpartyTimes: counterparty.rows.map(({ at }) => at.getTime()),
    failureTimes: failures.rows.map(({ at }) => at.getTime()),
  };
}
