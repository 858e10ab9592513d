/**
 * The real card adapter: Stripe's REST API (PROVIDERS.md §2), implementing `CardProcessor`.
 * Form-encoded bodies, the secret key as a bearer token, every POST with the caller's
 * `Idempotency-Key`. Reads (`getPayment`) are retried a bounded number of times on lost
 * answers, 429 and 5xx; POSTs are sent once — after a lost answer the caller repeats the
 * command with the same idempotency key and Stripe replays its first answer.
 *
 * Nothing here logs; failure messages are scrubbed of the secret key and signing secret.
 */
import {
  IDEMPOTENCY_KEY_LENGTH_MAX,
  type CancelPaymentRequest,
  type CapturePaymentRequest,
  type CardPayment,
  type CardPaymentMethod,
  type CardProcessor,
  type CardRefund,
  type CreatePaymentMethodRequest,
  type CreatePaymentRequest,
  type RefundRequest,
} from '../../../domain/payments/cardProcessor.js';
import { stripeSecrets, type StripeCredentials } from '../../../domain/payments/credentials.js';
import {
  failed,
  succeeded,
  type ProviderFailure,
  type ProviderResult,
} from '../../../domain/payments/providerResult.js';
import { backoffMs, realSleep, scrub, sendHttp, type FetchFunction, type Sleep } from '../http.js';
import { formEncode, type FormValue } from './formEncode.js';
import {
  declineReason,
  readPaymentIntent,
  readPaymentMethod,
  readRefund,
  readStripeError,
  UnreadableObject,
} from './wire.js';

export const STRIPE_BASE_URL = 'https://api.stripe.com';
/** Stripe answers in well under a second; a card network may take tens. */
export const STRIPE_REQUEST_TIMEOUT_MS = 60_000;
/** Attempts for reads; POSTs get one. */
export const STRIPE_READ_ATTEMPTS_MAX = 3;
export const STRIPE_RETRY_BACKOFF_BASE_MS = 500;
export const STRIPE_RETRY_BACKOFF_CAP_MS = 4_000;
/** Stripe's own bound on metadata. */
export const METADATA_KEYS_MAX = 50;
const ID = /^[A-Za-z0-9_]{1,255}$/;

export interface StripeOptions {
  readonly baseUrl?: string;
  readonly fetch?: FetchFunction;
  readonly requestTimeoutMs?: number;
  readonly sleep?: Sleep;
  /** Pins `Stripe-Version`; by default the account's version applies. */
  readonly apiVersion?: string;
}

type Method = 'GET' | 'POST';

export class StripeCardProcessor implements CardProcessor {
  private readonly baseUrl: string;
  private readonly fetchFunction: FetchFunction;
  private readonly timeoutMs: number;
  private readonly sleep: Sleep;
  private readonly apiVersion: string | undefined;

  constructor(options: StripeOptions = {}) {
    this.baseUrl = options.baseUrl ?? STRIPE_BASE_URL;
    this.fetchFunction = options.fetch ?? fetch;
    this.timeoutMs = options.requestTimeoutMs ?? STRIPE_REQUEST_TIMEOUT_MS;
    this.sleep = options.sleep ?? realSleep;
    this.apiVersion = options.apiVersion;
  }

  async createPaymentMethod(
    credentials: StripeCredentials,
    request: CreatePaymentMethodRequest,
  ): Promise<ProviderResult<CardPaymentMethod>> {
    if (!ID.test(request.token)) return invalid('token', 'is not a card token');
    const answer = await this.call(
      credentials,
      'POST',
      '/v1/payment_methods',
      { type: 'card', card: { token: request.token } },
      request.idempotencyKey,
    );
    return read(answer, readPaymentMethod);
  }

