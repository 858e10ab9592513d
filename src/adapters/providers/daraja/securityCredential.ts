/**
 * Daraja's `SecurityCredential`: the initiator password encrypted with the public key of
 * Safaricom's certificate for the environment (RSA, PKCS#1 v1.5 padding), in base64
 * (PROVIDERS.md §1). The vault may hold it ready-made (`securityCredential`) or hold the
 * password (`initiatorPassword`); then the certificate given to the adapter is used.
 */
import { constants, createPublicKey, publicEncrypt, X509Certificate, type KeyObject } from 'node:crypto';
import type { MpesaCredentials, MpesaEnvironment } from '../../../domain/payments/credentials.js';

/** PEM text of Safaricom's certificate (or its public key), per environment. */
export type SecurityCertificates = Partial<Readonly<Record<MpesaEnvironment, string>>>;

export type SecurityCredentialAnswer =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly reason: string };

function publicKeyOf(pem: string): KeyObject {
  return pem.includes('BEGIN CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
}

export function securityCredentialFor(
  credentials: MpesaCredentials,
  certificates: SecurityCertificates,
): SecurityCredentialAnswer {
  if (credentials.securityCredential !== undefined && credentials.securityCredential.length > 0) {
    return { ok: true, value: credentials.securityCredential };
  }
  const password = credentials.initiatorPassword;
  if (password === undefined || password.length === 0) {
    return { ok: false, reason: 'the credentials hold neither securityCredential nor initiatorPassword' };
  }
  const pem = certificates[credentials.environment];
  if (pem === undefined) {
    return {
      ok: false,
      reason: `no Safaricom ${credentials.environment} certificate is configured to encrypt the initiator password; store securityCredential instead`,
    };
  }
  let key: KeyObject;
  try {
    key = publicKeyOf(pem);
  } catch {
    return { ok: false, reason: `the Safaricom ${credentials.environment} certificate cannot be read` };
  }
  const encrypted = publicEncrypt(
    { key, padding: constants.RSA_PKCS1_PADDING },
    Buffer.from(password, 'utf8'),
  );
  return { ok: true, value: encrypted.toString('base64') };
}
