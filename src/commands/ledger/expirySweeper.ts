/**
 * Automatic expiry of pending transfers (SPEC §4): every interval, the organizations with a
 * pending transfer past its timeout get an ExpirePending command on their book, as the system.
 * Running it on several nodes is safe: the book decides, and a conflict is simply retried.
 */
import type { EventMetadata } from '../../adapters/eventstore/port.js';
import type { Services } from '../context.js';

export const EXPIRY_SWEEP_INTERVAL_MS = 1_000;
/** Organizations swept per round, at most. */
export const EXPIRY_ORGS_PER_SWEEP_MAX = 100;

const SYSTEM: EventMetadata = {
  actor: { kind: 'system', id: 'pending-expiry' },
  channel: { kind: 'system' },
};

/** One round: answers how many transfers expired. */
export async function sweepExpiredPending(services: Services, now: Date): Promise<number> {
  const { rows } = await services.db.query<{ org_id: string }>(
    `SELECT DISTINCT org_id FROM rm_ledger_transfers WHERE status = 'pending' AND timeout_at <= $1 LIMIT $2`,
    [now.toISOString(), EXPIRY_ORGS_PER_SWEEP_MAX],
  );
  let expired = 0;
  for (const { org_id: orgId } of rows) {
    const outcome = await services.ledger.execute(orgId, { type: 'ExpirePending' }, SYSTEM, now);
    if (outcome.result.kind === 'expired') expired += outcome.result.transferIds.length;
  }
  return expired;
}

/** Sweeps every interval until stopped. */
export function startExpirySweeper(services: Services): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = sweepExpiredPending(services, services.clock())
      .then(() => undefined)
      .catch((error: unknown) => {
        services.log.error({ err: error }, 'pending-transfer expiry sweep failed; retrying next round');
      })
      .finally(() => {
        running = null;
      });
  }, EXPIRY_SWEEP_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
