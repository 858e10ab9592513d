/**
 * Money in the ledger: an asset with a scale, and amounts as exact decimals. In code an amount
 * is a bigint of minor units (10^-scale of the asset); on the wire and in events it is a
 * decimal string. A number is never an amount: it cannot carry 0.1 or 2^53 + 1 exactly.
 */
import { Decimal } from 'decimal.js';

/** SPEC §4: amounts are positive and at most 10^20. */
export const AMOUNT_MAX = new Decimal('1e20');
/** 10^20 has 21 digits: a longer whole part is out of bounds (or has leading zeros). */
const AMOUNT_MAX_DIGITS = 20;
const WHOLE_DIGITS_MAX = AMOUNT_MAX_DIGITS + 1;
const TRAILING_ZEROS = /0+$/;
export const SCALE_MAX = 18;
/** 10^20 in minor units, by scale: worked out once, not for every transfer. */
const UNITS_MAX: readonly bigint[] = Array.from(
  { length: SCALE_MAX + 1 },
  (_, scale) => 10n ** BigInt(AMOUNT_MAX_DIGITS + scale),
);
const ASSET_CODE = /^[A-Z][A-Z0-9]{1,11}$/;
/**
 * Plain decimal notation only: no sign, no exponent, no spaces, no leading dot. The digits are not
 * bounded here, so an amount that is too large or has too many decimals is refused for that reason.
 */
const DECIMAL = /^(0|[1-9]\d*)(\.\d+)?$/;

/** Scales of well-known assets; any other asset names its scale when its first account opens. */
export const KNOWN_SCALES: Readonly<Record<string, number>> = {
  KES: 2,
  USD: 2,
  EUR: 2,
  GBP: 2,
  UGX: 0,
  TZS: 2,
  NGN: 2,
  ZAR: 2,
  JPY: 0,
  BTC: 8,
  ETH: 18,
};

export type AmountProblem = { readonly reason: string };

export function isAssetCode(value: string): boolean {
  return ASSET_CODE.test(value);
}

/**
 * Parses a wire amount for an asset of `scale`: the minor units, or the reason it is refused.
 * More decimals than the scale is refused, never rounded.
 */
export function parseAmount(value: unknown, scale: number): bigint | AmountProblem {
  if (typeof value !== 'string') {
    return { reason: 'must be a decimal string such as "12.50" (numbers lose precision)' };
  }
  const match = DECIMAL.exec(value);
  if (!match) return { reason: `"${value.slice(0, 40)}" is not a plain positive decimal such as "12.50"` };
  // The common case in plain string arithmetic (this runs for every transfer): digits that fit
  // the scale once trailing zeros are dropped. Anything else takes the Decimal path below,
  // which says what is wrong; both answer the same (a property test holds them together).
  const whole = match[1] ?? '';
  const fraction = (match[2] ?? '').slice(1).replace(TRAILING_ZEROS, '');
  if (whole.length <= WHOLE_DIGITS_MAX && fraction.length <= scale) {
    const units = BigInt(whole + fraction.padEnd(scale, '0'));
    if (units === 0n) return { reason: 'must be greater than zero' };
    if (units > (UNITS_MAX[scale] ?? 10n ** BigInt(AMOUNT_MAX_DIGITS + scale)))
      return { reason: 'must be at most 10^20' };
    return units;
  }
  const decimal = new Decimal(value);
  if (decimal.isZero()) return { reason: 'must be greater than zero' };
  if (decimal.greaterThan(AMOUNT_MAX)) return { reason: 'must be at most 10^20' };
  if (decimal.decimalPlaces() > scale) {
    return { reason: `has ${decimal.decimalPlaces()} decimals; this asset allows ${scale}` };
  }
  // toFixed is exact here (the decimals fit the scale); `times` would round to 20 significant digits.
  return BigInt(decimal.toFixed(scale).replace('.', ''));
}

export function isAmountProblem(value: bigint | AmountProblem): value is AmountProblem {
  return typeof value !== 'bigint';
}

/** Minor units back to the wire decimal, with exactly `scale` decimals. */
export function formatAmount(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const whole = scale === 0 ? digits : digits.slice(0, -scale);
  const fraction = scale === 0 ? '' : `.${digits.slice(-scale)}`;
  return `${negative ? '-' : ''}${whole}${fraction}`;
}
