/**
 * Stripe webhooks for one organization (`/webhooks/stripe/{orgId}/{secretToken}`): verified
 * on the raw bytes with the organization's own `whsec_…` secret, kept once per event id as an
 * event for audit (without secrets), then applied to the card payment they name — a payment
 * still waiting for its outcome (`processing`, or an answer that was lost). Stripe delivers at
 * least once: a repeated event id is kept once and applied again, which changes nothing once
 * the payment has its outcome — and applies it if the first delivery failed before it did. An event this organization's payments do
 * not know (another organization's, an unknown payment, a type the card flow never waits on)
 * is kept and logged, and changes nothing.
 */
import type { EventMetadata } from '../../adapters/eventstore/port.js';
import { readStripeEvent, type StripeEvent } from '../../adapters/providers/stripe/webhook.js';
import { readPaymentIntent, readRefund } from '../../adapters/providers/stripe/wire.js';
import { ConcurrencyError, LedgerlineError } from '../../domain/errors.js';
import type { CardPayment, CardRefund } from '../../domain/payments/cardProcessor.js';
import { formatAmount } from '../../domain/ledger/money.js';
import { stripeCurrency } from '../../domain/payments/cardAmount.js';
import { streamName } from '../../domain/streamName.js';
import type { CommandContext, Services } from '../context.js';
import {
  cardUnits,
  recordCharge,
  recordChargeAfterFailure,
  recordRefundOutcome,
  stripeCredentials,
} from './cardsFlow.js';
import { raiseReconciliationAlert, systemContext } from './mpesaFlows.js';
import { loadPayment } from './paymentStream.js';

export type WebhookVerdict = 'applied' | 'duplicate' | 'ignored' | 'refused';

/** Event types the card flow can be waiting on; others are kept for audit only. */
export const APPLIED_EVENT_TYPES = [
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'charge.refunded',
  'charge.refund.updated',
  'refund.updated',
] as const;
/** Refunds read from one `charge.refunded` event, at most (Stripe lists ten by default). */
const REFUNDS_PER_EVENT_MAX = 100;
/** Object keys never kept in the audit copy (Stripe puts the client secret in PaymentIntents). */
const SECRET_KEY = /secret|password|token|^card$|^source$/i;
/** Nesting of the audit copy, at most: a Stripe object is a few levels deep. */
const AUDIT_DEPTH_MAX = 8;

function stripeMetadata(requestId: string): EventMetadata {
  return {
    actor: { kind: 'provider', id: 'stripe' },
    channel: { kind: 'callback' },
    correlationId: requestId,
    causationId: requestId,
    requestId,
    idempotencyKey: null,
  };
}

export function stripeEventStream(orgId: string, eventId: string): string {
  return streamName(orgId, 'stripe_event', eventId.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 120));
}

/** The event without anything secret-shaped: what is kept for audit. */
function auditCopy(value: unknown, depth = 0): unknown {
  if (depth > AUDIT_DEPTH_MAX) return '[deeper]';
  if (Array.isArray(value)) return value.map((item) => auditCopy(item, depth + 1));
  if (typeof value === 'string') return /^(whsec|sk|rk)_|_secret_/.test(value) ? '[redacted]' : value;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([key]) => !SECRET_KEY.test(key))
      .map(([key, inner]) => [key, auditCopy(inner, depth + 1)]),
  );
}

/**
 * Verifies and applies one delivery. `refused` is a signature (or secret) that does not check:
 * the route answers 400 and nothing is written.
 */
