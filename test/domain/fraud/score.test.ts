import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FRAUD_POLICY,
  FRAUD_RULE_NAMES,
  RULE_POINTS,
  SCORE_MAX,
  type FraudPolicy,
} from '../../../src/domain/fraud/policy.js';
import {
  localHour,
  medianOf,
  scoreTransaction,
  TRANSACTION_KINDS,
  type FraudHistory,
  type ScoredTransaction,
} from '../../../src/domain/fraud/score.js';

const NOON_NAIROBI = Date.parse('2026-11-21T09:00:00.000Z'); // 12:00 at +03:00
const MINUTE = 60_000;

function transaction(overrides: Partial<ScoredTransaction> = {}): ScoredTransaction {
  return {
    kind: 'collection',
    amount: 100_000n, // 1,000.00 KES
    scale: 2,
    currency: 'KES',
    counterparty: '254712345678',
    atMs: NOON_NAIROBI,
    ...overrides,
  };
}

const QUIET: FraudHistory = {
  recentAmounts: [100_000n, 90_000n, 110_000n, 95_000n, 105_000n],
  counterpartyTimes: [NOON_NAIROBI - 3 * 24 * 60 * MINUTE],
  failureTimes: [],
};

const rulesOf = (score: ReturnType<typeof scoreTransaction>) => score.rules.map((fired) => fired.rule);

