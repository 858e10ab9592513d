/**
 * Reading Stripe's JSON objects (PROVIDERS.md §2) into the port's types: PaymentIntents,
 * PaymentMethods (brand, last 4 and expiry only — nothing else of the card is kept), Refunds
 * and the error envelope. Amounts are integers in minor units, read into bigints.
 */
import { isAmountProblem } from '../../../domain/ledger/money.js';
import { parseStripeInteger } from '../../../domain/payments/cardAmount.js';
import type {
  CardPayment,
  CardPaymentMethod,
  CardPaymentStatus,
  CardRefund,
} from '../../../domain/payments/cardProcessor.js';
import type { CardDeclineReason } from '../../../domain/payments/providerResult.js';

type JsonObject = Readonly<Record<string, unknown>>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class UnreadableObject extends Error {
  override readonly name = 'UnreadableObject';
}

const PAYMENT_STATUSES: ReadonlySet<string> = new Set<CardPaymentStatus>([
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'succeeded',
  'canceled',
]);
const REFUND_STATUSES: ReadonlySet<string> = new Set<CardRefund['status']>([
  'pending',
  'requires_action',
  'succeeded',
  'failed',
  'canceled',
]);

function string(object: JsonObject, key: string, what: string): string {
  const value = object[key];
  if (typeof value !== 'string' || value.length === 0)
    throw new UnreadableObject(`${what}.${key} is missing`);
  return value;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function integer(object: JsonObject, key: string, what: string, fallback?: bigint): bigint {
  const value = object[key];
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  const parsed = parseStripeInteger(value);
  if (isAmountProblem(parsed)) throw new UnreadableObject(`${what}.${key} ${parsed.reason}`);
  return parsed;
}

/** An id given either as the id itself or as the expanded object. */
function idOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value)) return optionalString(value.id);
  return undefined;
}

function metadata(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (!isObject(value)) return result;
  for (const [key, item] of Object.entries(value)) if (typeof item === 'string') result[key] = item;
  return result;
}

export function readPaymentIntent(body: unknown): CardPayment {
  if (!isObject(body)) throw new UnreadableObject('the PaymentIntent is not an object');
  const what = 'payment_intent';
  const status = string(body, 'status', what);
  if (!PAYMENT_STATUSES.has(status)) throw new UnreadableObject(`${what}.status "${status}" is not known`);
  const paymentMethodId = idOf(body.payment_method);
  return {
    id: string(body, 'id', what),
    status: status as CardPaymentStatus,
    amount: integer(body, 'amount', what),
    amountCapturable: integer(body, 'amount_capturable', what, 0n),
    amountReceived: integer(body, 'amount_received', what, 0n),
    currency: string(body, 'currency', what).toLowerCase(),
    captureMethod: body.capture_method === 'manual' ? 'manual' : 'automatic',
    ...(paymentMethodId === undefined ? {} : { paymentMethodId }),
    metadata: metadata(body.metadata),
  };
}

export function readPaymentMethod(body: unknown): CardPaymentMethod {
  if (!isObject(body)) throw new UnreadableObject('the PaymentMethod is not an object');
  const card = body.card;
  if (!isObject(card)) throw new UnreadableObject('payment_method.card is missing');
  const last4 = string(card, 'last4', 'payment_method.card');
  if (!/^\d{4}$/.test(last4)) throw new UnreadableObject('payment_method.card.last4 is not 4 digits');
  const expMonth = Number(integer(card, 'exp_month', 'payment_method.card'));
  const expYear = Number(integer(card, 'exp_year', 'payment_method.card'));
  if (expMonth < 1 || expMonth > 12)
    throw new UnreadableObject('payment_method.card.exp_month is not a month');
  const funding = optionalString(card.funding);
  return {
    id: string(body, 'id', 'payment_method'),
    brand: string(card, 'brand', 'payment_method.card'),
    last4,
    expMonth,
    expYear,
    ...(funding === undefined ? {} : { funding }),
  };
}

export function readRefund(body: unknown): CardRefund {
  if (!isObject(body)) throw new UnreadableObject('the Refund is not an object');
  const what = 'refund';
  const status = string(body, 'status', what);
  if (!REFUND_STATUSES.has(status)) throw new UnreadableObject(`${what}.status "${status}" is not known`);
  const paymentId = idOf(body.payment_intent);
  if (paymentId === undefined) throw new UnreadableObject(`${what}.payment_intent is missing`);
  const reason = optionalString(body.reason);
  const failureReason = optionalString(body.failure_reason);
  return {
    id: string(body, 'id', what),
    paymentId,
    amount: integer(body, 'amount', what),
    currency: string(body, 'currency', what).toLowerCase(),
    status: status as CardRefund['status'],
    ...(reason === undefined ? {} : { reason }),
    ...(failureReason === undefined ? {} : { failureReason }),
  };
}

/** Stripe's `{"error":{…}}`. */
export interface StripeErrorBody {
  readonly type: string;
  readonly code?: string;
  readonly declineCode?: string;
  readonly message: string;
  readonly param?: string;
  readonly paymentIntentId?: string;
}

export function readStripeError(body: unknown): StripeErrorBody | undefined {
  if (!isObject(body) || !isObject(body.error)) return undefined;
  const error = body.error;
  const code = optionalString(error.code);
  const declineCode = optionalString(error.decline_code);
  const param = optionalString(error.param);
  const paymentIntentId = idOf(error.payment_intent);
  return {
    type: optionalString(error.type) ?? 'api_error',
    message: optionalString(error.message) ?? '',
    ...(code === undefined ? {} : { code }),
    ...(declineCode === undefined ? {} : { declineCode }),
    ...(param === undefined ? {} : { param }),
    ...(paymentIntentId === undefined ? {} : { paymentIntentId }),
  };
}

const DECLINE_REASONS: Readonly<Record<string, CardDeclineReason>> = {
  generic_decline: 'generic_decline',
  card_declined: 'generic_decline',
  do_not_honor: 'generic_decline',
  insufficient_funds: 'insufficient_funds',
  lost_card: 'lost_card',
  stolen_card: 'stolen_card',
  expired_card: 'expired_card',
  incorrect_cvc: 'incorrect_cvc',
  invalid_cvc: 'incorrect_cvc',
  processing_error: 'processing_error',
  fraudulent: 'fraudulent',
  authentication_required: 'authentication_required',
};

/** The most specific reason Stripe gave: the decline code first, then the error code. */
export function declineReason(error: {
  readonly code?: string;
  readonly declineCode?: string;
}): CardDeclineReason {
  return (
    (error.declineCode === undefined ? undefined : DECLINE_REASONS[error.declineCode]) ??
    (error.code === undefined ? undefined : DECLINE_REASONS[error.code]) ??
    'other'
  );
}
