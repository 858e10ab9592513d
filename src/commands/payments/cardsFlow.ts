/**
 * A card payment's way from "initiated" to settled: one `createPayment` at the processor with
 * an idempotency key derived from the payment id, then the ledger and the payment's stream.
 * Every step can run again: the processor replays its first answer for the same key, the
 * transfer's id is the payment's id, and the decider ignores a second settlement. So a payment
 * whose answer was lost is finished by running this again (get_payment, the review that
 * released it), never by charging anew.
 */
import type { EventMetadata } from '../../adapters/eventstore/port.js';
import type { StripeCredentials } from '../../domain/payments/credentials.js';
import { customerDecider } from '../../domain/customers/customer.js';
import { ConcurrencyError, LedgerlineError } from '../../domain/errors.js';
import type { CardPayment } from '../../domain/payments/cardProcessor.js';
import { isAmountProblem, KNOWN_SCALES, parseAmount } from '../../domain/ledger/money.js';
import { stripeCurrency, stripeExponent, toStripeAmount } from '../../domain/payments/cardAmount.js';
import type { PaymentCommand, PaymentIntent, PaymentState } from '../../domain/payments/payment.js';
import { mappedAddress } from '../../domain/payments/settings.js';
import { ValidationError } from '../../domain/errors.js';
import { eventMetadata, loadAggregate } from '../aggregate.js';
import type { CommandContext, Services } from '../context.js';
import { customerStream } from '../customers/commands.js';
import { ensureAccounts, postTransfer, reverseTransfer } from './ledgerPosting.js';
import { decideOnPayment, loadPayment } from './paymentStream.js';
import { loadPaymentSettings } from './settings.js';

/** The organization's Stripe credentials from the vault (NOT_FOUND, CREDENTIALS_REVOKED, …). */
export function stripeCredentials(services: Services, orgId: string): Promise<StripeCredentials> {
  return services.vault.credentials(orgId, 'stripe');
}

/**
 * Rounds of conflicts a provider's answer outlasts before it is given up. The answer records
 * money that already moved, so it tries harder than a request (which a caller can repeat);
 * many refunds of one payment at once are the busy case.
 */
export const RESULT_RECORD_ROUNDS_MAX = 10;

/** Records what the provider answered, even while other requests keep writing the stream. */
export async function recordOnPayment(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  command: PaymentCommand,
  metadata: EventMetadata = eventMetadata(context),
) {
  for (let round = 1; ; round += 1) {
    try {
      return await decideOnPayment(context, orgId, paymentId, command, metadata);
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || round >= RESULT_RECORD_ROUNDS_MAX) throw error;
    }
  }
}

export function createKey(paymentId: string): string {
  return `${paymentId}:create`;
}

export function refundKey(refundId: string): string {
  return `${refundId}:refund`;
}

/** A card currency as the ledger names its asset, and the asset's scale. */
export async function cardAsset(
  services: Services,
  orgId: string,
  currency: string,
): Promise<{ asset: string; stripe: string; scale: number }> {
  const stripe = stripeCurrency(currency);
  if (typeof stripe !== 'string') throw new ValidationError('currency', stripe.reason);
  const asset = stripe.toUpperCase();
  const known = (await services.ledger.state(orgId)).assets.get(asset) ?? KNOWN_SCALES[asset];
  return { asset, stripe, scale: known ?? stripeExponent(stripe) };
}

/** The amount in ledger units and in Stripe's, or VALIDATION_FAILED naming `field`. */
export function cardUnits(
  amount: string,
  scale: number,
  stripe: string,
  field = 'amount',
): { units: bigint; stripeAmount: bigint } {
  const units = parseAmount(amount, scale);
  if (isAmountProblem(units)) throw new ValidationError(field, units.reason);
  const stripeAmount = toStripeAmount(units, scale, stripe);
  if (isAmountProblem(stripeAmount)) throw new ValidationError(field, stripeAmount.reason);
  return { units, stripeAmount };
}

/** The processor's id for the saved card a payment charges (its counterparty is our method id). */
async function processorMethod(
  context: CommandContext,
  orgId: string,
  intent: PaymentIntent,
): Promise<string> {
  if (intent.customerId === null) throw new LedgerlineError('INTERNAL', 'A card payment without a customer.');
  const customer = await loadAggregate(context, customerStream(orgId, intent.customerId), customerDecider);
  const method = customer.state.methods.find((candidate) => candidate.methodId === intent.counterparty);
  if (!method) throw new LedgerlineError('INTERNAL', `Payment method ${intent.counterparty} is gone.`);
  return method.providerRef;
}

