/**
 * Approvals expire (SPEC §6): every interval, pending approvals past their expiry are closed as
 * expired, as the system. Safe on several nodes: the approval's own stream decides.
 */
import type { EventMetadata } from '../../adapters/eventstore/port.js';
import type { Services } from '../context.js';
import { decideOnApproval } from './stream.js';

export const APPROVAL_SWEEP_INTERVAL_MS = 1_000;
/** Approvals expired per round, at most; the rest wait for the next round. */
export const APPROVAL_EXPIRIES_PER_SWEEP_MAX = 100;

const SYSTEM: EventMetadata = {
  actor: { kind: 'system', id: 'approval-expiry' },
  channel: { kind: 'system' },
};

/** One round at `now`: answers how many approvals expired. */
export async function sweepExpiredApprovals(services: Services, now: Date): Promise<number> {
  const { rows } = await services.db.query<{ org_id: string; approval_id: string }>(
    `SELECT org_id, approval_id FROM rm_approvals WHERE status = 'pending' AND expires_at <= $1
      ORDER BY expires_at LIMIT $2`,
    [now.toISOString(), APPROVAL_EXPIRIES_PER_SWEEP_MAX],
  );
  let expired = 0;
  for (const { org_id: orgId, approval_id: approvalId } of rows) {
    const outcome = await decideOnApproval(
      {
        principal: null,
        services,
        now,
        requestId: `sweep_${approvalId}`,
        idempotencyKey: null,
        clientAddress: 'system',
        channel: { kind: 'system' },
      },
      orgId,
      approvalId,
      { type: 'Expire' },
      SYSTEM,
    );
    if (outcome.output.status === 'expired') expired += 1;
  }
  return expired;
}

export function startApprovalSweeper(services: Services): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = sweepExpiredApprovals(services, services.clock())
      .then(() => undefined)
      .catch((error: unknown) => {
        services.log.error({ err: error }, 'approval expiry sweep failed; retrying next round');
      })
      .finally(() => {
        running = null;
      });
  }, APPROVAL_SWEEP_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