export async function handleStripeWebhook(
  services: Services,
  orgId: string,
  rawBody: Buffer,
  signature: string | undefined,
  requestId: string,
): Promise<{ verdict: WebhookVerdict; reason: string }> {
  let secret: string;
  try {
    secret = (await stripeCredentials(services, orgId)).webhookSigningSecret;
  } catch (error) {
    if (!(error instanceof LedgerlineError)) throw error;
    return { verdict: 'refused', reason: 'the organization has no usable Stripe credentials' };
  }
  const read = readStripeEvent(rawBody, signature, secret, Math.floor(services.clock().getTime() / 1000));
  if (!read.ok) return { verdict: 'refused', reason: read.reason };
  const event = read.event;
  const metadata = stripeMetadata(requestId);
  let duplicate = false;
  try {
    await services.store.append(
      stripeEventStream(orgId, event.id),
      [
        {
          type: 'StripeWebhookReceived',
          data: {
            eventId: event.id,
            type: event.type,
            created: event.created,
            livemode: event.livemode,
            object: auditCopy(event.object) as never,
          },
          metadata,
          occurredAt: services.clock(),
        },
      ],
      'no_stream',
    );
  } catch (error) {
    if (!(error instanceof ConcurrencyError)) throw error;
    // Already kept: delivered before — but perhaps never applied (the first delivery failed
    // after keeping it, and Stripe retries exactly then). Applied again: applying is
    // idempotent by the payment's state (a payment or refund already settled changes nothing).
    duplicate = true;
  }
  const context = systemContext(services, requestId, 'callback');
  const reason = await apply(context, orgId, event, metadata);
  if (reason === null) return { verdict: 'applied', reason: duplicate ? 'applied on redelivery' : 'applied' };
  return duplicate
    ? { verdict: 'duplicate', reason: `event already received; ${reason}` }
    : { verdict: 'ignored', reason };
}

/** Applies the event; answers why it changed nothing, or null when it was applied. */
async function apply(
  context: CommandContext,
  orgId: string,
  event: StripeEvent,
  metadata: EventMetadata,
): Promise<string | null> {
  if (!(APPLIED_EVENT_TYPES as readonly string[]).includes(event.type))
    return `type ${event.type} is not applied`;
  if (event.type === 'charge.refunded')
    return applyRefunds(context, orgId, chargeRefunds(event.object), metadata);
  if (event.type !== 'payment_intent.succeeded' && event.type !== 'payment_intent.payment_failed')
    return applyRefunds(context, orgId, [event.object], metadata);
  let charge: CardPayment;
  try {
    charge = readPaymentIntent(event.object);
  } catch {
    return 'the PaymentIntent could not be read';
  }
  const paymentId = charge.metadata['paymentId'];
  if (paymentId === undefined || !/^pay_[0-9A-Z]{26}$/.test(paymentId))
    return 'no payment id in its metadata';
  if (charge.metadata['orgId'] !== undefined && charge.metadata['orgId'] !== orgId)
    return 'the PaymentIntent belongs to another organization';
  // Another organization's payment id is simply not in this organization's streams.
  const state = await loadPayment(context, orgId, paymentId);
  const intent = state.intent;
  if (intent?.kind !== 'card_payment') return 'no such card payment';
  // A failed payment can still succeed: its PaymentIntent may be confirmed again.
  const afterFailure = state.status === 'failed' && event.type === 'payment_intent.succeeded';
  if (state.status !== 'initiated' && state.status !== 'pending' && !afterFailure)
    return `the payment is already ${String(state.status)}`;
  if (state.providerRef !== null && state.providerRef !== charge.id)
    return 'the PaymentIntent is not this payment’s';
  const stripe = stripeCurrency(intent.currency) as string;
  if (
    charge.currency !== stripe ||
    charge.amount !== cardUnits(intent.amount, intent.scale, stripe).stripeAmount
  )
    return 'the PaymentIntent’s amount or currency is not the payment’s';
  if (event.type === 'payment_intent.succeeded') {
    if (charge.status !== 'succeeded') return `a succeeded event with status ${charge.status}`;
    if (afterFailure) {
      const transferId = await recordChargeAfterFailure(context, orgId, intent, charge, metadata);
      context.services.log.warn(
        { orgId, paymentId, transferId },
        'a card payment recorded failed was charged after all; raised for reconciliation',
      );
      await raiseReconciliationAlert(
        context,
        orgId,
        paymentId,
        'card_succeeded_after_failure',
        transferId,
        transferId === null
          ? `Stripe charged PaymentIntent ${charge.id} after the payment was recorded failed, and the ledger refused the sale: post it by hand.`
          : `Stripe charged PaymentIntent ${charge.id} after the payment was recorded failed; the sale is posted as ${transferId}.`,
        metadata,
      );
      return null;
    }
    await recordCharge(context, orgId, intent, charge, undefined, metadata);
    return null;
  }
  const failure = lastPaymentError(event.object);
  await recordCharge(
    context,
    orgId,
    intent,
    { ...charge, status: 'requires_payment_method' },
    failure,
    metadata,
  );
  return null;
}

