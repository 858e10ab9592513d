/**
 * A transfer's fingerprint decides "same body" (exists) against "another body" (ID_REUSED)
 * forever, so the fast path that builds its keys in order must give exactly what the general
 * canonical encoding gives, for any body the API accepts, whatever order its keys came in.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as l from '../../src/commands/ledger/schemas.js';
import { fingerprint, transferFingerprint } from '../../src/commands/ledger/transferFingerprint.js';

const RUNS = 2_000;

const text = fc.string({
  minLength: 1,
  maxLength: 12,
  unit: fc.constantFrom('a', 'Z', '_', '9', 'é', '"', '\\', '😀'),
});
const body = fc
  .record(
    {
      transferId: fc.stringMatching(/^[A-Za-z0-9_:.-]{1,40}$/),
      debitAccount: fc.constantFrom('assets:bank:float', 'customers:cus_1:wallet', 'revenue:fees'),
      creditAccount: fc.constantFrom('customers:cus_2:wallet', 'liabilities:payable:x'),
      amount: fc.stringMatching(/^[1-9]\d{0,6}(\.\d{1,4})?$/),
      asset: fc.constantFrom('KES', 'USD'),
      code: fc.constantFrom('payment', 'fee', 'refund'),
      metadata: fc.dictionary(text, text, { maxKeys: 5 }),
      reference: text,
      pending: fc.record({ timeoutSeconds: fc.integer({ min: 1, max: 3600 }) }),
    },
    { requiredKeys: ['transferId', 'debitAccount', 'creditAccount', 'amount'] },
  )
  // Keys in any order: the wire does not sort them.
  .chain((value) =>
    fc
      .shuffledSubarray(Object.keys(value), { minLength: Object.keys(value).length })
      .map((keys) => Object.fromEntries(keys.map((key) => [key, (value as Record<string, unknown>)[key]]))),
  );

describe('transfer fingerprint', () => {
  it('equals the general canonical fingerprint of the accepted body, in any key order', () => {
    fc.assert(
      fc.property(body, (raw) => {
        const parsed = l.transfer.safeParse(raw);
        if (!parsed.success) return;
        expect(transferFingerprint(parsed.data)).toBe(fingerprint('transfer', parsed.data));
      }),
      { numRuns: RUNS },
    );
  });

  it('gives the general fingerprint for strings that need escaping, even where the schema refuses them', () => {
    const unchecked = fc.record(
      {
        transferId: text,
        debitAccount: text,
        creditAccount: text,
        amount: text,
        asset: text,
        code: text,
        metadata: fc.dictionary(text, text, { maxKeys: 3 }),
        reference: text,
      },
      { requiredKeys: ['transferId', 'debitAccount', 'creditAccount', 'amount', 'code', 'metadata'] },
    );
    fc.assert(
      fc.property(unchecked, (raw) => {
        expect(transferFingerprint(raw as never)).toBe(fingerprint('transfer', raw));
      }),
      { numRuns: RUNS },
    );
  });

  it('is the same value it has always been for a known body (stored in events: it must never change)', () => {
    const parsed = l.transfer.parse({
      transferId: 'tr_1',
      debitAccount: 'assets:bank:float',
      creditAccount: 'customers:cus_1:wallet',
      amount: '12.50',
      metadata: { order: 'A-1' },
      reference: 'inv 7',
    });
    expect(transferFingerprint(parsed)).toBe(GOLDEN);
  });
});

/** Computed by the code before the fast path, from the same body. */
const GOLDEN = 'a23a777a5b8d1860382daa94e0983cfa';
