/**
 * The vault stream of an organization (`{orgId}.vault-{orgId}`): its provider credentials,
 * sealed, and the life of the data keys that sealed them. No event ever holds a secret in
 * plain text: only ciphertext (AES-256-GCM, with its IV and tag), the data key's id, a keyed
 * fingerprint, and the last characters of one field.
 */
import type { Provider } from './providers.js';

/** Credentials encrypted under one of the organization's data keys (all values base64). */
export interface SealedCredentials {
  readonly keyId: string;
  readonly ciphertext: string;
  readonly iv: string;
  readonly authTag: string;
  /** HMAC-SHA256 of the canonical credentials under a key derived from the data key (hex). */
  readonly fingerprint: string;
  /** The last characters of `lastCharsOf`, for people telling credentials apart. */
  readonly lastChars: string;
  readonly lastCharsOf: string;
}

export interface ProviderCredentialsData extends SealedCredentials {
  readonly provider: Provider;
  /** Not a secret: sandbox / production, paper / live. */
  readonly environment: string;
}

export type VaultEvent =
  | { readonly type: 'VaultDataKeyIssued'; readonly data: { readonly keyId: string } }
  | { readonly type: 'ProviderCredentialsSet'; readonly data: ProviderCredentialsData }
  | {
      readonly type: 'ProviderCredentialsRotated';
      readonly data: ProviderCredentialsData & { readonly previousFingerprint: string };
    }
  | {
      readonly type: 'ProviderCredentialsRevoked';
      readonly data: {
        readonly provider: Provider;
        readonly fingerprint: string;
        readonly reason: string | null;
      };
    }
  | { readonly type: 'VaultDataKeyShredded'; readonly data: { readonly keyId: string } };

export const VAULT_EVENT_TYPES: readonly VaultEvent['type'][] = [
  'VaultDataKeyIssued',
  'ProviderCredentialsSet',
  'ProviderCredentialsRotated',
  'ProviderCredentialsRevoked',
  'VaultDataKeyShredded',
];
