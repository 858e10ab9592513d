/**
 * What the background resolvers (M-Pesa, cards) share: one payment, or one of its reversals or
 * refunds, whose outcome never came is asked about — at most `attemptsMax` times, counted on
 * the payment's own stream (ProviderStatusQueried), so a read model lagging behind the last ask
 * never lets one more through — and once the last ask left it unresolved, it stays as it is
 * (it may have happened) with an `outcome_unresolved` reconciliation alert for a person. Rounds
 * run one at a time on an interval; every round is bounded by its batch.
 */
import { LedgerlineError } from '../../domain/errors.js';
import type { PaymentState } from '../../domain/payments/payment.js';
import type { CommandContext, Services } from '../context.js';
import { raiseReconciliationAlert, systemContext } from './mpesaFlows.js';
import { decideOnPayment, loadPayment } from './paymentStream.js';

export interface FollowUpOptions {
  readonly intervalMs: number;
  /** A payment (or reversal) is asked about once it has waited this long for its outcome. */
  readonly graceMs: number;
  /** Payments (and, separately, reversals) asked about per round, at most. */
  readonly batchMax: number;
  /** Asks per payment or per reversal, at most; then the alert. */
  readonly attemptsMax: number;
}

/** A payment, or one of its reversals or refunds, waiting for its outcome. */
export interface FollowUpTarget {
  readonly orgId: string;
  readonly paymentId: string;
  readonly reversalId: string | null;
}

export interface FollowUpKind {
  /** For logs and the alert: "M-Pesa", "the card processor". */
  readonly provider: string;
  /** Whether the target still waits for its outcome (payments: by status; reversals: requested). */
  waiting(state: PaymentState, target: FollowUpTarget): boolean;
  /** Asks the provider once and records the ask (RecordStatusQuery) and whatever it settled. */
  ask(context: CommandContext, target: FollowUpTarget): Promise<void>;
}

/** How many times the provider was asked about the target, from the payment's own stream. */
export function attemptsOf(state: PaymentState, target: FollowUpTarget): number {
  if (target.reversalId === null) return state.statusQueries;
  return state.reversals.find((reversal) => reversal.reversalId === target.reversalId)?.statusQueries ?? 0;
}

/** Whether a reversal or refund of the payment still waits for its outcome. */
export function reversalWaiting(state: PaymentState, target: FollowUpTarget): boolean {
  return state.reversals.some(
    (reversal) => reversal.reversalId === target.reversalId && reversal.status === 'requested',
  );
}

/** Payment statuses a resolver follows up: a fixed list, written into its query as literals. */
export type WaitingStatus = 'initiated' | 'pending';

/**
 * One round's targets for a provider: its payments in `statuses` and its reversals or refunds
 * still requested, each past the grace and under the attempts, oldest first, a batch of each.
 * The statuses are literals in the SQL (not a parameter) so the partial index on unsettled
 * payments applies.
 */
export async function waitingTargets(
  services: Services,
  provider: 'mpesa' | 'stripe',
  statuses: readonly WaitingStatus[],
  now: Date,
  options: FollowUpOptions,
): Promise<{ payments: FollowUpTarget[]; reversals: FollowUpTarget[] }> {
  const before = new Date(now.getTime() - options.graceMs).toISOString();
  const args = [before, options.batchMax, options.attemptsMax, provider];
  const payments = await services.db.query<{ org_id: string; payment_id: string }>(
    `SELECT org_id, payment_id FROM rm_payments
      WHERE status IN (${statuses.map((status) => `'${status}'`).join(', ')}) AND provider = $4
        AND updated_at < $1 AND status_queries < $3
      ORDER BY updated_at, payment_id LIMIT $2`,
    args,
  );
  const reversals = await services.db.query<{ org_id: string; payment_id: string; reversal_id: string }>(
    `SELECT org_id, payment_id, reversal_id FROM rm_payment_reversals
      WHERE status = 'requested' AND provider = $4 AND updated_at < $1 AND status_queries < $3
      ORDER BY updated_at, reversal_id LIMIT $2`,
    args,
  );
  return {
    payments: payments.rows.map((row) => ({
      orgId: row.org_id,
      paymentId: row.payment_id,
      reversalId: null,
    })),
    reversals: reversals.rows.map((row) => ({
      orgId: row.org_id,
      paymentId: row.payment_id,
      reversalId: row.reversal_id,
    })),
  };
}

