/**
 * Asking the card processor again about a card payment or refund whose outcome is unknown —
 * left `processing` with no webhook yet, or whose answer was lost. Never a second charge or
 * refund: a payment with a PaymentIntent is retrieved (safe to repeat); one whose creation
 * answer was lost, and a refund, are asked with the same idempotency key and the same request,
 * so the processor replays its first answer (or does, once, what was asked). Stripe keeps a key
 * 24 hours, far longer than the resolver's bounded asks at any allowed setting of its knobs.
 */
import { LedgerlineError } from '../../domain/errors.js';
import { formatAmount } from '../../domain/ledger/money.js';
import { stripeCurrency } from '../../domain/payments/cardAmount.js';
import type { CardRefund, RefundRequest } from '../../domain/payments/cardProcessor.js';
import type { ProviderResult } from '../../domain/payments/providerResult.js';
import type { PaymentIntent, PaymentState } from '../../domain/payments/payment.js';
import type { CommandContext } from '../context.js';
import {
  cardUnits,
  recordCharge,
  recordOnPayment,
  recordRefundOutcome,
  refundKey,
  stripeCredentials,
  submitCardPayment,
} from './cardsFlow.js';
import { loadPayment } from './paymentStream.js';

type Outcome = 'pending' | 'succeeded' | 'failed';

function outcomeOf(state: PaymentState): Outcome {
  return state.status === 'succeeded' ? 'succeeded' : state.status === 'failed' ? 'failed' : 'pending';
}

/**
 * Asks about a card payment still `initiated` or `pending` and records what it learnt. With
 * `record`, the ask itself is recorded on the payment (RecordStatusQuery: the resolver's count);
 * a read (get_payment) asks without recording.
 */
export async function askAboutCardPayment(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  record: boolean,
): Promise<{ state: PaymentState; unknownOutcome: string | null }> {
  const state = await loadPayment(context, orgId, paymentId);
  const intent = state.intent;
  if (intent?.kind !== 'card_payment') {
    throw new LedgerlineError('NOT_FOUND', 'No such card payment.', { paymentId });
  }
  if (state.status !== 'initiated' && state.status !== 'pending') return { state, unknownOutcome: null };
  let after: PaymentState;
  let unknownOutcome: string | null = null;
  let note = 'The processor still has the payment processing.';
  if (state.providerRef === null) {
    // The creation's answer was lost: only the same key may ask (it replays, or charges once).
    const submission = await submitCardPayment(context, orgId, paymentId, true);
    after = submission.state;
    unknownOutcome = submission.unknownOutcome;
    if (unknownOutcome !== null) note = unknownOutcome;
  } else {
    const credentials = await stripeCredentials(context.services, orgId);
    const answer = await context.services.payments.providers.cards.getPayment(credentials, state.providerRef);
    if (answer.ok && belongsTo(answer.value, intent, state.providerRef)) {
      after = await recordCharge(context, orgId, intent, answer.value);
    } else {
      after = state;
      unknownOutcome = answer.ok
        ? 'the processor answered about another PaymentIntent'
        : answer.failure.message;
      note = unknownOutcome;
    }
  }
  if (record) {
    const outcome = outcomeOf(after);
    await recordOnPayment(context, orgId, paymentId, {
      type: 'RecordStatusQuery',
      outcome,
      resultCode: outcome === 'pending' ? 'processing' : outcome,
      resultText: outcome === 'pending' ? note : `The processor answered ${outcome}.`,
    });
  }
  return { state: await loadPayment(context, orgId, paymentId), unknownOutcome };
}

function belongsTo(
  charge: { readonly id: string; readonly amount: bigint; readonly currency: string },
  intent: PaymentIntent,
  providerRef: string,
): boolean {
  const stripe = stripeCurrency(intent.currency) as string;
  return (
    charge.id === providerRef &&
    charge.currency === stripe &&
    charge.amount === cardUnits(intent.amount, intent.scale, stripe).stripeAmount
  );
}

/**
 * The refund request for a refund of the payment: process_refund sends it, the resolver sends
 * it again; the processor replays its first answer only for the same key and the same request.
 */