export interface CardSubmission {
  readonly state: PaymentState;
  /** Set while the processor's answer is unknown (the payment stays initiated or pending). */
  readonly unknownOutcome: string | null;
}

/**
 * Sends an initiated card payment to the processor (or asks again, with the same key, about
 * one whose answer never came) and records the result. `resolving` is true when this is a
 * later attempt: a key still in use at the processor is then left alone, not failed.
 */
export async function submitCardPayment(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  resolving = false,
): Promise<CardSubmission> {
  const state = await loadPayment(context, orgId, paymentId);
  const intent = state.intent;
  if (!intent || intent.kind !== 'card_payment') {
    throw new LedgerlineError('NOT_FOUND', 'No such card payment.', { paymentId });
  }
  if (state.status !== 'initiated' && state.status !== 'pending') return { state, unknownOutcome: null };
  const credentials = await stripeCredentials(context.services, orgId);
  const stripe = stripeCurrency(intent.currency) as string;
  const { stripeAmount } = cardUnits(intent.amount, intent.scale, stripe);
  const answer = await context.services.payments.providers.cards.createPayment(credentials, {
    amount: stripeAmount,
    currency: stripe,
    paymentMethodId: await processorMethod(context, orgId, intent),
    captureMethod: 'automatic',
    description: intent.description,
    metadata: { paymentId, orgId },
    idempotencyKey: createKey(paymentId),
  });
  if (answer.ok)
    return { state: await recordCharge(context, orgId, intent, answer.value), unknownOutcome: null };
  const failure = answer.failure;
  if (failure.kind === 'unavailable' && failure.mayHaveHappened) {
    // The charge may exist: only the same key may ask again (later, on get_payment).
    return { state: await loadPayment(context, orgId, paymentId), unknownOutcome: failure.message };
  }
  if (
    resolving &&
    (failure.kind === 'conflict' || failure.kind === 'rate_limited' || failure.kind === 'unavailable')
  ) {
    return { state: await loadPayment(context, orgId, paymentId), unknownOutcome: failure.message };
  }
  const resultCode =
    failure.kind === 'declined'
      ? failure.reason
      : 'providerCode' in failure
        ? failure.providerCode
        : failure.kind;
  await recordOnPayment(context, orgId, paymentId, {
    type: 'Settle',
    via: 'provider',
    result: { outcome: 'failed', resultCode, resultText: failure.message },
  });
  if (failure.kind === 'conflict') {
    context.services.log.error({ paymentId, orgId }, 'the card processor refused a reused idempotency key');
  }
  return { state: await loadPayment(context, orgId, paymentId), unknownOutcome: null };
}

/**
 * Records what the processor says about a payment's charge (its answer, or a webhook): the
 * reference, then success (posted once, id = payment id) or failure (`failure` names why, when
 * known), or nothing more while it is still processing.
 */
export async function recordCharge(
  context: CommandContext,
  orgId: string,
  intent: PaymentIntent,
  charge: CardPayment,
  failure?: { readonly code: string; readonly message: string },
  metadata: EventMetadata = eventMetadata(context),
): Promise<PaymentState> {
  const { paymentId } = intent;
  await recordOnPayment(
    context,
    orgId,
    paymentId,
    { type: 'RecordSubmission', providerRef: charge.id },
    metadata,
  );
  if (charge.status === 'canceled' || charge.status === 'requires_payment_method') {
    await recordOnPayment(
      context,
      orgId,
      paymentId,
      {
        type: 'Settle',
        via: 'provider',
        result: {
          outcome: 'failed',
          resultCode: failure?.code ?? charge.status,
          resultText: failure?.message ?? `The processor answered ${charge.status}.`,
        },
      },
      metadata,
    );
  } else if (charge.status === 'succeeded') {
    const transferId = await postCardSale(context, orgId, intent, metadata);
    await recordOnPayment(
      context,
      orgId,
      paymentId,
      { type: 'Settle', via: 'provider', result: { outcome: 'succeeded', receipt: charge.id, transferId } },
      metadata,
    );
  }
  // Anything else (processing, requires_action) stays pending until asked again.
  return loadPayment(context, orgId, paymentId);
}