describe('fraud rule engine: each rule, given / when / then', () => {
  it('an ordinary transaction with a known counterparty at noon scores 0 and is allowed', () => {
    const score = scoreTransaction(transaction(), QUIET, DEFAULT_FRAUD_POLICY);
    expect(score).toEqual({ score: 0, decision: 'allow', rules: [] });
  });

  it('amount_vs_median fires above medianMultiple × the median and says the numbers', () => {
    const score = scoreTransaction(transaction({ amount: 500_001n }), QUIET, DEFAULT_FRAUD_POLICY);
    expect(rulesOf(score)).toEqual(['amount_vs_median']);
    expect(score.rules[0]!.reason).toContain('5000.01 KES');
    expect(score.rules[0]!.reason).toContain('1000.00 KES');
    expect(scoreTransaction(transaction({ amount: 500_000n }), QUIET, DEFAULT_FRAUD_POLICY).rules).toEqual(
      [],
    );
  });

  it('amount_vs_median stays silent with fewer than five earlier transactions', () => {
    const history = { ...QUIET, recentAmounts: [1n, 1n, 1n, 1n] };
    expect(
      rulesOf(scoreTransaction(transaction({ amount: 10n ** 12n }), history, DEFAULT_FRAUD_POLICY)),
    ).not.toContain('amount_vs_median');
  });

  it('counterparty_velocity counts only transactions inside the window', () => {
    const inside = Array.from({ length: 5 }, (_, index) => NOON_NAIROBI - (index + 1) * MINUTE);
    const outside = Array.from({ length: 10 }, (_, index) => NOON_NAIROBI - (61 + index) * MINUTE);
    expect(
      rulesOf(scoreTransaction(transaction(), { ...QUIET, counterpartyTimes: inside }, DEFAULT_FRAUD_POLICY)),
    ).toEqual(['counterparty_velocity']);
    expect(
      rulesOf(
        scoreTransaction(
          transaction(),
          { ...QUIET, counterpartyTimes: [...inside.slice(1), ...outside] },
          DEFAULT_FRAUD_POLICY,
        ),
      ),
    ).toEqual([]);
  });

  it('new_counterparty_large_amount fires for a first transaction at or above the policy amount', () => {
    const history = { ...QUIET, counterpartyTimes: [] };
    const large = scoreTransaction(transaction({ amount: 5_000_000n }), history, DEFAULT_FRAUD_POLICY);
    expect(rulesOf(large)).toContain('new_counterparty_large_amount');
    const small = scoreTransaction(
      transaction({ amount: 4_999_999n }),
      { ...history, recentAmounts: [] },
      DEFAULT_FRAUD_POLICY,
    );
    expect(rulesOf(small)).toEqual([]);
  });

  it('repeated_failures fires at failuresMaxCount failures inside the window', () => {
    const failures = [1, 2, 3].map((minutes) => NOON_NAIROBI - minutes * MINUTE);
    expect(
      rulesOf(scoreTransaction(transaction(), { ...QUIET, failureTimes: failures }, DEFAULT_FRAUD_POLICY)),
    ).toEqual(['repeated_failures']);
    expect(
      rulesOf(
        scoreTransaction(transaction(), { ...QUIET, failureTimes: failures.slice(1) }, DEFAULT_FRAUD_POLICY),
      ),
    ).toEqual([]);
  });

  it('payout_to_new_recipient fires only for payouts', () => {
    const history = { ...QUIET, counterpartyTimes: [] };
    expect(rulesOf(scoreTransaction(transaction({ kind: 'payout' }), history, DEFAULT_FRAUD_POLICY))).toEqual(
      ['payout_to_new_recipient'],
    );
    expect(
      rulesOf(scoreTransaction(transaction({ kind: 'collection' }), history, DEFAULT_FRAUD_POLICY)),
    ).toEqual([]);
  });

  it('unusual_hour uses the organization offset, and a window that wraps midnight', () => {
    const threeAmNairobi = Date.parse('2026-11-21T00:00:00.000Z');
    expect(
      rulesOf(scoreTransaction(transaction({ atMs: threeAmNairobi }), QUIET, DEFAULT_FRAUD_POLICY)),
    ).toEqual(['unusual_hour']);
    const utcPolicy = {
      ...DEFAULT_FRAUD_POLICY,
      utcOffsetMinutes: 0,
      unusualHoursStart: 22,
      unusualHoursEnd: 2,
    };
    expect(localHour(Date.parse('2026-11-21T23:30:00.000Z'), 0)).toBe(23);
    expect(
      rulesOf(
        scoreTransaction(transaction({ atMs: Date.parse('2026-11-21T23:30:00.000Z') }), QUIET, utcPolicy),
      ),
    ).toEqual(['unusual_hour']);
    expect(
      rulesOf(
        scoreTransaction(transaction({ atMs: Date.parse('2026-11-21T02:00:00.000Z') }), QUIET, utcPolicy),
      ),
    ).toEqual([]);
  });

  it('holds at the review score and refuses at the block score', () => {
    const history: FraudHistory = {
      recentAmounts: QUIET.recentAmounts,
      counterpartyTimes: [],
      failureTimes: [],
    };
    const held = scoreTransaction(
      transaction({ kind: 'payout', amount: 600_000n }),
      history,
      DEFAULT_FRAUD_POLICY,
    );
    expect(held.score).toBe(RULE_POINTS.amount_vs_median + RULE_POINTS.payout_to_new_recipient);
    expect(held.decision).toBe('review');
    const blocked = scoreTransaction(
      transaction({ kind: 'payout', amount: 6_000_000n }),
      history,
      DEFAULT_FRAUD_POLICY,
    );
    expect(blocked.score).toBe(80);
    expect(blocked.decision).toBe('block');
  });

  it('the median of an even count is the lower middle, an observed amount', () => {
    expect(medianOf([4n, 1n, 3n, 2n])).toBe(2n);
    expect(medianOf([])).toBeNull();
  });
});

const policyArbitrary: fc.Arbitrary<FraudPolicy> = fc
  .record({
    reviewScore: fc.integer({ min: 1, max: 99 }),
    medianMultiple: fc.integer({ min: 2, max: 20 }),
    velocityMaxCount: fc.integer({ min: 1, max: 10 }),
    velocityWindowMinutes: fc.integer({ min: 1, max: 1_440 }),
    newCounterpartyAmount: fc.bigInt({ min: 1n, max: 10n ** 9n }).map(String),
    failuresMaxCount: fc.integer({ min: 1, max: 10 }),
    failuresWindowMinutes: fc.integer({ min: 1, max: 1_440 }),
    unusualHoursStart: fc.integer({ min: 0, max: 23 }),
    unusualHoursEnd: fc.integer({ min: 0, max: 23 }),
    utcOffsetMinutes: fc.integer({ min: -720, max: 840 }),
    gap: fc.integer({ min: 1, max: 100 }),
  })
  .map(({ gap, ...policy }) => ({ ...policy, blockScore: Math.min(SCORE_MAX, policy.reviewScore + gap) }))
  .filter((policy) => policy.blockScore > policy.reviewScore);

