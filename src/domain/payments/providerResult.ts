/**
 * What a provider call returns. Expected failures are values, not exceptions (a declined card
 * or an unreachable gateway is part of the job); an exception from a port is a bug. Every
 * message is the provider's text or ours, scrubbed of credentials and tokens.
 */

export type CardDeclineReason =
  | 'generic_decline'
  | 'insufficient_funds'
  | 'lost_card'
  | 'stolen_card'
  | 'expired_card'
  | 'incorrect_cvc'
  | 'processing_error'
  | 'fraudulent'
  | 'authentication_required'
  | 'other';

export type ProviderFailure =
  /** The provider refused the request as invalid; nothing happened. `field` names the culprit when known. */
  | {
      readonly kind: 'rejected';
      readonly providerCode: string;
      readonly message: string;
      readonly field?: string;
      readonly httpStatus?: number;
    }
  /** The organization's credentials were refused (bad keys, wrong environment); nothing happened. */
  | { readonly kind: 'unauthorized'; readonly providerCode: string; readonly message: string }
  /** The card issuer declined; nothing was charged. `paymentId` names the failed attempt if one exists. */
  | {
      readonly kind: 'declined';
      readonly reason: CardDeclineReason;
      readonly providerCode: string;
      readonly message: string;
      readonly paymentId?: string;
    }
  /** The idempotency key was used with other parameters, or a request with it is still running. */
  | { readonly kind: 'conflict'; readonly providerCode: string; readonly message: string }
  /** The provider asks us to slow down; nothing happened. */
  | { readonly kind: 'rate_limited'; readonly message: string; readonly retryAfterSeconds?: number }
  /**
   * No usable answer: a timeout, a dropped connection, a 5xx, or an answer we cannot read.
   * `mayHaveHappened` is true when the request may have reached the provider and moved money:
   * the outcome is then unknown and must be settled by a query or a callback, never by
   * sending the same money-moving request again (except, for Stripe, with the same
   * idempotency key).
   */
  | { readonly kind: 'unavailable'; readonly message: string; readonly mayHaveHappened: boolean };

export type ProviderResult<Value> =
  { readonly ok: true; readonly value: Value } | { readonly ok: false; readonly failure: ProviderFailure };

export function succeeded<Value>(value: Value): ProviderResult<Value> {
  return { ok: true, value };
}

export function failed<Value = never>(failure: ProviderFailure): ProviderResult<Value> {
  return { ok: false, failure };
}
