/**
 * Payments M-Pesa never called back about: every interval, the oldest few still pending past
 * a grace period are asked about (STK query, transaction status), so a lost callback leaves
 * no payment pending forever. Bounded per round; one round at a time.
 */
import type { Services } from '../context.js';
import { queryProvider, systemContext } from './mpesaFlows.js';

export const RESOLVER_INTERVAL_MS = 15_000;
/** A payment is asked about once it has waited this long for its callback. */
export const PENDING_GRACE_MS = 60_000;
/** Payments asked about per round, at most. */
export const RESOLVER_BATCH_MAX = 50;

export async function resolvePending(services: Services, now: Date): Promise<number> {
  const { rows } = await services.db.query<{ org_id: string; payment_id: string }>(
    `SELECT org_id, payment_id FROM rm_payments
      WHERE status = 'pending' AND provider = 'mpesa' AND updated_at < $1
      ORDER BY updated_at LIMIT $2`,
    [new Date(now.getTime() - PENDING_GRACE_MS).toISOString(), RESOLVER_BATCH_MAX],
  );
  let asked = 0;
  for (const row of rows) {
    const context = systemContext(services, `resolver_${row.payment_id}`, 'system');
    try {
      if (await queryProvider(context, row.org_id, row.payment_id)) asked += 1;
    } catch (error) {
      services.log.warn(
        { err: error, orgId: row.org_id, paymentId: row.payment_id },
        'pending M-Pesa payment not resolved this round',
      );
    }
  }
  return asked;
}

export function startMpesaResolver(services: Services): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = resolvePending(services, services.clock())
      .then(() => undefined)
      .catch((error: unknown) => {
        services.log.error({ err: error }, 'M-Pesa resolver round failed; retrying next round');
      })
      .finally(() => {
        running = null;
      });
  }, RESOLVER_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
