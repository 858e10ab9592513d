/**
 * Card payments and refunds the processor never told the outcome of: a payment left
 * `processing` whose webhook never came (and nobody read it), a payment or refund whose answer
 * was lost. Every interval, the oldest few still waiting past a grace period are asked about
 * again (cardFollowUp.ts: a retrieve, or the same idempotency key — never a second charge or
 * refund), so none waits forever. Bounded as the M-Pesa resolver is (followUp.ts): payments and
 * refunds per round, one round at a time, and asks each, counted on the payment's stream; after
 * the last ask it stays as it is with an `outcome_unresolved` reconciliation alert. Each ask
 * moves it to the back of the queue, so ones stuck at `processing` cannot starve newer ones.
 */
import type { Services } from '../context.js';
import { askAboutCardPayment, askAboutCardRefund } from './cardFollowUp.js';
import {
  followUp,
  reversalWaiting,
  startRounds,
  waitingTargets,
  type FollowUpKind,
  type FollowUpOptions,
} from './followUp.js';

export const CARD_RESOLVER_INTERVAL_MS = 15_000;
/** A card payment or refund is asked about once it has waited this long for its webhook or answer. */
export const CARD_PENDING_GRACE_MS = 60_000;
/** Payments, and refunds, asked about per round, at most (each). */
export const CARD_RESOLVER_BATCH_MAX = 50;
/** Asks per payment or refund, at most (about 5 minutes at the default interval), then an alert. */
export const CARD_RESOLVER_ATTEMPTS_MAX = 20;

export const CARD_RESOLVER_DEFAULTS: FollowUpOptions = {
  intervalMs: CARD_RESOLVER_INTERVAL_MS,
  graceMs: CARD_PENDING_GRACE_MS,
  batchMax: CARD_RESOLVER_BATCH_MAX,
  attemptsMax: CARD_RESOLVER_ATTEMPTS_MAX,
};

const PROVIDER = 'The card processor';

const payments: FollowUpKind = {
  provider: PROVIDER,
  waiting: (state) => state.status === 'initiated' || state.status === 'pending',
  async ask(context, target) {
    await askAboutCardPayment(context, target.orgId, target.paymentId, true);
  },
};

const refunds: FollowUpKind = {
  provider: PROVIDER,
  waiting: reversalWaiting,
  async ask(context, target) {
    await askAboutCardRefund(context, target.orgId, target.paymentId, target.reversalId ?? '');
  },
};

/** One round: answers how many payments and refunds were asked about. */
export async function resolveCardPending(
  services: Services,
  now: Date,
  options: FollowUpOptions = CARD_RESOLVER_DEFAULTS,
): Promise<number> {
  // `initiated` too: a payment whose creation answer was lost stays initiated (no reference).
  const waiting = await waitingTargets(services, 'stripe', ['initiated', 'pending'], now, options);
  return (
    (await followUp(services, waiting.payments, payments, options.attemptsMax)) +
    (await followUp(services, waiting.reversals, refunds, options.attemptsMax))
  );
}

export function startCardResolver(
  services: Services,
  options: FollowUpOptions = CARD_RESOLVER_DEFAULTS,
): { stop(): Promise<void> } {
  return startRounds(
    services,
    options.intervalMs,
    (now) => resolveCardPending(services, now, options),
    'card resolver',
  );
}