  async createPayment(
    credentials: StripeCredentials,
    request: CreatePaymentRequest,
  ): Promise<ProviderResult<CardPayment>> {
    if (request.amount <= 0n) return invalid('amount', 'must be greater than zero');
    if (!ID.test(request.paymentMethodId)) return invalid('paymentMethodId', 'is not a payment method id');
    if (Object.keys(request.metadata ?? {}).length > METADATA_KEYS_MAX) {
      return invalid('metadata', `has more than ${METADATA_KEYS_MAX} keys`);
    }
    const answer = await this.call(
      credentials,
      'POST',
      '/v1/payment_intents',
      {
        amount: request.amount,
        currency: request.currency.toLowerCase(),
        payment_method: request.paymentMethodId,
        payment_method_types: ['card'],
        capture_method: request.captureMethod,
        confirm: true,
        description: request.description,
        metadata: request.metadata,
      },
      request.idempotencyKey,
    );
    const payment = read(answer, readPaymentIntent);
    // A failed attempt can also come back as a PaymentIntent returned to requires_payment_method.
    if (payment.ok && payment.value.status === 'requires_payment_method' && answer.ok) {
      const body = answer.value as { last_payment_error?: unknown };
      const error = readStripeError({ error: body.last_payment_error });
      if (error) {
        return failed({
          kind: 'declined',
          reason: declineReason(error),
          providerCode: error.declineCode ?? error.code ?? 'card_declined',
          message: scrub(error.message, stripeSecrets(credentials)),
          paymentId: payment.value.id,
        });
      }
    }
    return payment;
  }

  async capturePayment(
    credentials: StripeCredentials,
    request: CapturePaymentRequest,
  ): Promise<ProviderResult<CardPayment>> {
    if (!ID.test(request.paymentId)) return invalid('paymentId', 'is not a payment id');
    if (request.amount !== undefined && request.amount <= 0n)
      return invalid('amount', 'must be greater than zero');
    const answer = await this.call(
      credentials,
      'POST',
      `/v1/payment_intents/${request.paymentId}/capture`,
      { amount_to_capture: request.amount },
      request.idempotencyKey,
    );
    return read(answer, readPaymentIntent);
  }

  async cancelPayment(
    credentials: StripeCredentials,
    request: CancelPaymentRequest,
  ): Promise<ProviderResult<CardPayment>> {
    if (!ID.test(request.paymentId)) return invalid('paymentId', 'is not a payment id');
    const answer = await this.call(
      credentials,
      'POST',
      `/v1/payment_intents/${request.paymentId}/cancel`,
      { cancellation_reason: request.reason },
      request.idempotencyKey,
    );
    return read(answer, readPaymentIntent);
  }

  async refund(credentials: StripeCredentials, request: RefundRequest): Promise<ProviderResult<CardRefund>> {
    if (!ID.test(request.paymentId)) return invalid('paymentId', 'is not a payment id');
    if (request.amount !== undefined && request.amount <= 0n)
      return invalid('amount', 'must be greater than zero');
    const answer = await this.call(
      credentials,
      'POST',
      '/v1/refunds',
      {
        payment_intent: request.paymentId,
        amount: request.amount,
        reason: request.reason,
        metadata: request.metadata,
      },
      request.idempotencyKey,
    );
    return read(answer, readRefund);
  }

  async getPayment(credentials: StripeCredentials, paymentId: string): Promise<ProviderResult<CardPayment>> {
    if (!ID.test(paymentId)) return invalid('paymentId', 'is not a payment id');
    return read(await this.call(credentials, 'GET', `/v1/payment_intents/${paymentId}`), readPaymentIntent);
  }

