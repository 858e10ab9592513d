/**
 * Cards (SPEC §5.2): save a card from a client-side token, take a payment (fraud-scored first,
 * authorized and captured in one call), refund it in full or in parts.
 */
import { z } from 'zod';
import { customerDecider } from '../../domain/customers/customer.js';
import { LedgerlineError, ValidationError } from '../../domain/errors.js';
import { scoreTransaction } from '../../domain/fraud/score.js';
import { formatAmount, isAmountProblem, parseAmount } from '../../domain/ledger/money.js';
import type { ProviderFailure } from '../../domain/payments/providerResult.js';
import { reversibleUnits } from '../../domain/payments/payment.js';
import { loadAggregate } from '../aggregate.js';
import { defineCommand } from '../catalog.js';
import { customerStream, decideOnCustomer } from '../customers/commands.js';
import * as c from '../customers/schemas.js';
import * as l from '../ledger/schemas.js';
import * as s from '../schemas.js';
import { callerOf } from '../tenancy/organizationStream.js';
import { applyRefundAnswer, refundRequest } from './cardFollowUp.js';
import { cardAsset, cardUnits, stripeCredentials, submitCardPayment } from './cardsFlow.js';
import { fraudHistory } from './fraudHistory.js';
import { decideOnPayment, loadPayment } from './paymentStream.js';
import { loadPaymentView, verdictOutput, type PaymentView } from './paymentViews.js';
import { loadPaymentSettings } from './settings.js';

export const methodId = z.string().regex(/^pm_[0-9A-Z]{26}$/, 'must be a payment method id (pm_…)');
const cardToken = z
  .string()
  .max(255)
  .regex(/^tok_[A-Za-z0-9_]{1,250}$/, 'must be a card token from the client (tok_…), never a card number');
const currency = z.string().regex(/^[A-Za-z]{3}$/, 'must be a 3-letter currency code such as USD');
const description = z.string().trim().max(500);

/** A provider failure outside a payment (saving a card, a refund) as the caller's error. */
export function providerError(failure: ProviderFailure, field: string): LedgerlineError {
  switch (failure.kind) {
    case 'rejected':
      return new ValidationError(field, failure.message);
    case 'declined':
      return new LedgerlineError('PROVIDER_UNAVAILABLE', failure.message, { reason: failure.reason });
    case 'unauthorized':
      return new LedgerlineError(
        'PROVIDER_UNAVAILABLE',
        'The processor refused the organization’s credentials.',
        {
          providerCode: failure.providerCode,
        },
      );
    case 'conflict':
      return new LedgerlineError('INTERNAL', 'The processor saw an idempotency key reused.');
    case 'rate_limited':
    case 'unavailable':
      return new LedgerlineError('PROVIDER_UNAVAILABLE', failure.message);
  }
}

export const addPaymentMethod = defineCommand({
  name: 'add_payment_method',
  title: 'Save a card for a customer',
  description:
    'Saves a card for a customer from a token the card form produced on the client (tok_…; on the simulator tok_visa succeeds, tok_chargeDeclined and tok_chargeDeclinedInsufficientFunds save but decline when charged). Keeps only brand, last 4 and expiry — never a card number. The first card, or one saved with setDefault, is what initiate_payment charges by default. Calls the card processor with the organization’s Stripe credentials (set_provider_credentials first); charges nothing.',
  input: z.strictObject({
    customerId: c.customerId,
    token: cardToken,
    setDefault: z.boolean().default(false),
  }),
  output: z.object({
    customerId: z.string(),
    methodId: z.string(),
    brand: z.string(),
    last4: z.string(),
    expMonth: z.number(),
    expYear: z.number(),
    isDefault: z.boolean(),
  }),
  scope: 'payments:write',
  minRole: 'user',
  audience: 'organization',
  annotations: { openWorldHint: true },
  rest: { method: 'POST', path: '/v1/customers/:customerId/payment-methods', status: 201 },
  async run(input, context) {
    const { orgId } = callerOf(context);
    const customer = await loadAggregate(context, customerStream(orgId, input.customerId), customerDecider);
    if (!customer.state.exists) {
      throw new LedgerlineError('NOT_FOUND', 'No such customer.', { customerId: input.customerId });
    }
    const credentials = await stripeCredentials(context.services, orgId);
    const methodId = context.services.newId('pm');
    const created = await context.services.payments.providers.cards.createPaymentMethod(credentials, {
      token: input.token,
      idempotencyKey: `${methodId}:create`,
    });
    if (!created.ok) throw providerError(created.failure, 'token');
    const card = created.value;
    const isDefault = input.setDefault || customer.state.methods.length === 0;
    const outcome = await decideOnCustomer(context, {
      type: 'AddPaymentMethod',
      customerId: input.customerId,
      method: {
        methodId,
        providerRef: card.id,
        brand: card.brand,
        last4: card.last4,
        expMonth: card.expMonth,
        expYear: card.expYear,
        isDefault,
      },
    });
    return {
      ...outcome,
      output: {
        customerId: input.customerId,
        methodId: outcome.output.methodId ?? methodId,
        brand: card.brand,
        last4: card.last4,
        expMonth: card.expMonth,
        expYear: card.expYear,
        isDefault,
      },
    };
  },
});

