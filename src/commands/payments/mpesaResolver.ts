/**
 * Payments M-Pesa never called back about: every interval, the oldest few still pending past
 * a grace period are asked about (STK query, transaction status), so a lost callback leaves
 * no payment pending forever. Bounded three ways: payments per round, one round at a time,
 * and asks per payment — a payment M-Pesa still cannot tell about after the last ask is left
 * pending (never failed: it may have happened) with an `outcome_unresolved` reconciliation
 * alert for a person. Each ask moves the payment to the back of the queue, so payments stuck
 * at "still processing" cannot starve newer ones.
 */
import type { CommandContext, Services } from '../context.js';
import { loadPayment } from './paymentStream.js';
import { queryProvider, raiseReconciliationAlert, systemContext } from './mpesaFlows.js';

export const RESOLVER_INTERVAL_MS = 15_000;
/** A payment is asked about once it has waited this long for its callback. */
export const PENDING_GRACE_MS = 60_000;
/** Payments asked about per round, at most. */
export const RESOLVER_BATCH_MAX = 50;
/** Asks per payment, at most (about 5 minutes at the default interval), then an alert. */
export const RESOLVER_ATTEMPTS_MAX = 20;

export interface ResolverOptions {
  readonly intervalMs: number;
  readonly graceMs: number;
  readonly batchMax: number;
  readonly attemptsMax: number;
}

export const RESOLVER_DEFAULTS: ResolverOptions = {
  intervalMs: RESOLVER_INTERVAL_MS,
  graceMs: PENDING_GRACE_MS,
  batchMax: RESOLVER_BATCH_MAX,
  attemptsMax: RESOLVER_ATTEMPTS_MAX,
};

/** One round: answers how many payments were asked about. */
export async function resolvePending(
  services: Services,
  now: Date,
  options: ResolverOptions = RESOLVER_DEFAULTS,
): Promise<number> {
  const { rows } = await services.db.query<{ org_id: string; payment_id: string; status_queries: number }>(
    `SELECT org_id, payment_id, status_queries FROM rm_payments
      WHERE status = 'pending' AND provider = 'mpesa' AND updated_at < $1 AND status_queries < $3
      ORDER BY updated_at, payment_id LIMIT $2`,
    [new Date(now.getTime() - options.graceMs).toISOString(), options.batchMax, options.attemptsMax],
  );
  let asked = 0;
  for (const row of rows) {
    const context = systemContext(services, `resolver_${row.payment_id}`, 'system');
    try {
      // The read model may lag behind the last ask: the payment's own stream has the count.
      const before = await loadPayment(context, row.org_id, row.payment_id);
      if (before.status !== 'pending') continue;
      if (before.statusQueries < options.attemptsMax) {
        await queryProvider(context, row.org_id, row.payment_id);
        asked += 1;
      }
      const after = await loadPayment(context, row.org_id, row.payment_id);
      if (after.status === 'pending' && after.statusQueries >= options.attemptsMax) {
        await leaveForReconciliation(context, row.org_id, row.payment_id, options.attemptsMax);
      }
    } catch (error) {
      services.log.warn(
        { err: error, orgId: row.org_id, paymentId: row.payment_id },
        'pending M-Pesa payment not resolved this round',
      );
    }
  }
  return asked;
}

/** Asked enough: pending stays (it may have happened), a person compares with M-Pesa's statement. */
async function leaveForReconciliation(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  attemptsMax: number,
): Promise<void> {
  const raised = await raiseReconciliationAlert(
    context,
    orgId,
    paymentId,
    'outcome_unresolved',
    null,
    `M-Pesa was asked ${String(attemptsMax)} times and never gave the outcome; check the M-Pesa statement.`,
  );
  if (raised.output.changed) {
    context.services.log.warn(
      { orgId, paymentId, attempts: attemptsMax },
      'M-Pesa never told the outcome of a payment; left pending for reconciliation',
    );
  }
}

export function startMpesaResolver(
  services: Services,
  options: ResolverOptions = RESOLVER_DEFAULTS,
): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = resolvePending(services, services.clock(), options)
      .then(() => undefined)
      .catch((error: unknown) => {
        services.log.error({ err: error }, 'M-Pesa resolver round failed; retrying next round');
      })
      .finally(() => {
        running = null;
      });
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
