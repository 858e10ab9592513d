/**
 * API key secrets: `lk_live_<keyId>_<secret>`. The key id finds the key; only a SHA-256 of
 * the whole token is stored (a high-entropy secret needs no slow hash), compared in constant
 * time. The token is shown once, when the key is made.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

const SECRET_BYTES = 32;
const TOKEN = /^lk_(live|test)_(key_[0-9A-Z]{26})_([A-Za-z0-9_-]{43})$/;

export function issueApiKeyToken(
  keyId: string,
  environment: 'live' | 'test',
): { token: string; secretHash: string } {
  const token = `lk_${environment}_${keyId}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { token, secretHash: hashApiKeyToken(token) };
}

export function hashApiKeyToken(token: string): string {
  return hash('sha256', token, 'hex');
}

export function parseApiKeyToken(token: string): { keyId: string; environment: 'live' | 'test' } | null {
  const match = TOKEN.exec(token);
  if (!match?.[1] || !match[2]) return null;
  return { keyId: match[2], environment: match[1] as 'live' | 'test' };
}

export function isApiKeyToken(token: string): boolean {
  return token.startsWith('lk_');
}

/** Every request checks one: a one-shot digest, compared as bytes in constant time. */
export function secretMatches(token: string, storedHash: string): boolean {
  const actual = hash('sha256', token, 'buffer');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