const ruleOutput = z.object({ rule: z.string(), points: z.number(), reason: z.string() });

const paymentAnswer = z.object({
  paymentId: z.string(),
  status: z.string(),
  amount: z.string(),
  currency: z.string(),
  fraudScore: z.number(),
  fraudDecision: z.string(),
  rules: z.array(ruleOutput),
  alertId: z.string().nullable(),
  receipt: z.string().nullable(),
  failure: z.object({ code: z.string(), message: z.string() }).nullable(),
  message: z.string(),
});

export const initiatePayment = defineCommand({
  name: 'initiate_payment',
  title: 'Charge a customer’s card',
  description:
    'Charges a customer’s saved card (paymentMethodId, or the customer’s default card) for an amount (a decimal string such as "25.00") in a card currency (USD, EUR, KES, …): the fraud rules score it first — at the review score it is held (status held, with the alert id and the rules that fired) until review_flagged_transaction, at the block score it is refused (status blocked) and the processor is never called. Otherwise it is authorized and captured at once; on success the ledger moves (card settlement asset debited, card sales revenue credited, transfer id = payment id) and status is succeeded; a decline answers status failed with the reason. Moves real money on a live processor. Retry with the same Idempotency-Key, never with a new request: a second request is a second charge.',
  input: z.strictObject({
    customerId: c.customerId,
    paymentMethodId: methodId.optional(),
    amount: l.amount,
    currency,
    description: description.default(''),
    reference: z.string().trim().min(1).max(100).optional(),
  }),
  output: paymentAnswer,
  scope: 'payments:write',
  minRole: 'user',
  audience: 'organization',
  annotations: { openWorldHint: true },
  movesMoney: true,
  approval: { kind: 'transfer', moves: (input) => [{ amount: input.amount, asset: input.currency }] },
  rest: { method: 'POST', path: '/v1/payments', status: 201 },
  async run(input, context) {
    const { orgId } = callerOf(context);
    const { services } = context;
    const asset = await cardAsset(services, orgId, input.currency);
    const { units } = cardUnits(input.amount, asset.scale, asset.stripe);
    const customer = await loadAggregate(context, customerStream(orgId, input.customerId), customerDecider);
    if (!customer.state.exists) {
      throw new LedgerlineError('NOT_FOUND', 'No such customer.', { customerId: input.customerId });
    }
    const method =
      input.paymentMethodId === undefined
        ? customer.state.methods.find((candidate) => candidate.isDefault)
        : customer.state.methods.find((candidate) => candidate.methodId === input.paymentMethodId);
    if (!method) {
      if (input.paymentMethodId !== undefined) {
        throw new LedgerlineError('NOT_FOUND', 'The customer has no such payment method.', {
          paymentMethodId: input.paymentMethodId,
        });
      }
      throw new ValidationError(
        'paymentMethodId',
        'the customer has no saved card; add_payment_method first',
      );
    }
    // Credentials first: a payment the processor cannot be asked about is never written.
    await stripeCredentials(services, orgId);
    const settings = await loadPaymentSettings(services, orgId);
    const paymentId = services.newId('pay');
    const history = await fraudHistory(services, {
      orgId,
      currency: asset.asset,
      scale: asset.scale,
      counterparty: method.methodId,
      customerId: input.customerId,
      now: context.now,
    });
    const verdict = scoreTransaction(
      {
        kind: 'card_payment',
        amount: units,
        scale: asset.scale,
        currency: asset.asset,
        counterparty: method.methodId,
        atMs: context.now.getTime(),
      },
      history,
      settings.fraudPolicy,
    );
    const alertId = services.newId('fra');
    const outcome = await decideOnPayment(context, orgId, paymentId, {
      type: 'InitiatePayment',
      alertId,
      fraud: verdict,
      intent: {
        paymentId,
        kind: 'card_payment',
        provider: 'stripe',
        customerId: input.customerId,
        amount: formatAmount(units, asset.scale),
        currency: asset.asset,
        scale: asset.scale,
        counterparty: method.methodId,
        reference: input.reference ?? paymentId,
        description: input.description,
        batchId: null,
      },
    });
    const unknown =
      outcome.output.status === 'initiated'
        ? (await submitCardPayment(context, orgId, paymentId)).unknownOutcome
        : null;
    const view = await loadPaymentView(services, orgId, paymentId);
    return {
      output: paymentOutput(view, unknown),
      stream: outcome.stream,
      revision: view.revision,
      position: view.position,
    };
  },
});

