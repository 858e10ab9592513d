/**
 * What the payment commands need beyond the spine: the provider ports (simulators or the real
 * adapters) and the organization's callback URLs. A callback URL carries a secret token, an
 * HMAC of the organization id under the platform's signing secret: nothing to store, nothing
 * to look up, and a token for one organization is worthless for another.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PaymentProviders } from '../../adapters/providers/paymentProviders.js';

export interface CallbackUrls {
  /** The base URL providers reach this platform at; set once the server listens, if not configured. */
  setPublicUrl(url: string): void;
  /**
   * The organization's M-Pesa callback URL. With `paymentId`, the URL also names the payment
   * (`?payment=`): an STK push whose answer was lost has no known CheckoutRequestID, and its
   * callback can only be matched to the payment by what the platform put in the URL.
   */
  mpesaCallbackUrl(orgId: string, paymentId?: string, reversalId?: string): string;
  /** True when `token` is the organization's M-Pesa callback token. */
  verifyMpesaToken(orgId: string, token: string): boolean;
  /** Where the organization's Stripe account sends webhooks (set it in the Stripe dashboard). */
  stripeWebhookUrl(orgId: string): string;
  /** True when `token` is the organization's Stripe webhook token. */
  verifyStripeToken(orgId: string, token: string): boolean;
}

export interface PaymentServices {
  readonly providers: PaymentProviders;
  readonly callbacks: CallbackUrls;
  /** How long a payout's reservation holds the float (PAYOUT_RESERVATION_SECONDS when unset). */
  readonly payoutReservationSeconds?: number;
}

const TOKEN_LENGTH = 32;

export function callbackUrls(secret: Uint8Array, configuredPublicUrl: string | null): CallbackUrls {
  let publicUrl = configuredPublicUrl;
  // One token per organization and purpose: an M-Pesa token opens no Stripe webhook.
  const tokenFor = (purpose: string, orgId: string): string =>
    createHmac('sha256', secret).update(`${purpose}\n${orgId}`).digest('base64url').slice(0, TOKEN_LENGTH);
  const tokenOf = (orgId: string): string => tokenFor('mpesa-callback', orgId);
  const matches = (expectedToken: string, token: string): boolean => {
    const expected = Buffer.from(expectedToken);
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  return {
    setPublicUrl(url) {
      publicUrl ??= url.replace(/\/+$/, '');
    },
    mpesaCallbackUrl(orgId, paymentId, reversalId) {
      if (publicUrl === null) throw new Error('the public URL is not known before the server listens');
      const base = `${publicUrl}/callbacks/mpesa/${orgId}/${tokenOf(orgId)}`;
      if (paymentId === undefined) return base;
      const reversal = reversalId === undefined ? '' : `&reversal=${encodeURIComponent(reversalId)}`;
      return `${base}?payment=${encodeURIComponent(paymentId)}${reversal}`;
    },
    verifyMpesaToken(orgId, token) {
      return matches(tokenOf(orgId), token);
    },
    stripeWebhookUrl(orgId) {
      if (publicUrl === null) throw new Error('the public URL is not known before the server listens');
      return `${publicUrl}/webhooks/stripe/${orgId}/${tokenFor('stripe-webhook', orgId)}`;
    },
    verifyStripeToken(orgId, token) {
      return matches(tokenFor('stripe-webhook', orgId), token);
    },
  };
}
