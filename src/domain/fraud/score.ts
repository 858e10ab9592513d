/**
 * The fraud rule engine (SPEC §5.5): deterministic and explainable. The same transaction, history
 * and policy always give the same score, and every point of it is traced to a rule that says
 * why it fired in words a reviewer can check against the numbers.
 */
import { Decimal } from 'decimal.js';
import { formatAmount } from '../ledger/money.js';
import { MEDIAN_SAMPLE_MIN, RULE_POINTS, SCORE_MAX, type FraudPolicy, type FraudRuleName } from './policy.js';

export const TRANSACTION_KINDS = ['collection', 'card_payment', 'payout', 'refund', 'transfer'] as const;
export type TransactionKind = (typeof TRANSACTION_KINDS)[number];

export interface ScoredTransaction {
  readonly kind: TransactionKind;
  /** Minor units of `currency` (10^-scale). */
  readonly amount: bigint;
  readonly scale: number;
  readonly currency: string;
  /** Whoever the money comes from or goes to: a phone number, a payment method, an account. */
  readonly counterparty: string;
  /** When the transaction is attempted, in milliseconds since the epoch (from the context clock). */
  readonly atMs: number;
}

/** What the organization's read models know before this transaction; all times in epoch ms. */
export interface FraudHistory {
  /** Amounts (minor units, same currency) of the organization's recent transactions. */
  readonly recentAmounts: readonly bigint[];
  /** When earlier transactions with the same counterparty happened. */
  readonly counterpartyTimes: readonly number[];
  /** When earlier attempts by the same customer or counterparty failed. */
  readonly failureTimes: readonly number[];
}

export interface FiredRule {
  readonly rule: FraudRuleName;
  readonly points: number;
  readonly reason: string;
}

export type FraudDecision = 'allow' | 'review' | 'block';

export interface FraudScore {
  /** 0 to 100. */
  readonly score: number;
  readonly decision: FraudDecision;
  /** Only the rules that fired, in a fixed order. */
  readonly rules: readonly FiredRule[];
}

const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;

/** The lower-middle element for an even count, so the median is always an observed amount. */
export function medianOf(amounts: readonly bigint[]): bigint | null {
  if (amounts.length === 0) return null;
  const sorted = [...amounts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? null;
}

function countWithin(times: readonly number[], atMs: number, windowMinutes: number): number {
  const since = atMs - windowMinutes * MINUTE_MS;
  return times.filter((time) => time >= since && time <= atMs).length;
}

/** The local hour of day (0–23) at an offset from UTC. */
export function localHour(atMs: number, utcOffsetMinutes: number): number {
  const minuteOfDay =
    (((Math.floor(atMs / MINUTE_MS) + utcOffsetMinutes) % DAY_MINUTES) + DAY_MINUTES) % DAY_MINUTES;
  return Math.floor(minuteOfDay / 60);
}

function inHours(hour: number, start: number, end: number): boolean {
  if (start === end) return false;
  return start < end ? hour >= start && hour < end : hour >= start || hour < end;
}

function money(transaction: ScoredTransaction, units: bigint): string {
  return `${formatAmount(units, transaction.scale)} ${transaction.currency}`;
}

function fire(rule: FraudRuleName, reason: string): FiredRule {
  return { rule, points: RULE_POINTS[rule], reason };
}

/** Every rule, in the order it is reported. Each returns null when it does not fire. */
const RULES: readonly ((
  transaction: ScoredTransaction,
  history: FraudHistory,
  policy: FraudPolicy,
) => FiredRule | null)[] = [
  function amountVsMedian(transaction, history, policy) {
    if (history.recentAmounts.length < MEDIAN_SAMPLE_MIN) return null;
    const median = medianOf(history.recentAmounts);
    if (median === null || transaction.amount <= median * BigInt(policy.medianMultiple)) return null;
    return fire(
      'amount_vs_median',
      `The amount ${money(transaction, transaction.amount)} is more than ${policy.medianMultiple}× the organization's recent median of ${money(transaction, median)} (over ${history.recentAmounts.length} transactions).`,
    );
  },
  function counterpartyVelocity(transaction, history, policy) {
    const count = countWithin(history.counterpartyTimes, transaction.atMs, policy.velocityWindowMinutes);
    if (count < policy.velocityMaxCount) return null;
    return fire(
      'counterparty_velocity',
      `${count} earlier transactions with ${transaction.counterparty} in the last ${policy.velocityWindowMinutes} minutes (the policy allows fewer than ${policy.velocityMaxCount}).`,
    );
  },
  function newCounterpartyLargeAmount(transaction, history, policy) {
    if (history.counterpartyTimes.length > 0) return null;
    const amount = new Decimal(formatAmount(transaction.amount, transaction.scale));
    if (amount.lessThan(policy.newCounterpartyAmount)) return null;
    return fire(
      'new_counterparty_large_amount',
      `First transaction with ${transaction.counterparty}, for ${money(transaction, transaction.amount)} (at or above ${policy.newCounterpartyAmount} ${transaction.currency} for a new counterparty).`,
    );
  },
  function repeatedFailures(transaction, history, policy) {
    const count = countWithin(history.failureTimes, transaction.atMs, policy.failuresWindowMinutes);
    if (count < policy.failuresMaxCount) return null;
    return fire(
      'repeated_failures',
      `${count} failed attempts in the last ${policy.failuresWindowMinutes} minutes (the policy allows fewer than ${policy.failuresMaxCount}).`,
    );
  },
  function payoutToNewRecipient(transaction, history) {
    if (transaction.kind !== 'payout' || history.counterpartyTimes.length > 0) return null;
    return fire(
      'payout_to_new_recipient',
      `Payout to ${transaction.counterparty}, who has never been paid before.`,
    );
  },
  function unusualHour(transaction, _history, policy) {
    const hour = localHour(transaction.atMs, policy.utcOffsetMinutes);
    if (!inHours(hour, policy.unusualHoursStart, policy.unusualHoursEnd)) return null;
    return fire(
      'unusual_hour',
      `Attempted at ${String(hour).padStart(2, '0')}:xx local time, inside the unusual hours ${policy.unusualHoursStart}:00–${policy.unusualHoursEnd}:00.`,
    );
  },
];

export function decisionFor(score: number, policy: FraudPolicy): FraudDecision {
  if (score >= policy.blockScore) return 'block';
  if (score >= policy.reviewScore) return 'review';
  return 'allow';
}

export function scoreTransaction(
  transaction: ScoredTransaction,
  history: FraudHistory,
  policy: FraudPolicy,
): FraudScore {
  const rules = RULES.map((rule) => rule(transaction, history, policy)).filter(
    (fired): fired is FiredRule => fired !== null,
  );
  const score = Math.min(
    SCORE_MAX,
    rules.reduce((sum, fired) => sum + fired.points, 0),
  );
  return { score, decision: decisionFor(score, policy), rules };
}
