import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMsisdn, isPhoneProblem, normalizeKenyanPhone } from '../../src/domain/payments/phone.js';

const RUNS = 2_000;
const subscriber = fc.stringMatching(/^[17]\d{8}$/);

describe('Kenyan phone normalization', () => {
  it('turns every accepted spelling of a number into the same 2547/2541 MSISDN', () => {
    fc.assert(
      fc.property(subscriber, (digits) => {
        const expected = `254${digits}`;
        for (const spelling of [
          `0${digits}`,
          `+254${digits}`,
          `254${digits}`,
          ` 0${digits} `,
          Number(expected),
        ]) {
          expect(normalizeKenyanPhone(spelling)).toBe(expected);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('is idempotent and only ever yields MSISDNs', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^\+?\d{8,14}$/), fc.integer()), (input) => {
        const once = normalizeKenyanPhone(input);
        if (isPhoneProblem(once)) return;
        expect(isMsisdn(once)).toBe(true);
        expect(normalizeKenyanPhone(once)).toBe(once);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses any digit string that is not one of the four forms', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\+?\d{1,15}$/), (input) => {
        const accepted = /^(0|\+254|254)[17]\d{8}$/.test(input);
        const result = normalizeKenyanPhone(input);
        expect(isPhoneProblem(result)).toBe(!accepted);
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    ['0712345678', '254712345678'],
    ['0112345678', '254112345678'],
    ['+254712345678', '254712345678'],
    ['254112345678', '254112345678'],
    [254708374149, '254708374149'],
  ])('normalizes %s to %s', (input, expected) => {
    expect(normalizeKenyanPhone(input)).toBe(expected);
  });

  it.each([
    ['712345678', 'PHONE_NOT_KENYAN_MOBILE'],
    ['0212345678', 'PHONE_NOT_KENYAN_MOBILE'],
    ['+255712345678', 'PHONE_NOT_KENYAN_MOBILE'],
    ['2547123456789', 'PHONE_NOT_KENYAN_MOBILE'],
    ['0712 345 678', 'PHONE_MALFORMED'],
    ['0712-345-678', 'PHONE_MALFORMED'],
    ['', 'PHONE_MALFORMED'],
    [null, 'PHONE_MALFORMED'],
    [7.12e8, 'PHONE_NOT_KENYAN_MOBILE'],
    [0.5, 'PHONE_MALFORMED'],
  ])('refuses %s with %s and a reason', (input, code) => {
    const result = normalizeKenyanPhone(input);
    expect(result).toMatchObject({ code });
    expect(isPhoneProblem(result) && result.reason.length).toBeGreaterThan(10);
  });
});
