/**
 * M-Pesa moves whole Kenyan shillings. In code an M-Pesa amount is a bigint of KES cents —
 * the ledger's minor units for KES (scale 2) — that is a whole number of shillings within
 * Safaricom's per-transaction bounds; on Daraja's wire it is the number of shillings.
 * Amounts Daraja reports back (callbacks, balances) may carry cents ("46713.00") and are read
 * into cents exactly.
 */
import type { AmountProblem } from '../ledger/money.js';

/** KES cents, a multiple of 100, between the bounds below. Made only by `toMpesaAmount`. */
export type MpesaAmount = bigint & { readonly __brand: 'MpesaAmount' };

export const KES_SCALE = 2;
const CENTS_PER_SHILLING = 100n;
/** Safaricom's smallest transaction. */
export const MPESA_AMOUNT_MIN_SHILLINGS = 1n;
/** Safaricom's per-transaction ceiling for customers (KES 250,000 since 2023). */
export const MPESA_AMOUNT_MAX_SHILLINGS = 250_000n;
/** Reported amounts (balances included) above this are refused as nonsense rather than trusted. */
const REPORTED_AMOUNT_MAX_CENTS = 10n ** 20n;
/** Plain decimal, at most two decimals, optional minus (a balance can be negative ⚠). */
const WIRE_DECIMAL = /^(-?)(0|[1-9]\d*)(?:\.(\d{1,2}))?$/;
/** The longest reported amount worth reading; longer text is refused, never parsed. */
const WIRE_DECIMAL_LENGTH_MAX = 30;

/** Ledger KES minor units (cents) to an M-Pesa amount, or why M-Pesa cannot move it. */
export function toMpesaAmount(cents: bigint): MpesaAmount | AmountProblem {
  if (cents % CENTS_PER_SHILLING !== 0n) {
    return { reason: 'M-Pesa moves whole shillings only (no cents)' };
  }
  const shillings = cents / CENTS_PER_SHILLING;
  if (shillings < MPESA_AMOUNT_MIN_SHILLINGS) {
    return { reason: `must be at least KES ${MPESA_AMOUNT_MIN_SHILLINGS}` };
  }
  if (shillings > MPESA_AMOUNT_MAX_SHILLINGS) {
    return { reason: `must be at most KES ${MPESA_AMOUNT_MAX_SHILLINGS} per M-Pesa transaction` };
  }
  return cents as MpesaAmount;
}

/** Whole shillings to an M-Pesa amount (for tests and the simulators' magic amounts). */
export function mpesaAmountFromShillings(shillings: bigint): MpesaAmount | AmountProblem {
  return toMpesaAmount(shillings * CENTS_PER_SHILLING);
}

export function isMpesaAmount(value: MpesaAmount | AmountProblem): value is MpesaAmount {
  return typeof value === 'bigint';
}

/** What Daraja's `Amount` field carries: the number of whole shillings. */
export function wholeShillings(amount: MpesaAmount): number {
  // Exact: at most 250,000, far below 2^53.
  return Number(amount / CENTS_PER_SHILLING);
}

/**
 * An amount Daraja reported (`1`, `"8000"`, `"46713.00"`, `8000.5`) to cents, exactly. A JSON
 * number is read through its shortest decimal spelling, which is exact for anything with at
 * most two decimals and below 2^53 cents.
 */
export function parseReportedAmount(value: unknown): bigint | AmountProblem {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { reason: 'is not a finite number' };
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return { reason: 'must be a number or a decimal string' };
  }
  if (text.length > WIRE_DECIMAL_LENGTH_MAX) return { reason: 'is too long to be an amount' };
  const match = WIRE_DECIMAL.exec(text);
  if (!match) return { reason: `"${text}" is not a decimal amount with at most two decimals` };
  const [, sign = '', whole = '0', fraction = ''] = match;
  const cents = BigInt(whole) * CENTS_PER_SHILLING + BigInt(fraction.padEnd(KES_SCALE, '0'));
  if (cents > REPORTED_AMOUNT_MAX_CENTS) return { reason: 'is larger than any real amount' };
  return sign === '-' ? -cents : cents;
}