export function paymentOutput(
  view: PaymentView,
  unknownOutcome: string | null = null,
): z.infer<typeof paymentAnswer> {
  const state = view.state;
  const intent = state.intent;
  if (!intent) throw new LedgerlineError('NOT_FOUND', 'No such payment.');
  const status = state.status ?? 'initiated';
  const verdict = verdictOutput(state);
  return {
    paymentId: intent.paymentId,
    status,
    amount: intent.amount,
    currency: intent.currency,
    fraudScore: verdict.score,
    fraudDecision: verdict.decision,
    rules: verdict.rules,
    alertId: state.alertId,
    receipt: state.receipt,
    failure: view.failure,
    message: messageFor(status, view, unknownOutcome),
  };
}

function messageFor(status: string, view: PaymentView, unknownOutcome: string | null): string {
  const state = view.state;
  switch (status) {
    case 'held':
      return `Held for fraud review (alert ${state.alertId ?? ''}); review_flagged_transaction approves or rejects it.`;
    case 'blocked':
      return `Refused by the fraud rules: ${(state.fraud?.rules ?? []).map((rule) => rule.reason).join(' ')}`;
    case 'succeeded':
      return 'Captured and posted to the ledger.';
    case 'failed':
      return `The card was not charged: ${view.failure?.message ?? 'failed'}.`;
    case 'cancelled':
      return 'Cancelled; nothing was charged.';
    default:
      return unknownOutcome === null
        ? 'Sent to the processor; its answer is pending. get_payment asks again.'
        : `The processor’s answer is unknown (${unknownOutcome}); get_payment asks again with the same idempotency key — never charge again.`;
  }
}

export const processRefund = defineCommand({
  name: 'process_refund',
  title: 'Refund a card payment',
  description:
    'Refunds a succeeded card payment, in full (no amount: whatever remains) or in part (amount, a decimal string): never more than what remains unrefunded, so partial refunds together never exceed what was captured. Returns the refund id, its status and what remains; on success the ledger reverses that part of the payment’s transfer (code refund). Managers and above. Moves real money back to the card on a live processor; retry with the same Idempotency-Key. M-Pesa payments use mpesa_reverse_transaction instead.',
  input: z.strictObject({
    paymentId: c.paymentId,
    amount: l.amount.optional(),
    reason: s.reason.default('requested_by_customer'),
  }),
  output: z.object({
    paymentId: z.string(),
    refundId: z.string(),
    amount: z.string(),
    currency: z.string(),
    status: z.enum(['requested', 'succeeded', 'failed']),
    remaining: z.string(),
    failure: z.object({ code: z.string(), message: z.string() }).nullable(),
  }),
  scope: 'payments:write',
  minRole: 'manager',
  audience: 'organization',
  annotations: { destructiveHint: true, openWorldHint: true },
  movesMoney: true,
  approval: {
    kind: 'reversal',
    moves: (input) => (input.amount === undefined ? [] : [{ amount: input.amount }]),
  },
  rest: { method: 'POST', path: '/v1/payments/:paymentId/refunds', status: 201 },
  async run(input, context) {
    const { orgId } = callerOf(context);
    const { services } = context;
    const before = await loadPayment(context, orgId, input.paymentId);
    const intent = before.intent;
    if (!intent) throw new LedgerlineError('NOT_FOUND', 'No such payment.', { paymentId: input.paymentId });
    if (intent.kind !== 'card_payment') {
      throw new LedgerlineError(
        'INVALID_STATE',
        'Only card payments are refunded; use mpesa_reverse_transaction.',
        {
          kind: intent.kind,
        },
      );
    }
    if (input.amount !== undefined) {
      const units = parseAmount(input.amount, intent.scale);
      if (isAmountProblem(units)) throw new ValidationError('amount', units.reason);
    }
    const credentials = await stripeCredentials(services, orgId);
    const refundId = services.newId('rfd');
    const requested = await decideOnPayment(context, orgId, input.paymentId, {
      type: 'RequestReversal',
      reversalId: refundId,
      amount: input.amount ?? null,
      reason: input.reason,
      partialAllowed: true,
    });
    const amount = requested.output.reversalAmount ?? '0';
    const refunded = await services.payments.providers.cards.refund(
      credentials,
      refundRequest(before, intent, refundId, amount),
    );
    const { failure } = await applyRefundAnswer(context, orgId, before, refundId, amount, refunded);
    // Unknown outcome: the refund stays requested, its amount held back from what remains.
    const after = await loadPaymentView(services, orgId, input.paymentId);
    const refund = after.state.reversals.find((candidate) => candidate.reversalId === refundId);
    return {
      output: {
        paymentId: input.paymentId,
        refundId,
        amount,
        currency: intent.currency,
        status: refund?.status ?? 'requested',
        remaining: formatAmount(reversibleUnits(after.state), intent.scale),
        failure,
      },
      stream: requested.stream,
      revision: after.revision,
      position: after.position,
    };
  },
});