/** `last_payment_error`'s decline code (or code) and message, when Stripe sent them. */
function lastPaymentError(object: unknown): { code: string; message: string } {
  const error =
    typeof object === 'object' && object !== null
      ? (object as Record<string, unknown>)['last_payment_error']
      : undefined;
  const fields = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const code = [fields['decline_code'], fields['code']].find((value) => typeof value === 'string');
  const message = fields['message'];
  return {
    code: typeof code === 'string' ? code.slice(0, 100) : 'payment_failed',
    message:
      typeof message === 'string' ? message.slice(0, 500) : 'The processor reported the payment failed.',
  };
}

/** The refunds a Charge lists (`refunds.data`; absent in newer API versions unless expanded). */
function chargeRefunds(object: unknown): unknown[] {
  const refunds = isRecord(object) ? object['refunds'] : undefined;
  const data = isRecord(refunds) ? refunds['data'] : undefined;
  return Array.isArray(data) ? data.slice(0, REFUNDS_PER_EVENT_MAX) : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Refunds whose outcome the payment is still waiting for (their answer was lost): each names
 * its payment and refund in the metadata process_refund sent; it is applied only to that
 * refund, still requested, of this organization's card payment, for the same PaymentIntent and
 * amount. Answers why nothing was applied, or null when at least one was.
 */
async function applyRefunds(
  context: CommandContext,
  orgId: string,
  objects: readonly unknown[],
  metadata: EventMetadata,
): Promise<string | null> {
  let why = 'no refund in the event';
  let applied = false;
  for (const object of objects) {
    const problem = await applyRefund(context, orgId, object, metadata);
    if (problem === null) applied = true;
    else why = problem;
  }
  return applied ? null : why;
}

async function applyRefund(
  context: CommandContext,
  orgId: string,
  object: unknown,
  metadata: EventMetadata,
): Promise<string | null> {
  let refund: CardRefund;
  try {
    refund = readRefund(object);
  } catch {
    return 'the Refund could not be read';
  }
  const tags = isRecord(object) && isRecord(object['metadata']) ? object['metadata'] : {};
  const paymentId = tags['paymentId'];
  const refundId = tags['refundId'];
  if (typeof paymentId !== 'string' || !/^pay_[0-9A-Z]{26}$/.test(paymentId) || typeof refundId !== 'string')
    return 'no payment or refund id in its metadata';
  const state = await loadPayment(context, orgId, paymentId);
  const intent = state.intent;
  if (intent?.kind !== 'card_payment') return 'no such card payment';
  const asked = state.reversals.find((reversal) => reversal.reversalId === refundId);
  if (asked?.status !== 'requested') return 'no such refund waiting for its outcome';
  if (state.providerRef !== refund.paymentId) return 'the Refund is not of this payment’s PaymentIntent';
  const stripe = stripeCurrency(intent.currency) as string;
  const amount = formatAmount(asked.amount, intent.scale);
  if (refund.currency !== stripe || refund.amount !== cardUnits(amount, intent.scale, stripe).stripeAmount)
    return 'the Refund’s amount or currency is not the refund’s';
  if (refund.status === 'requires_action') return 'the Refund still requires action';
  // Pending can still end failed: nothing is reversed until the processor says succeeded.
  if (refund.status === 'pending') return 'the Refund is still pending';
  const target = { paymentId, refundId, amount, saleTransferId: state.transferId };
  await recordRefundOutcome(
    context,
    orgId,
    target,
    refund.status === 'failed' || refund.status === 'canceled'
      ? { outcome: 'failed', code: refund.status, message: refund.failureReason ?? 'The refund failed.' }
      : { outcome: 'succeeded', providerRef: refund.id },
    metadata,
  );
  return null;
}
