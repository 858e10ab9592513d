/**
 * The provider credentials an organization keeps in the credential vault (issue 6), as the
 * provider adapters receive them: decrypted, for one call, never stored by the adapter, never
 * logged, never put into an error message. The vault's zod schemas for `mpesa` and `stripe`
 * produce these shapes; the field names are the vault's.
 */

/** Which Daraja deployment the organization's keys belong to. */
export type MpesaEnvironment = 'sandbox' | 'production';

/** Provider `mpesa` (Safaricom Daraja). */
export interface MpesaCredentials {
  /** Daraja app consumer key: the Basic-auth user of the OAuth call. */
  readonly consumerKey: string;
  /** Daraja app consumer secret: the Basic-auth password of the OAuth call. Secret. */
  readonly consumerSecret: string;
  /** Paybill or till (store) number the organization collects into and pays out from. */
  readonly shortcode: string;
  /** Lipa na M-Pesa Online passkey; only ever sent inside the STK password. Secret. */
  readonly passkey: string;
  /** Operator username for the initiator APIs (B2C, status, balance, reversal). */
  readonly initiatorName: string;
  /**
   * The initiator password already encrypted with Safaricom's certificate and base64-encoded
   * (the `SecurityCredential` field, sent as is). Secret. The vault requires this or
   * `initiatorPassword`.
   */
  readonly securityCredential?: string | undefined;
  /**
   * The initiator password in clear; the Daraja adapter encrypts it with Safaricom's
   * certificate for the environment (given to the adapter) when `securityCredential` is absent.
   * Secret.
   */
  readonly initiatorPassword?: string | undefined;
  readonly environment: MpesaEnvironment;
}

/** Provider `stripe`. */
export interface StripeCredentials {
  /** `sk_test_…` / `sk_live_…` (or a restricted `rk_…` key). Secret. */
  readonly secretKey: string;
  /** `whsec_…`: verifies the `Stripe-Signature` header of webhooks. Secret. */
  readonly webhookSigningSecret: string;
}

/** Every secret value of a credentials object: what adapters scrub from any text they report. */
export function mpesaSecrets(credentials: MpesaCredentials): readonly string[] {
  return [
    credentials.consumerSecret,
    credentials.passkey,
    credentials.securityCredential ?? '',
    credentials.initiatorPassword ?? '',
  ].filter((secret) => secret.length > 0);
}

export function stripeSecrets(credentials: StripeCredentials): readonly string[] {
  return [credentials.secretKey, credentials.webhookSigningSecret];
}
