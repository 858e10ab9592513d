/**
 * Card amounts: Stripe counts in the currency's smallest unit with Stripe's own exponents
 * (2000 = USD 20.00; JPY and UGX have no decimals; BHD, JOD, KWD, OMR and TND three, with the
 * last digit 0). The ledger keeps each asset at its own scale; converting between the two is
 * exact or refused, never rounded. Currencies are lowercase on Stripe's wire.
 */
import type { AmountProblem } from '../ledger/money.js';

/** Stripe's zero-decimal currencies. */
const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);
/** Stripe's ceiling for one charge in most currencies: eight digits of minor units. */
export const STRIPE_AMOUNT_MAX = 99_999_999n;
const CURRENCY = /^[a-z]{3}$/;
/** A scale beyond any currency; keeps 10^scale small. */
const SCALE_MAX = 18;

/** A currency code as Stripe spells it (lowercase), or why it cannot be one. */
export function stripeCurrency(code: string): string | AmountProblem {
  const lower = code.toLowerCase();
  return CURRENCY.test(lower) ? lower : { reason: `"${code.slice(0, 10)}" is not a 3-letter currency code` };
}

/** How many decimals Stripe's integer amounts carry for this (lowercase) currency. */
export function stripeExponent(currency: string): number {
  if (ZERO_DECIMAL.has(currency)) return 0;
  if (THREE_DECIMAL.has(currency)) return 3;
  return 2;
}

/**
 * Ledger minor units (at the asset's `ledgerScale`) to Stripe's integer amount: exact, positive,
 * at most `STRIPE_AMOUNT_MAX`; a three-decimal currency's amount must end in 0.
 */
export function toStripeAmount(units: bigint, ledgerScale: number, currency: string): bigint | AmountProblem {
  if (!Number.isInteger(ledgerScale) || ledgerScale < 0 || ledgerScale > SCALE_MAX) {
    return { reason: `scale ${ledgerScale} is not a valid asset scale` };
  }
  if (units <= 0n) return { reason: 'must be greater than zero' };
  const exponent = stripeExponent(currency);
  let stripe: bigint;
  if (ledgerScale <= exponent) {
    stripe = units * 10n ** BigInt(exponent - ledgerScale);
  } else {
    const divisor = 10n ** BigInt(ledgerScale - exponent);
    if (units % divisor !== 0n) {
      return { reason: `${currency.toUpperCase()} card amounts have at most ${exponent} decimals` };
    }
    stripe = units / divisor;
  }
  if (exponent === 3 && stripe % 10n !== 0n) {
    return { reason: `${currency.toUpperCase()} card amounts must end in 0 (Stripe's rule)` };
  }
  if (stripe > STRIPE_AMOUNT_MAX) return { reason: `must be at most ${STRIPE_AMOUNT_MAX} minor units` };
  return stripe;
}

/** Stripe's integer amount back to ledger minor units at `ledgerScale`, exactly or refused. */
export function fromStripeAmount(
  stripe: bigint,
  currency: string,
  ledgerScale: number,
): bigint | AmountProblem {
  if (!Number.isInteger(ledgerScale) || ledgerScale < 0 || ledgerScale > SCALE_MAX) {
    return { reason: `scale ${ledgerScale} is not a valid asset scale` };
  }
  if (stripe < 0n) return { reason: 'must not be negative' };
  const exponent = stripeExponent(currency);
  if (ledgerScale >= exponent) return stripe * 10n ** BigInt(ledgerScale - exponent);
  const divisor = 10n ** BigInt(exponent - ledgerScale);
  if (stripe % divisor !== 0n) {
    return { reason: `${stripe} ${currency} minor units do not fit the ledger's ${ledgerScale} decimals` };
  }
  return stripe / divisor;
}

/** Reads an integer amount off Stripe's wire (a JSON number, or digits as text). */
export function parseStripeInteger(value: unknown): bigint | AmountProblem {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'string' && /^(0|[1-9]\d{0,18})$/.test(value)) return BigInt(value);
  return { reason: 'is not a non-negative integer amount' };
}
