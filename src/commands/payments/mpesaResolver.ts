/**
 * Payments and reversals M-Pesa never called back about: every interval, the oldest few still
 * waiting past a grace period are asked about (STK query, transaction status), so a lost
 * callback leaves no payment pending and no reversal requested forever. Bounded three ways
 * (followUp.ts): payments and reversals per round, one round at a time, and asks each, counted
 * on the payment's own stream — one M-Pesa still cannot tell about after the last ask is left
 * as it is (never failed: it may have happened) with an `outcome_unresolved` reconciliation
 * alert for a person. Each ask moves it to the back of the queue, so payments stuck at "still
 * processing" cannot starve newer ones.
 */
import type { Services } from '../context.js';
import {
  followUp,
  reversalWaiting,
  startRounds,
  waitingTargets,
  type FollowUpKind,
  type FollowUpOptions,
} from './followUp.js';
import { queryProvider, queryReversal } from './mpesaFlows.js';

export const RESOLVER_INTERVAL_MS = 15_000;
/** A payment (or reversal) is asked about once it has waited this long for its callback. */
export const PENDING_GRACE_MS = 60_000;
/** Payments, and reversals, asked about per round, at most (each). */
export const RESOLVER_BATCH_MAX = 50;
/** Asks per payment or reversal, at most (about 5 minutes at the default interval), then an alert. */
export const RESOLVER_ATTEMPTS_MAX = 20;

export type ResolverOptions = FollowUpOptions;

export const RESOLVER_DEFAULTS: ResolverOptions = {
  intervalMs: RESOLVER_INTERVAL_MS,
  graceMs: PENDING_GRACE_MS,
  batchMax: RESOLVER_BATCH_MAX,
  attemptsMax: RESOLVER_ATTEMPTS_MAX,
};

const payments: FollowUpKind = {
  provider: 'M-Pesa',
  waiting: (state) => state.status === 'pending',
  async ask(context, target) {
    await queryProvider(context, target.orgId, target.paymentId);
  },
};

const reversals: FollowUpKind = {
  provider: 'M-Pesa',
  waiting: reversalWaiting,
  async ask(context, target) {
    await queryReversal(context, target.orgId, target.paymentId, target.reversalId ?? '');
  },
};

/** One round: answers how many payments and reversals were asked about. */
export async function resolvePending(
  services: Services,
  now: Date,
  options: ResolverOptions = RESOLVER_DEFAULTS,
): Promise<number> {
  const waiting = await waitingTargets(services, 'mpesa', ['pending'], now, options);
  return (
    (await followUp(services, waiting.payments, payments, options.attemptsMax)) +
    (await followUp(services, waiting.reversals, reversals, options.attemptsMax))
  );
}

export function startMpesaResolver(
  services: Services,
  options: ResolverOptions = RESOLVER_DEFAULTS,
): { stop(): Promise<void> } {
  return startRounds(
    services,
    options.intervalMs,
    (now) => resolvePending(services, now, options),
    'M-Pesa resolver',
  );
}