export function refundRequest(
  state: PaymentState,
  intent: PaymentIntent,
  refundId: string,
  amount: string,
): RefundRequest {
  const stripe = stripeCurrency(intent.currency) as string;
  return {
    paymentId: state.providerRef ?? state.receipt ?? '',
    amount: cardUnits(amount, intent.scale, stripe).stripeAmount,
    reason: 'requested_by_customer',
    metadata: { paymentId: intent.paymentId, refundId },
    idempotencyKey: refundKey(refundId),
  };
}

/**
 * Applies the processor's answer to a refund: succeeded → reversed on the ledger once; failed
 * or canceled, or a definite refusal → failed; pending or needing action on the processor's
 * side (a pending refund can still fail), no answer, or one that may change (rate limited,
 * unavailable, conflict) → still requested, its amount held back, until the webhook or the
 * follow-up brings the outcome. Answers the failure recorded, if any, and whether the outcome
 * is still unknown.
 */
export async function applyRefundAnswer(
  context: CommandContext,
  orgId: string,
  state: PaymentState,
  refundId: string,
  amount: string,
  answer: ProviderResult<CardRefund>,
): Promise<{ failure: { code: string; message: string } | null; unknown: boolean }> {
  const paymentId = state.intent?.paymentId ?? '';
  const asked = { paymentId, refundId, amount, saleTransferId: state.transferId };
  if (answer.ok && answer.value.status === 'succeeded') {
    await recordRefundOutcome(context, orgId, asked, { outcome: 'succeeded', providerRef: answer.value.id });
    return { failure: null, unknown: false };
  }
  if (answer.ok && (answer.value.status === 'pending' || answer.value.status === 'requires_action'))
    return { failure: null, unknown: true };
  if (!answer.ok && answer.failure.kind === 'unavailable' && answer.failure.mayHaveHappened)
    return { failure: null, unknown: true };
  const failure = answer.ok
    ? { code: answer.value.status, message: answer.value.failureReason ?? 'The refund failed.' }
    : { code: answer.failure.kind, message: answer.failure.message };
  await recordRefundOutcome(context, orgId, asked, { outcome: 'failed', ...failure });
  return { failure, unknown: false };
}

/** Asks again about a refund still requested (its answer was lost) and records the ask. */
export async function askAboutCardRefund(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  refundId: string,
): Promise<void> {
  const state = await loadPayment(context, orgId, paymentId);
  const intent = state.intent;
  const refund = state.reversals.find((reversal) => reversal.reversalId === refundId);
  if (intent?.kind !== 'card_payment' || refund?.status !== 'requested') return;
  const amount = formatAmount(refund.amount, intent.scale);
  const credentials = await stripeCredentials(context.services, orgId);
  const answer = await context.services.payments.providers.cards.refund(
    credentials,
    refundRequest(state, intent, refundId, amount),
  );
  // Asked again, no answer yet (or one that may still change): the refund stays requested.
  const transient =
    !answer.ok &&
    (answer.failure.kind === 'unavailable' ||
      answer.failure.kind === 'rate_limited' ||
      answer.failure.kind === 'conflict' ||
      answer.failure.kind === 'unauthorized');
  if (!transient) await applyRefundAnswer(context, orgId, state, refundId, amount, answer);
  const after = await loadPayment(context, orgId, paymentId);
  const status = after.reversals.find((reversal) => reversal.reversalId === refundId)?.status;
  const outcome: Outcome = status === 'succeeded' ? 'succeeded' : status === 'failed' ? 'failed' : 'pending';
  await recordOnPayment(context, orgId, paymentId, {
    type: 'RecordStatusQuery',
    reversalId: refundId,
    outcome,
    resultCode: answer.ok ? answer.value.status : answer.failure.kind,
    resultText: answer.ok ? `The processor answered ${answer.value.status}.` : answer.failure.message,
  });
  if (!answer.ok && answer.failure.kind === 'conflict') {
    context.services.log.error(
      { orgId, paymentId, refundId },
      'the card processor refused a refund key reused',
    );
  }
}
