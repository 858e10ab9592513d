import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAmount, isAmountProblem, parseAmount } from '../../src/domain/ledger/money.js';
import {
  fromStripeAmount,
  parseStripeInteger,
  STRIPE_AMOUNT_MAX,
  stripeCurrency,
  stripeExponent,
  toStripeAmount,
} from '../../src/domain/payments/cardAmount.js';
import {
  isMpesaAmount,
  MPESA_AMOUNT_MAX_SHILLINGS,
  parseReportedAmount,
  toMpesaAmount,
  wholeShillings,
} from '../../src/domain/payments/mpesaAmount.js';

const RUNS = 2_000;
const currencies = fc.constantFrom('usd', 'kes', 'eur', 'jpy', 'ugx', 'krw', 'bhd', 'kwd', 'gbp');

describe('M-Pesa amounts', () => {
  it('accepts exactly the whole shillings within the bounds, and sends them as whole numbers', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -1_000n, max: 30_000_000n }), (cents) => {
        const amount = toMpesaAmount(cents);
        const valid = cents % 100n === 0n && cents >= 100n && cents <= MPESA_AMOUNT_MAX_SHILLINGS * 100n;
        expect(isMpesaAmount(amount)).toBe(valid);
        if (isMpesaAmount(amount)) {
          expect(Number.isInteger(wholeShillings(amount))).toBe(true);
          expect(BigInt(wholeShillings(amount)) * 100n).toBe(cents);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('reads a reported amount, as a number or as text, to the same exact cents', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), (cents) => {
        const text = formatAmount(cents, 2);
        expect(parseReportedAmount(text)).toBe(cents);
        if (cents % 100n === 0n) expect(parseReportedAmount(text.slice(0, -3))).toBe(cents);
        // A JSON number with at most two decimals reads exactly while its cents stay below 2^53.
        if (cents < 2n ** 53n) expect(parseReportedAmount(Number(text))).toBe(cents);
      }),
      { numRuns: RUNS },
    );
  });

  it.each([['1.005'], ['1e3'], ['abc'], [''], [Number.NaN], [null], [{}]])(
    'refuses the reported amount %s',
    (input) => {
      expect(isAmountProblem(parseReportedAmount(input) as bigint)).toBe(true);
    },
  );

  it('refuses cents, zero and amounts over the limit with a reason', () => {
    expect(toMpesaAmount(150n)).toEqual({ reason: 'M-Pesa moves whole shillings only (no cents)' });
    expect(toMpesaAmount(0n)).toMatchObject({ reason: expect.stringContaining('at least') });
    expect(toMpesaAmount(25_000_100n)).toMatchObject({ reason: expect.stringContaining('at most') });
  });
});

describe('card amounts', () => {
  it('round-trips ledger units through Stripe units without loss, or refuses', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.integer({ min: 0, max: 8 }),
        currencies,
        (units, scale, currency) => {
          const stripe = toStripeAmount(units, scale, currency);
          if (isAmountProblem(stripe)) return;
          expect(stripe).toBeGreaterThan(0n);
          expect(stripe).toBeLessThanOrEqual(STRIPE_AMOUNT_MAX);
          expect(fromStripeAmount(stripe, currency, scale)).toBe(units);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('keeps the decimal value: the ledger decimal and the Stripe decimal are the same number', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: STRIPE_AMOUNT_MAX }), currencies, (stripe, currency) => {
        const exponent = stripeExponent(currency);
        if (exponent === 3 && stripe % 10n !== 0n) {
          expect(isAmountProblem(toStripeAmount(stripe, 3, currency))).toBe(true);
          return;
        }
        const decimal = formatAmount(stripe, exponent);
        // Read at a finer ledger scale, converted, and back to text: the same decimal value.
        const units = parseAmount(decimal, exponent + 2) as bigint;
        expect(toStripeAmount(units, exponent + 2, currency)).toBe(stripe);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses what Stripe cannot carry', () => {
    expect(toStripeAmount(1n, 2, 'jpy')).toMatchObject({ reason: expect.stringContaining('0 decimals') });
    expect(toStripeAmount(1234n, 3, 'kwd')).toMatchObject({ reason: expect.stringContaining('end in 0') });
    expect(toStripeAmount(0n, 2, 'usd')).toMatchObject({ reason: 'must be greater than zero' });
    expect(toStripeAmount(STRIPE_AMOUNT_MAX + 1n, 2, 'usd')).toMatchObject({
      reason: expect.stringContaining('at most'),
    });
    expect(toStripeAmount(2000n, 2, 'usd')).toBe(2000n);
    expect(toStripeAmount(500n, 0, 'ugx')).toBe(500n);
    expect(stripeCurrency('USD')).toBe('usd');
    expect(stripeCurrency('US')).toMatchObject({ reason: expect.stringContaining('currency') });
    expect(parseStripeInteger(2000)).toBe(2000n);
    expect(parseStripeInteger('2000')).toBe(2000n);
    expect(isAmountProblem(parseStripeInteger(20.5) as bigint)).toBe(true);
  });
});
