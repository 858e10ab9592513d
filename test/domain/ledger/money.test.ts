/**
 * Amounts (SPEC §4): exact decimals of an asset's scale, positive, at most 10^20; more decimals
 * than the scale is refused, never rounded; a number is never an amount.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import {
  AMOUNT_MAX,
  formatAmount,
  isAmountProblem,
  isAssetCode,
  KNOWN_SCALES,
  parseAmount,
  type AmountProblem,
} from '../../../src/domain/ledger/money.js';
import { BAD_AMOUNTS } from '../../support/ledgerAmounts.js';

const RUNS = 1_000;
const TEN = 10n;

function reasonOf(value: bigint | AmountProblem): string {
  if (!isAmountProblem(value)) throw new Error(`expected a refusal, got ${value}`);
  return value.reason;
}

describe('parseAmount', () => {
  it.each(BAD_AMOUNTS)('refuses %s with a clear reason', (_label, value, reason) => {
    expect(reasonOf(parseAmount(value, 2))).toMatch(reason);
  });

  it('reads plain decimals as exact minor units', () => {
    expect(parseAmount('12.50', 2)).toBe(1250n);
    expect(parseAmount('12.5', 2)).toBe(1250n);
    expect(parseAmount('0.01', 2)).toBe(1n);
    expect(parseAmount('7', 0)).toBe(7n);
    expect(parseAmount('1', 8)).toBe(100_000_000n);
    expect(parseAmount('0.000000000000000001', 18)).toBe(1n);
  });

  it('accepts 10^20 itself, the largest amount', () => {
    expect(parseAmount('100000000000000000000', 0)).toBe(10n ** 20n);
    expect(parseAmount('100000000000000000000.00', 2)).toBe(10n ** 22n);
  });

  // Guards a bug: the minor units were computed with decimal.js arithmetic, which rounds to 20
  // significant digits, so "12345678901234567890.12" silently became ...890.00.
  it('never rounds an amount with more than 20 significant digits', () => {
    expect(parseAmount('12345678901234567890.12', 2)).toBe(1234567890123456789012n);
    expect(parseAmount('99999999999999999999.99', 2)).toBe(9999999999999999999999n);
    expect(parseAmount('12345.123456789012345678', 18)).toBe(12345123456789012345678n);
    expect(parseAmount('1.000000000000000001', 18)).toBe(10n ** 18n + 1n);
  });

  it('refuses more decimals than the scale on every scale, never rounding them away', () => {
    expect(reasonOf(parseAmount('1.5', 0))).toMatch(/has 1 decimals; this asset allows 0/);
    expect(reasonOf(parseAmount('0.123456789', 8))).toMatch(/has 9 decimals; this asset allows 8/);
    expect(reasonOf(parseAmount('1.0000000000000000001', 18))).toMatch(
      /has 19 decimals; this asset allows 18/,
    );
  });

  it('reads every formatted amount back to the same minor units (no rounding anywhere)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 18 }), fc.bigInt({ min: 1n, max: 10n ** 38n }), (scale, raw) => {
        const max = 10n ** 20n * TEN ** BigInt(scale);
        const units = raw > max ? (raw % max) + 1n : raw;
        const text = formatAmount(units, scale);
        expect(text).toMatch(scale === 0 ? /^\d+$/ : new RegExp(`^\\d+\\.\\d{${scale}}$`));
        expect(parseAmount(text, scale)).toBe(units);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses any amount past 10^20 by a single minor unit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 18 }),
        fc.bigInt({ min: 1n, max: 10n ** 30n }),
        (scale, extra) => {
          const units = 10n ** 20n * TEN ** BigInt(scale) + extra;
          expect(reasonOf(parseAmount(formatAmount(units, scale), scale))).toMatch(/must be at most 10\^20/);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/** SPEC §4's rule said once with decimal.js, independently of parseAmount's fast path. */
function reference(value: string, scale: number): string {
  const decimal = new Decimal(value);
  if (decimal.isZero()) return 'zero';
  if (decimal.greaterThan('1e20')) return 'too large';
  if (decimal.decimalPlaces() > scale) return 'too many decimals';
  return BigInt(decimal.toFixed(scale).replace('.', '')).toString();
}

function outcome(value: string, scale: number): string {
  const parsed = parseAmount(value, scale);
  if (!isAmountProblem(parsed)) return parsed.toString();
  if (parsed.reason.includes('greater than zero')) return 'zero';
  if (parsed.reason.includes('at most 10^20')) return 'too large';
  if (parsed.reason.includes('decimals')) return 'too many decimals';
  return parsed.reason;
}

describe('parseAmount against decimal.js', () => {
  it(`agrees on every plain decimal, at every scale (${RUNS * 5} runs)`, () => {
    const digits = (max: number) =>
      fc.string({
        unit: fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9'),
        minLength: 1,
        maxLength: max,
      });
    const plain = fc
      .tuple(
        fc.oneof(
          fc.constant('0'),
          digits(24).map((d) => `${String(1 + (d.charCodeAt(0) % 9))}${d.slice(1)}`),
        ),
        fc.option(
          fc.oneof(
            digits(22),
            digits(3).map((d) => `${d}000`),
          ),
          { nil: null },
        ),
      )
      .map(([whole, fraction]) => (fraction === null ? whole : `${whole}.${fraction}`));
    fc.assert(
      fc.property(plain, fc.integer({ min: 0, max: 18 }), (value, scale) => {
        expect(outcome(value, scale)).toBe(reference(value, scale));
      }),
      { numRuns: RUNS * 5 },
    );
  });
});

describe('formatAmount', () => {
  it('writes exactly the scale of decimals', () => {
    expect(formatAmount(1250n, 2)).toBe('12.50');
    expect(formatAmount(5n, 2)).toBe('0.05');
    expect(formatAmount(0n, 2)).toBe('0.00');
    expect(formatAmount(7n, 0)).toBe('7');
    expect(formatAmount(-5n, 2)).toBe('-0.05');
    expect(formatAmount(10n ** 22n, 2)).toBe('100000000000000000000.00');
  });
});

describe('assets', () => {
  it('knows the scales of the spec examples', () => {
    expect(KNOWN_SCALES).toMatchObject({ KES: 2, USD: 2, JPY: 0 });
    expect(AMOUNT_MAX.toFixed()).toBe('100000000000000000000');
  });

  it('takes upper-case codes such as KES or AAPL, nothing else', () => {
    for (const code of ['KES', 'AAPL', 'BTC', 'X1']) expect(isAssetCode(code)).toBe(true);
    for (const code of ['kes', 'K', '', '1AB', 'KES ', 'ABCDEFGHIJKLM'])
      expect(isAssetCode(code)).toBe(false);
  });
});
