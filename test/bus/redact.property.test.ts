/**
 * Redaction shares what it need not change, so it must still give exactly what a full copy
 * with every secret field replaced gives, and never touch the event it was handed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, redactSecrets } from '../../src/adapters/bus/busEvent.js';
import type { JsonValue } from '../../src/domain/canonicalJson.js';

const RUNS = 2_000;
const SECRET_FIELD = /password|secret|ciphertext|token|private|wrapped|passkey|credential/i;

/** The plain definition: copy everything, replacing secret fields' values. */
function reference(value: JsonValue, depth = 0): JsonValue {
  if (depth > 32) return REDACTED;
  if (Array.isArray(value)) return (value as readonly JsonValue[]).map((item) => reference(item, depth + 1));
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, JsonValue> = {};
    for (const [key, item] of Object.entries(value))
      copy[key] = SECRET_FIELD.test(key) ? REDACTED : reference(item, depth + 1);
    return copy;
  }
  return value;
}

const key = fc.oneof(
  fc.constantFrom(
    'amount',
    'transferId',
    'passwordHash',
    'apiToken',
    'consumerSecret',
    'keyId',
    'Ciphertext',
  ),
  fc.string({ maxLength: 8 }).filter((text) => text !== '__proto__'),
);
const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
  ),
})).value;

describe('redactSecrets', () => {
  it('equals a full redacting copy, and leaves its input as it was', () => {
    fc.assert(
      fc.property(json, (value) => {
        const before = structuredClone(value);
        const redacted = redactSecrets(value);
        expect(redacted).toEqual(reference(before));
        expect(value).toEqual(before);
      }),
      { numRuns: RUNS },
    );
  });

  it('hands back data with nothing secret in it as it is, without copying', () => {
    const transfers = { transfers: [{ transferId: 't1', amount: '1.00', metadata: { order: 'o1' } }] };
    expect(redactSecrets(transfers)).toBe(transfers);
    const mixed = { transfers: transfers.transfers, member: { passwordHash: 'x' } };
    const redacted = redactSecrets(mixed) as typeof mixed;
    expect(redacted.member.passwordHash).toBe(REDACTED);
    expect(redacted.transfers).toBe(transfers.transfers);
  });
});
