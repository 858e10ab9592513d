import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nairobiTimestamp, stkPassword } from '../../src/domain/payments/stkPassword.js';
import { SANDBOX_PASSKEY } from './support/fakeDaraja.js';

describe('STK password', () => {
  it('matches the test vector of PROVIDERS.md', () => {
    expect(stkPassword('174379', SANDBOX_PASSKEY, '20240330120711')).toBe(
      'MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNzJhZGExZWQyYzkxOTIwMjQwMzMwMTIwNzEx',
    );
  });

  it('stamps the vector instant as 20240330120711 (Nairobi is UTC+3)', () => {
    expect(nairobiTimestamp(Date.UTC(2024, 2, 30, 9, 7, 11))).toBe('20240330120711');
    // Across midnight and the year boundary in Nairobi while it is still the old day in UTC.
    expect(nairobiTimestamp(Date.UTC(2023, 11, 31, 21, 0, 0))).toBe('20240101000000');
    expect(nairobiTimestamp(Date.UTC(2024, 1, 28, 21, 30, 5))).toBe('20240229003005');
  });

  it('agrees with the platform calendar at any instant', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (epochMs) => {
        const nairobi = new Date(epochMs + 3 * 3_600_000).toISOString();
        const expected = nairobi.slice(0, 19).replace(/[-T:]/g, '');
        expect(nairobiTimestamp(epochMs)).toBe(expected);
      }),
      { numRuns: 5_000 },
    );
  });
});
