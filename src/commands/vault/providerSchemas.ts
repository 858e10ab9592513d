/**
 * What each provider's credentials consist of (PROVIDERS.md), one zod schema each. Messages
 * name the field and the rule, never the value: a rejected secret is still a secret.
 */
import { z } from 'zod';
import type {
  MpesaCredentials as AdapterMpesaCredentials,
  StripeCredentials as AdapterStripeCredentials,
} from '../../domain/payments/credentials.js';
import type { Provider } from '../../domain/vault/providers.js';

export const SECRET_LENGTH_MAX = 512;
/** RSA-4096 ciphertext in base64 is 684 characters; leave room. */
const SECURITY_CREDENTIAL_LENGTH_MAX = 2048;
/** How many trailing characters of one field a read-back shows. */
export const LAST_CHARS = 4;

const printable = /^[\x21-\x7e]+$/;

function secret(minLength: number) {
  return z
    .string()
    .min(minLength, `must be at least ${minLength} characters`)
    .max(SECRET_LENGTH_MAX, `must be at most ${SECRET_LENGTH_MAX} characters`)
    .regex(printable, 'must be printable ASCII without spaces');
}

export const mpesaCredentials = z
  .strictObject({
    consumerKey: secret(8).describe('Daraja app consumer key'),
    consumerSecret: secret(8).describe('Daraja app consumer secret'),
    shortcode: z.string().regex(/^\d{5,7}$/, 'must be a paybill or till number of 5 to 7 digits'),
    passkey: secret(16).describe('Lipa na M-Pesa Online passkey (STK push)'),
    initiatorName: z.string().trim().min(1).max(100).describe('the operator username for B2C and queries'),
    initiatorPassword: secret(4)
      .optional()
      .describe('the initiator password, if the security credential is to be derived'),
    securityCredential: z
      .string()
      .max(SECURITY_CREDENTIAL_LENGTH_MAX)
      .regex(
        /^[A-Za-z0-9+/]+={0,2}$/,
        'must be base64 (the initiator password encrypted with Safaricom’s certificate)',
      )
      .optional(),
    environment: z.enum(['sandbox', 'production']),
  })
  .refine((value) => value.initiatorPassword !== undefined || value.securityCredential !== undefined, {
    message: 'give initiatorPassword or securityCredential (or both)',
    path: ['initiatorPassword'],
  });

export const stripeCredentials = z.strictObject({
  secretKey: z
    .string()
    .max(SECRET_LENGTH_MAX)
    .regex(
      /^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$/,
      'must be a Stripe secret or restricted key (sk_live_…, sk_test_…, rk_…)',
    ),
  webhookSigningSecret: z
    .string()
    .max(SECRET_LENGTH_MAX)
    .regex(/^whsec_[A-Za-z0-9_+/=-]{8,}$/, 'must be a webhook signing secret (whsec_…)'),
});

export const plaidCredentials = z.strictObject({
  clientId: z.string().regex(/^[A-Za-z0-9]{8,64}$/, 'must be 8 to 64 letters and digits'),
  secret: z.string().regex(/^[A-Za-z0-9]{16,128}$/, 'must be 16 to 128 letters and digits'),
  environment: z.enum(['sandbox', 'production']),
});

export const alpacaCredentials = z.strictObject({
  keyId: z
    .string()
    .regex(/^[A-Z0-9]{12,64}$/, 'must be 12 to 64 capital letters and digits (APCA-API-KEY-ID)'),
  secretKey: z.string().regex(/^[A-Za-z0-9]{24,128}$/, 'must be 24 to 128 letters and digits'),
  environment: z.enum(['paper', 'live']),
});

export type MpesaCredentials = z.infer<typeof mpesaCredentials>;
export type StripeCredentials = z.infer<typeof stripeCredentials>;
export type PlaidCredentials = z.infer<typeof plaidCredentials>;
export type AlpacaCredentials = z.infer<typeof alpacaCredentials>;

export interface CredentialsByProvider {
  readonly mpesa: MpesaCredentials;
  readonly stripe: StripeCredentials;
  readonly plaid: PlaidCredentials;
  readonly alpaca: AlpacaCredentials;
}

export type CredentialsOf<P extends Provider> = CredentialsByProvider[P];

/** A provider with its credentials, each typed by the provider. */
export type ProviderCredentials = {
  [P in Provider]: { readonly provider: P; readonly credentials: CredentialsOf<P> };
}[Provider];

export const PROVIDER_SCHEMAS: { readonly [P in Provider]: z.ZodType<CredentialsOf<P>> } = {
  mpesa: mpesaCredentials,
  stripe: stripeCredentials,
  plaid: plaidCredentials,
  alpaca: alpacaCredentials,
};

/**
 * The field whose last characters a read-back shows: the one an operator finds on the
 * provider's dashboard to tell keys apart (Daraja shows the consumer key, Plaid the client id,
 * Alpaca the key id, Stripe the last four of the secret key).
 */
export const LAST_CHARS_FIELD: { readonly [P in Provider]: keyof CredentialsOf<P> & string } = {
  mpesa: 'consumerKey',
  stripe: 'secretKey',
  plaid: 'clientId',
  alpaca: 'keyId',
};

/** Not secret: where the credentials work. Stripe's is in the key itself. */
export function environmentOf(value: ProviderCredentials): string {
  switch (value.provider) {
    case 'stripe':
      return value.credentials.secretKey.includes('_live_') ? 'live' : 'test';
    case 'mpesa':
    case 'plaid':
    case 'alpaca':
      return value.credentials.environment;
  }
}

export function lastCharsOf(value: ProviderCredentials): { field: string; chars: string } {
  const field = LAST_CHARS_FIELD[value.provider];
  const text = (value.credentials as Readonly<Record<string, string>>)[field] ?? '';
  return { field, chars: text.slice(-LAST_CHARS) };
}

/** Holds only when `T` can be given where `U` is expected. */
type Fits<T extends U, U> = T;
/** The payment adapters take exactly what the vault answers: a change on either side fails here. */
export type VaultAnswersFitAdapters = [
  Fits<MpesaCredentials, AdapterMpesaCredentials>,
  Fits<StripeCredentials, AdapterStripeCredentials>,
];