/** Follows up each target once (skipping any settled meanwhile); answers how many were asked about. */
export async function followUp(
  services: Services,
  targets: readonly FollowUpTarget[],
  kind: FollowUpKind,
  attemptsMax: number,
): Promise<number> {
  let asked = 0;
  for (const target of targets) {
    const id = target.reversalId ?? target.paymentId;
    const context = systemContext(services, `resolver_${id}`, 'system');
    const where = { orgId: target.orgId, paymentId: target.paymentId, reversalId: target.reversalId };
    try {
      const before = await loadPayment(context, target.orgId, target.paymentId);
      if (!kind.waiting(before, target)) continue;
      if (attemptsOf(before, target) < attemptsMax) {
        asked += 1;
        try {
          await kind.ask(context, target);
        } catch (error) {
          // Asking failed here (credentials revoked, the store busy): it still counts, so one
          // that always fails is bounded too and never holds the head of the queue for ever.
          services.log.warn({ err: error, ...where }, `${kind.provider}: asking about an outcome failed`);
          await recordFailedAsk(context, target, error);
        }
      }
      const after = await loadPayment(context, target.orgId, target.paymentId);
      if (kind.waiting(after, target) && attemptsOf(after, target) >= attemptsMax) {
        await leaveForReconciliation(context, target, kind.provider, attemptsMax);
      }
    } catch (error) {
      services.log.warn(
        { err: error, ...where },
        `${kind.provider}: an outcome still unknown was not resolved this round`,
      );
    }
  }
  return asked;
}

/** An ask that failed on our side, recorded as one (its code only for anything unexpected). */
async function recordFailedAsk(context: CommandContext, target: FollowUpTarget, error: unknown) {
  const known = error instanceof LedgerlineError;
  await decideOnPayment(context, target.orgId, target.paymentId, {
    type: 'RecordStatusQuery',
    ...(target.reversalId === null ? {} : { reversalId: target.reversalId }),
    outcome: 'pending',
    resultCode: known ? error.code : 'INTERNAL',
    resultText: known ? error.message : 'The provider could not be asked.',
  });
}

/** Asked enough: it stays as it is (it may have happened), a person compares with the provider. */
async function leaveForReconciliation(
  context: CommandContext,
  target: FollowUpTarget,
  provider: string,
  attemptsMax: number,
): Promise<void> {
  const what = target.reversalId === null ? 'payment' : `reversal ${target.reversalId}`;
  const raised = await raiseReconciliationAlert(
    context,
    target.orgId,
    target.paymentId,
    'outcome_unresolved',
    null,
    `${provider} was asked ${String(attemptsMax)} times about the ${what} and never gave the outcome; check the provider's statement.`,
    undefined,
    target.reversalId ?? undefined,
  );
  if (raised.output.changed) {
    context.services.log.warn(
      {
        orgId: target.orgId,
        paymentId: target.paymentId,
        reversalId: target.reversalId,
        attempts: attemptsMax,
      },
      `${provider} never told the outcome; left for reconciliation`,
    );
  }
}

/** Runs `round` every `intervalMs`, one round at a time; a failed round is retried next time. */
export function startRounds(
  services: Services,
  intervalMs: number,
  round: (now: Date) => Promise<unknown>,
  label: string,
): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = round(services.clock())
      .then(() => undefined)
      .catch((error: unknown) => {
        services.log.error({ err: error }, `${label} round failed; retrying next round`);
      })
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