const atArbitrary = fc.integer({
  min: Date.parse('2020-01-01T00:00:00Z'),
  max: Date.parse('2030-01-01T00:00:00Z'),
});
const transactionArbitrary = fc.record({
  kind: fc.constantFrom(...TRANSACTION_KINDS),
  amount: fc.bigInt({ min: 1n, max: 10n ** 14n }),
  scale: fc.constantFrom(0, 2, 8),
  currency: fc.constantFrom('KES', 'USD', 'BTC'),
  counterparty: fc.constantFrom('254712345678', 'pm_1', 'acct:x'),
  atMs: atArbitrary,
});
const historyArbitrary = (atMs: number) =>
  fc.record({
    recentAmounts: fc.array(fc.bigInt({ min: 1n, max: 10n ** 12n }), { maxLength: 30 }),
    counterpartyTimes: fc.array(fc.integer({ min: atMs - 3 * 86_400_000, max: atMs }), { maxLength: 20 }),
    failureTimes: fc.array(fc.integer({ min: atMs - 3 * 86_400_000, max: atMs }), { maxLength: 20 }),
  });
const scenario = transactionArbitrary.chain((tx) =>
  fc.record({ tx: fc.constant(tx), history: historyArbitrary(tx.atMs), policy: policyArbitrary }),
);

const RUNS = 2_000;

describe('fraud rule engine: properties', () => {
  it('the score is the capped sum of the fired rules, each with a reason, in a fixed order, and the decision follows the thresholds', () => {
    fc.assert(
      fc.property(scenario, ({ tx, history, policy }) => {
        const result = scoreTransaction(tx, history, policy);
        const sum = result.rules.reduce((total, fired) => total + fired.points, 0);
        expect(result.score).toBe(Math.min(SCORE_MAX, sum));
        expect(result.score).toBeGreaterThanOrEqual(0);
        for (const fired of result.rules) {
          expect(fired.points).toBe(RULE_POINTS[fired.rule]);
          expect(fired.reason.length).toBeGreaterThan(10);
        }
        const order = result.rules.map((fired) => FRAUD_RULE_NAMES.indexOf(fired.rule));
        expect(order).toEqual([...order].sort((a, b) => a - b));
        const expected =
          result.score >= policy.blockScore
            ? 'block'
            : result.score >= policy.reviewScore
              ? 'review'
              : 'allow';
        expect(result.decision).toBe(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it('is deterministic and does not depend on the order of the history', () => {
    fc.assert(
      fc.property(scenario, ({ tx, history, policy }) => {
        const reversed: FraudHistory = {
          recentAmounts: [...history.recentAmounts].reverse(),
          counterpartyTimes: [...history.counterpartyTimes].reverse(),
          failureTimes: [...history.failureTimes].reverse(),
        };
        expect(scoreTransaction(tx, reversed, policy)).toEqual(scoreTransaction(tx, history, policy));
      }),
      { numRuns: RUNS },
    );
  });

  it('more failures or more velocity never lower the score', () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 1, max: 10 }), ({ tx, history, policy }, extra) => {
        const base = scoreTransaction(tx, history, policy).score;
        const more: FraudHistory = {
          ...history,
          failureTimes: [...history.failureTimes, ...Array.from({ length: extra }, () => tx.atMs)],
        };
        expect(scoreTransaction(tx, more, policy).score).toBeGreaterThanOrEqual(base);
      }),
      { numRuns: RUNS },
    );
  });

  it('a larger amount never lowers the score', () => {
    fc.assert(
      fc.property(scenario, fc.bigInt({ min: 0n, max: 10n ** 12n }), ({ tx, history, policy }, more) => {
        const base = scoreTransaction(tx, history, policy).score;
        expect(
          scoreTransaction({ ...tx, amount: tx.amount + more }, history, policy).score,
        ).toBeGreaterThanOrEqual(base);
      }),
      { numRuns: RUNS },
    );
  });
});