  private async call(
    credentials: StripeCredentials,
    method: Method,
    path: string,
    params?: Readonly<Record<string, FormValue>>,
    idempotencyKey?: string,
  ): Promise<ProviderResult<unknown>> {
    if (
      idempotencyKey !== undefined &&
      (idempotencyKey.length === 0 || idempotencyKey.length > IDEMPOTENCY_KEY_LENGTH_MAX)
    ) {
      return invalid('idempotencyKey', `must be 1 to ${IDEMPOTENCY_KEY_LENGTH_MAX} characters`);
    }
    const secrets = stripeSecrets(credentials);
    const headers: Record<string, string> = {
      authorization: `Bearer ${credentials.secretKey}`,
      accept: 'application/json',
      ...(this.apiVersion === undefined ? {} : { 'stripe-version': this.apiVersion }),
      ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
    };
    const body = method === 'POST' ? formEncode(params ?? {}) : undefined;
    const attemptsMax = method === 'GET' ? STRIPE_READ_ATTEMPTS_MAX : 1;
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await sendHttp(this.fetchFunction, {
        method,
        url: `${this.baseUrl}${path}`,
        headers,
        ...(body === undefined ? {} : { body }),
        timeoutMs: this.timeoutMs,
      });
      const retryable = outcome.kind !== 'answered' || outcome.status === 429 || outcome.status >= 500;
      if (retryable && attempt < attemptsMax) {
        await this.sleep(backoffMs(attempt, STRIPE_RETRY_BACKOFF_BASE_MS, STRIPE_RETRY_BACKOFF_CAP_MS));
        continue;
      }
      if (outcome.kind !== 'answered') {
        return failed({
          kind: 'unavailable',
          message: `Stripe: ${scrub(outcome.message, secrets)}`,
          mayHaveHappened: method === 'POST' && outcome.kind === 'no_answer',
        });
      }
      if (outcome.status >= 200 && outcome.status < 300) {
        if (outcome.json === undefined) {
          return failed({
            kind: 'unavailable',
            message: 'Stripe answered without JSON',
            mayHaveHappened: method === 'POST',
          });
        }
        return succeeded(outcome.json);
      }
      const retryAfter = Number(outcome.headers.get('retry-after'));
      return failed(errorFailure(outcome.status, outcome.json, method, secrets, retryAfter));
    }
  }
}

function invalid<Value>(field: string, message: string): ProviderResult<Value> {
  return failed({ kind: 'rejected', providerCode: 'invalid_request', message, field });
}

function read<Value>(
  answer: ProviderResult<unknown>,
  reader: (body: unknown) => Value,
): ProviderResult<Value> {
  if (!answer.ok) return answer;
  try {
    return succeeded(reader(answer.value));
  } catch (error) {
    if (!(error instanceof UnreadableObject)) throw error;
    return failed({
      kind: 'unavailable',
      message: `Stripe's answer could not be read: ${error.message}`,
      mayHaveHappened: true,
    });
  }
}

function errorFailure(
  status: number,
  body: unknown,
  method: Method,
  secrets: readonly string[],
  retryAfterSeconds: number,
): ProviderFailure {
  const error = readStripeError(body);
  const message = scrub(error?.message ?? `HTTP ${status}`, secrets);
  const providerCode = error?.code ?? error?.type ?? `http_${status}`;
  if (error?.type === 'card_error' || status === 402) {
    return {
      kind: 'declined',
      reason: declineReason(error ?? {}),
      providerCode: error?.declineCode ?? providerCode,
      message,
      ...(error?.paymentIntentId === undefined ? {} : { paymentId: error.paymentIntentId }),
    };
  }
  if (error?.type === 'idempotency_error' || status === 409)
    return { kind: 'conflict', providerCode, message };
  if (status === 401 || status === 403) return { kind: 'unauthorized', providerCode, message };
  if (status === 429) {
    return {
      kind: 'rate_limited',
      message,
      ...(Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0 ? { retryAfterSeconds } : {}),
    };
  }
  if (status >= 500 || error?.type === 'api_error') {
    return {
      kind: 'unavailable',
      message: `Stripe ${providerCode}: ${message}`,
      mayHaveHappened: method === 'POST',
    };
  }
  return {
    kind: 'rejected',
    providerCode,
    message,
    httpStatus: status,
    ...(error?.param === undefined ? {} : { field: error.param }),
  };
}
