/**
 * The vault's cryptography: what is sealed opens to the same bytes under the same key and
 * context, and under nothing else — not another key, not another organization's or
 * provider's context, not with a single bit of the ciphertext, IV or tag changed. The
 * fingerprint is stable under one data key and unrelated under another.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  credentialsContext,
  fingerprint,
  masterKeyId,
  newDataKey,
  open,
  seal,
  VaultDecryptError,
} from '../../src/adapters/crypto/vaultCipher.js';

const RUNS = 300;
const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const plaintext = fc.uint8Array({ minLength: 0, maxLength: 2048 });
const context = fc.string({ minLength: 1, maxLength: 120 });

describe('sealing with AES-256-GCM', () => {
  it('opens to exactly what was sealed, with a fresh IV every time', () => {
    fc.assert(
      fc.property(key, plaintext, context, (k, text, aad) => {
        const a = seal(k, text, aad);
        const b = seal(k, text, aad);
        expect(Buffer.compare(open(k, a, aad), Buffer.from(text))).toBe(0);
        expect(a.iv.equals(b.iv)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses to open under another key or another context', () => {
    fc.assert(
      fc.property(key, key, plaintext, context, context, (k1, k2, text, aad1, aad2) => {
        fc.pre(Buffer.compare(Buffer.from(k1), Buffer.from(k2)) !== 0 && aad1 !== aad2);
        const sealed = seal(k1, text, aad1);
        expect(() => open(k2, sealed, aad1)).toThrow(VaultDecryptError);
        expect(() => open(k1, sealed, aad2)).toThrow(VaultDecryptError);
      }),
      { numRuns: RUNS },
    );
  });

  it('detects any single flipped bit in the ciphertext, the IV or the tag', () => {
    fc.assert(
      fc.property(
        key,
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.constantFrom('ciphertext', 'iv', 'authTag'),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (k, text, part, index, bit) => {
          const sealed = seal(k, text, 'ctx');
          const bytes = Buffer.from(sealed[part]);
          const at = index % bytes.length;
          bytes[at] = (bytes[at] ?? 0) ^ (1 << bit);
          expect(() => open(k, { ...sealed, [part]: bytes }, 'ctx')).toThrow(VaultDecryptError);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('binds credentials to the organization, the provider and the key id', () => {
    const k = newDataKey();
    const sealed = seal(
      k,
      Buffer.from('{"secretKey":"sk_test_x"}'),
      credentialsContext('org_A', 'stripe', 'dk_1'),
    );
    for (const elsewhere of [
      credentialsContext('org_B', 'stripe', 'dk_1'),
      credentialsContext('org_A', 'plaid', 'dk_1'),
      credentialsContext('org_A', 'stripe', 'dk_2'),
    ]) {
      expect(() => open(k, sealed, elsewhere)).toThrow(VaultDecryptError);
    }
  });
});

describe('fingerprints', () => {
  it('are stable under one data key and differ under another, for the same text', () => {
    fc.assert(
      fc.property(key, key, fc.string({ maxLength: 200 }), (k1, k2, text) => {
        fc.pre(Buffer.compare(Buffer.from(k1), Buffer.from(k2)) !== 0);
        expect(fingerprint(k1, text)).toBe(fingerprint(k1, text));
        expect(fingerprint(k1, text)).toMatch(/^[0-9a-f]{64}$/);
        expect(fingerprint(k1, text)).not.toBe(fingerprint(k2, text));
      }),
      { numRuns: RUNS },
    );
  });

  it('differ for different texts under one key', () => {
    fc.assert(
      fc.property(key, fc.string(), fc.string(), (k, a, b) => {
        fc.pre(a !== b);
        expect(fingerprint(k, a)).not.toBe(fingerprint(k, b));
      }),
      { numRuns: RUNS },
    );
  });

  it('are not a plain hash of the secret (a guessable one could be found from it)', async () => {
    const { createHash } = await import('node:crypto');
    const k = newDataKey();
    expect(fingerprint(k, 'Safaricom999!*!')).not.toBe(
      createHash('sha256').update('Safaricom999!*!').digest('hex'),
    );
  });
});

describe('master key ids', () => {
  it('name a key without containing it', () => {
    const k = newDataKey();
    const id = masterKeyId(k);
    expect(id).toMatch(/^mk_[0-9a-f]{16}$/);
    expect(id).toBe(masterKeyId(Buffer.from(k)));
    expect(id).not.toContain(k.toString('hex').slice(0, 16));
  });
});
