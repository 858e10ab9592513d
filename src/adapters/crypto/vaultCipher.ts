/**
 * The vault's cryptography: AES-256-GCM for sealing credentials under an organization's data
 * key and for wrapping that data key under the master key, and a keyed fingerprint.
 *
 * Every ciphertext is bound to where it belongs by its additional authenticated data (the
 * organization, the provider, the key id), so a ciphertext copied into another organization's
 * stream, or a wrapped key moved to another row, fails to open instead of opening wrongly.
 *
 * The fingerprint is an HMAC under a key derived from the data key, not a plain hash: a plain
 * SHA-256 of a low-entropy secret (an initiator password, a short shortcode+passkey pair) can
 * be found by guessing, and it would outlive a crypto-shred. A keyed fingerprint tells two
 * credentials apart and nothing else, and dies with the data key.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';

export const MASTER_KEY_BYTES = 32;
export const DATA_KEY_BYTES = 32;
/** GCM's recommended nonce size; random per seal (keys seal far fewer than 2^32 messages). */
const IV_BYTES = 12;
const AUTH_TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';
const FINGERPRINT_INFO = 'ledgerline vault credential fingerprint v1';

export interface Sealed {
  readonly ciphertext: Buffer;
  readonly iv: Buffer;
  readonly authTag: Buffer;
}

/** A ciphertext that does not open under this key and context (wrong key, tampered, moved). */
export class VaultDecryptError extends Error {
  override readonly name = 'VaultDecryptError';
}

export function newDataKey(): Buffer {
  return randomBytes(DATA_KEY_BYTES);
}

export function seal(key: Uint8Array, plaintext: Uint8Array, aad: string): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: AUTH_TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, iv, authTag: cipher.getAuthTag() };
}

export function open(key: Uint8Array, sealed: Sealed, aad: string): Buffer {
  if (sealed.iv.length !== IV_BYTES || sealed.authTag.length !== AUTH_TAG_BYTES) {
    throw new VaultDecryptError('the IV or authentication tag has the wrong length');
  }
  try {
    const decipher = createDecipheriv(ALGORITHM, key, sealed.iv, { authTagLength: AUTH_TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(sealed.authTag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch (error) {
    throw new VaultDecryptError('the ciphertext does not open under this key', { cause: error });
  }
}

/** What a wrapped data key is bound to. */
export function dataKeyContext(orgId: string, keyId: string): string {
  return `ledgerline/vault/data-key/v1/${orgId}/${keyId}`;
}

/** What sealed credentials are bound to. */
export function credentialsContext(orgId: string, provider: string, keyId: string): string {
  return `ledgerline/vault/credentials/v1/${orgId}/${provider}/${keyId}`;
}

/**
 * Names a master key without revealing it (a hash of 256 random bits gives nothing away), so
 * that starting with the wrong key is a clear error rather than a failed decryption.
 */
export function masterKeyId(masterKey: Uint8Array): string {
  return `mk_${createHash('sha256').update('ledgerline vault master key id\n').update(masterKey).digest('hex').slice(0, 16)}`;
}

/** HMAC-SHA256 of `text` under a key derived (HKDF) from the data key; hex. */
export function fingerprint(dataKey: Uint8Array, text: string): string {
  const key = Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), FINGERPRINT_INFO, 32));
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}