/**
 * A card payment recorded failed whose PaymentIntent succeeded after all (confirmed again after
 * a decline; Stripe says so by webhook): the money was taken, so the sale is posted — under the
 * payment id, which the failure never used — and the payment becomes succeeded. Answers the
 * transfer id (null when the ledger refused it, as for any capture).
 */
export async function recordChargeAfterFailure(
  context: CommandContext,
  orgId: string,
  intent: PaymentIntent,
  charge: CardPayment,
  metadata: EventMetadata,
): Promise<string | null> {
  const transferId = await postCardSale(context, orgId, intent, metadata);
  await recordOnPayment(
    context,
    orgId,
    intent.paymentId,
    {
      type: 'Settle',
      via: 'provider',
      afterFailure: true,
      result: { outcome: 'succeeded', receipt: charge.id, transferId },
    },
    metadata,
  );
  return transferId;
}

/** Settlement asset (the processor owes us) debited, sales revenue credited; id = payment id. */
async function postCardSale(
  context: CommandContext,
  orgId: string,
  intent: PaymentIntent,
  metadata: EventMetadata,
): Promise<string | null> {
  const { services, now } = context;
  const mapping = (await loadPaymentSettings(services, orgId)).ledgerMapping;
  const settlement = mappedAddress(mapping.cardSettlement, intent.currency);
  const sales = mappedAddress(mapping.cardSales, intent.currency);
  const accounts = [
    {
      address: settlement,
      asset: intent.currency,
      scale: intent.scale,
      type: 'asset' as const,
      neverNegative: false,
    },
    {
      address: sales,
      asset: intent.currency,
      scale: intent.scale,
      type: 'revenue' as const,
      neverNegative: false,
    },
  ];
  // A thrown error (the store away) leaves the payment pending: asking again posts it then.
  await ensureAccounts(services, orgId, accounts, metadata, now);
  const posted = await postTransfer(
    services,
    orgId,
    {
      transferId: intent.paymentId,
      debitAccount: settlement,
      creditAccount: sales,
      amount: intent.amount,
      code: 'payment',
      reference: intent.reference,
      metadata: { paymentId: intent.paymentId },
    },
    metadata,
    now,
  );
  if (posted.ok) return intent.paymentId;
  // Refused (the organization closed a mapped account): the money was captured all the same,
  // so the payment succeeds without its transfer, and the operator is told.
  services.log.error(
    { paymentId: intent.paymentId, orgId, code: posted.error.code },
    'a captured card payment could not be posted to the ledger',
  );
  return null;
}

/**
 * A refund's outcome on the ledger and the payment: a refund the processor took (succeeded,
 * or pending on its side) reverses that much of the sale (reversal id = refund id, so a
 * repeated answer or webhook reverses once); a failed or canceled one records the failure.
 */
export async function recordRefundOutcome(
  context: CommandContext,
  orgId: string,
  refund: {
    readonly paymentId: string;
    readonly refundId: string;
    readonly amount: string;
    readonly saleTransferId: string | null;
  },
  result:
    | { readonly outcome: 'succeeded'; readonly providerRef: string | null }
    | { readonly outcome: 'failed'; readonly code: string; readonly message: string },
  metadata: EventMetadata = eventMetadata(context),
): Promise<void> {
  const { services } = context;
  if (result.outcome === 'failed') {
    await recordOnPayment(
      context,
      orgId,
      refund.paymentId,
      {
        type: 'RecordReversalResult',
        reversalId: refund.refundId,
        result: { outcome: 'failed', resultCode: result.code, resultText: result.message },
      },
      metadata,
    );
    return;
  }
  const reversed =
    refund.saleTransferId === null
      ? ({ ok: true } as const)
      : await reverseTransfer(
          services,
          orgId,
          {
            transferId: refund.saleTransferId,
            reversalId: refund.refundId,
            amount: refund.amount,
            code: 'refund',
          },
          metadata,
          context.now,
        );
  if (!reversed.ok) {
    services.log.error(
      { paymentId: refund.paymentId, refundId: refund.refundId, code: reversed.error.code },
      'a card refund could not be reversed on the ledger',
    );
  }
  await recordOnPayment(
    context,
    orgId,
    refund.paymentId,
    {
      type: 'RecordReversalResult',
      reversalId: refund.refundId,
      result: {
        outcome: 'succeeded',
        transferId: reversed.ok ? refund.refundId : null,
        providerRef: result.providerRef,
      },
    },
    metadata,
  );
}
