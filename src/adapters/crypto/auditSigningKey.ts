/**
 * The platform's audit signing key: an Ed25519 key pair that signs the manifest of every audit
 * export, so that anyone holding only the public key can check an export was made here and not
 * changed since. The private key is LEDGERLINE_AUDIT_SIGNING_KEY (PKCS#8 PEM; every API node
 * must share it), or for a single node a key generated once into the data folder
 * (`audit-signing-key.pem`, owner-only permissions) with its public half beside it
 * (`audit-signing-key.pub.pem`) to hand to auditors.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../../domain/errors.js';

export const AUDIT_KEY_FILE = 'audit-signing-key.pem';
export const AUDIT_PUBLIC_KEY_FILE = 'audit-signing-key.pub.pem';
export const AUDIT_SIGNATURE_ALGORITHM = 'Ed25519';

export interface AuditSigningKey {
  /** The first 16 hex digits of the SHA-256 of the public key (SPKI DER): which key signed. */
  readonly keyId: string;
  readonly publicKeyPem: string;
  /** Base64 Ed25519 signature of `message`. */
  sign(message: string): string;
}

export interface AuditVerifyingKey {
  readonly keyId: string;
  verify(message: string, signature: string): boolean;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function signingKeyOf(privateKey: KeyObject, field: string): AuditSigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new ValidationError(field, 'must be an Ed25519 private key');
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (message) => sign(null, Buffer.from(message, 'utf8'), privateKey).toString('base64'),
  };
}

/** A verifier from a public key (SPKI PEM) — or from a private key's PEM, using its public half. */
export function verifyingKey(pem: string, field = 'publicKey'): AuditVerifyingKey {
  let publicKey: KeyObject;
  try {
    publicKey = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  } catch {
    throw new ValidationError(field, 'is not a PEM public key');
  }
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new ValidationError(field, 'must be an Ed25519 key');
  return {
    keyId: keyIdOf(publicKey),
    verify: (message, signature) => {
      const bytes = Buffer.from(signature, 'base64');
      // Base64 decoding forgives stray and unused bits; only the one canonical spelling counts,
      // so that no byte of an export can change unnoticed.
      if (bytes.toString('base64') !== signature) return false;
      try {
        return verify(null, Buffer.from(message, 'utf8'), publicKey, bytes);
      } catch {
        return false;
      }
    },
  };
}

export async function auditSigningKey(config: {
  readonly auditSigningKey: string | null;
  readonly dataDir: string;
}): Promise<AuditSigningKey> {
  if (config.auditSigningKey !== null) {
    try {
      return signingKeyOf(createPrivateKey(config.auditSigningKey), 'LEDGERLINE_AUDIT_SIGNING_KEY');
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      throw new ValidationError('LEDGERLINE_AUDIT_SIGNING_KEY', 'is not a PKCS#8 PEM private key');
    }
  }
  const path = join(config.dataDir, AUDIT_KEY_FILE);
  try {
    return signingKeyOf(createPrivateKey(await readFile(path, 'utf8')), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(config.dataDir, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  try {
    await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      return signingKeyOf(createPrivateKey(await readFile(path, 'utf8')), path);
    throw error;
  }
  await writeFile(
    join(config.dataDir, AUDIT_PUBLIC_KEY_FILE),
    publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    { mode: 0o644 },
  );
  return signingKeyOf(privateKey, path);
}
