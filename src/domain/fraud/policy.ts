/**
 * An organization's fraud policy (SPEC §5.5): where each rule starts to fire and the two
 * score thresholds that hold or refuse a payment. Amounts are decimal strings in the policy's
 * currency, as everywhere on the wire; the engine converts them with the transaction's scale.
 */
/** Points each rule adds when it fires. The sum is capped at SCORE_MAX. */
export const RULE_POINTS = {
  amount_vs_median: 35,
  counterparty_velocity: 25,
  new_counterparty_large_amount: 30,
  repeated_failures: 25,
  payout_to_new_recipient: 15,
  unusual_hour: 10,
} as const;

export type FraudRuleName = keyof typeof RULE_POINTS;
export const FRAUD_RULE_NAMES = Object.keys(RULE_POINTS) as FraudRuleName[];

export const SCORE_MAX = 100;

/** The median means little over fewer transactions than this; the rule stays silent below it. */
export const MEDIAN_SAMPLE_MIN = 5;

export interface FraudPolicy {
  /** At or above this score the payment is held for review (FraudAlertRaised). */
  readonly reviewScore: number;
  /** At or above this score the payment is refused outright; greater than reviewScore. */
  readonly blockScore: number;
  /** The amount rule fires when the amount exceeds this many times the recent median. */
  readonly medianMultiple: number;
  /** The velocity rule fires at this many earlier transactions to one counterparty in the window. */
  readonly velocityMaxCount: number;
  readonly velocityWindowMinutes: number;
  /** A first transaction with a counterparty at or above this amount (a decimal string) fires. */
  readonly newCounterpartyAmount: string;
  /** This many failed attempts by the same customer or counterparty within the window fires. */
  readonly failuresMaxCount: number;
  readonly failuresWindowMinutes: number;
  /** Local hours [start, end) counted as unusual; start > end wraps past midnight. */
  readonly unusualHoursStart: number;
  readonly unusualHoursEnd: number;
  /** The organization's offset from UTC in minutes (Nairobi is +180). */
  readonly utcOffsetMinutes: number;
}

/** What an organization gets until it sets its own. */
export const DEFAULT_FRAUD_POLICY: FraudPolicy = {
  reviewScore: 50,
  blockScore: 80,
  medianMultiple: 5,
  velocityMaxCount: 5,
  velocityWindowMinutes: 60,
  newCounterpartyAmount: '50000',
  failuresMaxCount: 3,
  failuresWindowMinutes: 60,
  unusualHoursStart: 0,
  unusualHoursEnd: 5,
  utcOffsetMinutes: 180,
};
