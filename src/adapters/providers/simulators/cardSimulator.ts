/**
 * The card simulator: the embedded default `CardProcessor`. It behaves like Stripe's test mode
 * for the calls the port makes: test tokens become payment methods (brand, last 4, expiry),
 * payments authorize and capture at once or in two steps, declining tokens decline at
 * payment time, refunds are bounded by what remains, and every POST honours its idempotency
 * key (the same key and request → the first answer; the key with another request → conflict).
 * Synchronous: no webhooks are sent. State is in memory and bounded.
 *
 * | token                                   | brand      | last 4 | at payment                       |
 * |-----------------------------------------|------------|--------|----------------------------------|
 * | tok_visa                                | visa       | 4242   | succeeds                         |
 * | tok_visa_debit                          | visa       | 5556   | succeeds (funding debit)         |
 * | tok_mastercard                          | mastercard | 4444   | succeeds                         |
 * | tok_amex                                | amex       | 8431   | succeeds                         |
 * | tok_chargeDeclined                      | visa       | 0002   | declined, generic_decline        |
 * | tok_chargeDeclinedInsufficientFunds     | visa       | 9995   | declined, insufficient_funds     |
 * | tok_chargeDeclinedExpiredCard           | visa       | 0069   | declined, expired_card           |
 * | tok_chargeDeclinedIncorrectCvc          | visa       | 0127   | declined, incorrect_cvc          |
 * | tok_chargeDeclinedFraudulent            | visa       | 0019   | declined, fraudulent             |
 * | tok_chargeDeclinedProcessingError       | visa       | 0119   | declined, processing_error       |
 * | tok_processing                          | visa       | 3220   | stays processing (the outcome    |
 * |                                         |            |        | comes by webhook)                |
 * | tok_processingSucceeds                  | visa       | 3238   | processing; succeeded when next  |
 * |                                         |            |        | retrieved (no webhook is sent)   |
 * | tok_processingDeclines                  | visa       | 3246   | processing; declined when next   |
 * |                                         |            |        | retrieved (no webhook is sent)   |
 * | anything else                           | —          | —      | refused: no such token           |
 */
import { createHash, randomBytes } from 'node:crypto';
import { STRIPE_AMOUNT_MAX } from '../../../domain/payments/cardAmount.js';
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
import type { StripeCredentials } from '../../../domain/payments/credentials.js';
import {
  failed,
  succeeded,
  type CardDeclineReason,
  type ProviderFailure,
  type ProviderResult,
} from '../../../domain/payments/providerResult.js';
import { BoundedMap } from './boundedMap.js';

/** Payment methods, payments and idempotency keys remembered, each. */
export const CARD_RECORDS_MAX = 50_000;
/** Expiry of every simulated card: far enough ahead to be valid for years. */
const EXP_MONTH = 12;
const EXP_YEAR = 2034;

interface TestCard {
  readonly brand: string;
  readonly last4: string;
  readonly funding: string;
  readonly decline?: CardDeclineReason;
  /** Charged asynchronously: the payment answers `processing`, its outcome comes by webhook. */
  readonly asynchronous?: boolean;
  /**
   * Asynchronous, and settled by the time it is next retrieved (getPayment): the outcome a
   * webhook would have brought, for a payment whose webhook never comes.
   */
  readonly settlesOnRetrieve?: 'succeeded' | 'declined';
}

export const TEST_CARDS: Readonly<Record<string, TestCard>> = {
  tok_visa: { brand: 'visa', last4: '4242', funding: 'credit' },
  tok_visa_debit: { brand: 'visa', last4: '5556', funding: 'debit' },
  tok_mastercard: { brand: 'mastercard', last4: '4444', funding: 'credit' },
  tok_amex: { brand: 'amex', last4: '8431', funding: 'credit' },
  tok_chargeDeclined: { brand: 'visa', last4: '0002', funding: 'credit', decline: 'generic_decline' },
  tok_processing: { brand: 'visa', last4: '3220', funding: 'credit', asynchronous: true },
  tok_processingSucceeds: {
    brand: 'visa',
    last4: '3238',
    funding: 'credit',
    asynchronous: true,
    settlesOnRetrieve: 'succeeded',
  },
  tok_processingDeclines: {
    brand: 'visa',
    last4: '3246',
    funding: 'credit',
    asynchronous: true,
    settlesOnRetrieve: 'declined',
  },
  tok_chargeDeclinedInsufficientFunds: {
    brand: 'visa',
    last4: '9995',
    funding: 'credit',
    decline: 'insufficient_funds',
  },
  tok_chargeDeclinedExpiredCard: { brand: 'visa', last4: '0069', funding: 'credit', decline: 'expired_card' },
  tok_chargeDeclinedIncorrectCvc: {
    brand: 'visa',
    last4: '0127',
    funding: 'credit',
    decline: 'incorrect_cvc',
  },
  tok_chargeDeclinedFraudulent: { brand: 'visa', last4: '0019', funding: 'credit', decline: 'fraudulent' },
  tok_chargeDeclinedProcessingError: {
    brand: 'visa',
    last4: '0119',
    funding: 'credit',
    decline: 'processing_error',
  },
};

const DECLINE_MESSAGES: Readonly<Record<CardDeclineReason, string>> = {
  generic_decline: 'Your card was declined.',
  insufficient_funds: 'Your card has insufficient funds.',
  lost_card: 'Your card was declined.',
  stolen_card: 'Your card was declined.',
  expired_card: 'Your card has expired.',
  incorrect_cvc: "Your card's security code is incorrect.",
  processing_error: 'An error occurred while processing your card. Try again in a little bit.',
  fraudulent: 'Your card was declined.',
  authentication_required: 'Your card was declined. This transaction requires authentication.',
  other: 'Your card was declined.',
};

interface StoredMethod {
  readonly method: CardPaymentMethod;
  readonly card: TestCard;
}

interface StoredPayment {
  payment: CardPayment;
  refunded: bigint;
  /** The card charged, for a payment that settles when retrieved. */
  card?: TestCard;
}

export class CardSimulator implements CardProcessor {
  private readonly methods = new BoundedMap<string, StoredMethod>(CARD_RECORDS_MAX);
  private readonly payments = new BoundedMap<string, StoredPayment>(CARD_RECORDS_MAX);
  private readonly replays = new BoundedMap<string, { fingerprint: string; answer: ProviderResult<unknown> }>(
    CARD_RECORDS_MAX,
  );

  createPaymentMethod(
    credentials: StripeCredentials,
    request: CreatePaymentMethodRequest,
  ): Promise<ProviderResult<CardPaymentMethod>> {
    return this.idempotent(credentials, 'payment_method', request, () => {
      const card = TEST_CARDS[request.token];
      if (!card)
        return rejected('resource_missing', `No such token: '${request.token.slice(0, 40)}'`, 'token');
      const method: CardPaymentMethod = {
        id: newId('pm'),
        brand: card.brand,
        last4: card.last4,
        expMonth: EXP_MONTH,
        expYear: EXP_YEAR,
        funding: card.funding,
      };
      this.methods.set(method.id, { method, card });
      return succeeded(method);
    });
  }

  createPayment(
    credentials: StripeCredentials,
    request: CreatePaymentRequest,
  ): Promise<ProviderResult<CardPayment>> {
    return this.idempotent(credentials, 'payment', request, () => {
      if (request.amount <= 0n || request.amount > STRIPE_AMOUNT_MAX) {
        return rejected('amount_too_large', `Amount must be between 1 and ${STRIPE_AMOUNT_MAX}.`, 'amount');
      }
      if (!/^[a-z]{3}$/.test(request.currency.toLowerCase())) {
        return rejected('parameter_invalid', 'Invalid currency.', 'currency');
      }
      const stored = this.methods.get(request.paymentMethodId);
      if (!stored) return rejected('resource_missing', 'No such PaymentMethod.', 'payment_method');
      const base: CardPayment = {
        id: newId('pi'),
        status: 'requires_payment_method',
        amount: request.amount,
        amountCapturable: 0n,
        amountReceived: 0n,
        currency: request.currency.toLowerCase(),
        captureMethod: request.captureMethod,
        paymentMethodId: request.paymentMethodId,
        metadata: { ...(request.metadata ?? {}) },
      };
      const decline = stored.card.decline;
      if (decline) {
        this.payments.set(base.id, { payment: base, refunded: 0n });
        return failed({
          kind: 'declined',
          reason: decline,
          providerCode: decline,
          message: DECLINE_MESSAGES[decline],
          paymentId: base.id,
        });
      }
      const payment: CardPayment = stored.card.asynchronous
        ? { ...base, status: 'processing' }
        : request.captureMethod === 'manual'
          ? { ...base, status: 'requires_capture', amountCapturable: request.amount }
          : { ...base, status: 'succeeded', amountReceived: request.amount };
      this.payments.set(payment.id, { payment, refunded: 0n, card: stored.card });
      return succeeded(payment);
    });
  }

  capturePayment(
    credentials: StripeCredentials,
    request: CapturePaymentRequest,
  ): Promise<ProviderResult<CardPayment>> {
    return this.idempotent(credentials, 'capture', request, () => {
      const stored = this.payments.get(request.paymentId);
      if (!stored) return rejected('resource_missing', 'No such payment_intent.', 'paymentId');
      if (stored.payment.status !== 'requires_capture') {
        return rejected(
          'payment_intent_unexpected_state',
          `This PaymentIntent could not be captured because it has a status of ${stored.payment.status}.`,
        );
      }
      const amount = request.amount ?? stored.payment.amountCapturable;
      if (amount <= 0n || amount > stored.payment.amountCapturable) {
        return rejected(
          'amount_too_large',
          `The amount to capture must be at most the capturable ${stored.payment.amountCapturable}.`,
          'amount',
        );
      }
      // Like Stripe, a partial capture releases the rest of the authorization.
      stored.payment = {
        ...stored.payment,
        status: 'succeeded',
        amountCapturable: 0n,
        amountReceived: amount,
      };
      return succeeded(stored.payment);
    });
  }

  cancelPayment(
    credentials: StripeCredentials,
    request: CancelPaymentRequest,
  ): Promise<ProviderResult<CardPayment>> {
    return this.idempotent(credentials, 'cancel', request, () => {
      const stored = this.payments.get(request.paymentId);
      if (!stored) return rejected('resource_missing', 'No such payment_intent.', 'paymentId');
      if (stored.payment.status === 'succeeded' || stored.payment.status === 'canceled') {
        return rejected(
          'payment_intent_unexpected_state',
          `This PaymentIntent could not be canceled because it has a status of ${stored.payment.status}.`,
        );
      }
      stored.payment = { ...stored.payment, status: 'canceled', amountCapturable: 0n };
      return succeeded(stored.payment);
    });
  }

  refund(credentials: StripeCredentials, request: RefundRequest): Promise<ProviderResult<CardRefund>> {
    return this.idempotent(credentials, 'refund', request, () => {
      const stored = this.payments.get(request.paymentId);
      if (!stored) return rejected('resource_missing', 'No such payment_intent.', 'paymentId');
      if (stored.payment.status !== 'succeeded') {
        return rejected(
          'charge_not_refundable',
          'This payment has not been captured, so it cannot be refunded.',
        );
      }
      const remaining = stored.payment.amountReceived - stored.refunded;
      const amount = request.amount ?? remaining;
      if (remaining === 0n)
        return rejected('charge_already_refunded', 'This payment has already been refunded.');
      if (amount <= 0n || amount > remaining) {
        return rejected(
          'amount_too_large',
          `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining}).`,
          'amount',
        );
      }
      stored.refunded += amount;
      return succeeded<CardRefund>({
        id: newId('re'),
        paymentId: stored.payment.id,
        amount,
        currency: stored.payment.currency,
        status: 'succeeded',
        ...(request.reason === undefined ? {} : { reason: request.reason }),
      });
    });
  }

  getPayment(credentials: StripeCredentials, paymentId: string): Promise<ProviderResult<CardPayment>> {
    const refused = refuseCredentials(credentials);
    if (refused) return Promise.resolve(refused);
    const stored = this.payments.get(paymentId);
    const settles = stored?.card?.settlesOnRetrieve;
    if (stored && settles !== undefined && stored.payment.status === 'processing') {
      // Settled meanwhile at the "bank": what its (never sent) webhook would have said.
      stored.payment =
        settles === 'succeeded'
          ? { ...stored.payment, status: 'succeeded', amountReceived: stored.payment.amount }
          : { ...stored.payment, status: 'requires_payment_method' };
    }
    return Promise.resolve(
      stored
        ? succeeded(stored.payment)
        : rejected('resource_missing', 'No such payment_intent.', 'paymentId'),
    );
  }

  /** Runs `act` once per idempotency key and request; replays its answer for the same pair. */
  private idempotent<Value>(
    credentials: StripeCredentials,
    operation: string,
    request: { readonly idempotencyKey: string },
    act: () => ProviderResult<Value>,
  ): Promise<ProviderResult<Value>> {
    const refused = refuseCredentials(credentials);
    if (refused) return Promise.resolve(refused);
    const key = request.idempotencyKey;
    if (key.length === 0 || key.length > IDEMPOTENCY_KEY_LENGTH_MAX) {
      return Promise.resolve(
        rejected(
          'parameter_invalid',
          `must be 1 to ${IDEMPOTENCY_KEY_LENGTH_MAX} characters`,
          'idempotencyKey',
        ),
      );
    }
    // Keys are per account, as at Stripe: the same key under another secret key is another key.
    const scope = createHash('sha256').update(credentials.secretKey).digest('hex').slice(0, 16);
    const scopedKey = `${scope}:${key}`;
    const fingerprint = JSON.stringify({ operation, request }, (_name, item: unknown) =>
      typeof item === 'bigint' ? `${item}n` : item,
    );
    const previous = this.replays.get(scopedKey);
    if (previous) {
      if (previous.fingerprint !== fingerprint) {
        return Promise.resolve(
          failed({
            kind: 'conflict',
            providerCode: 'idempotency_error',
            message:
              'Keys for idempotent requests can only be used with the same parameters they were first used with.',
          }),
        );
      }
      return Promise.resolve(previous.answer as ProviderResult<Value>);
    }
    const answer = act();
    // Like Stripe, a request refused as invalid saves nothing; anything that ran is replayed.
    if (answer.ok || answer.failure.kind !== 'rejected') this.replays.set(scopedKey, { fingerprint, answer });
    return Promise.resolve(answer);
  }
}

function refuseCredentials(credentials: StripeCredentials): ProviderResult<never> | undefined {
  if (credentials.secretKey.length === 0) {
    return failed({
      kind: 'unauthorized',
      providerCode: 'api_key_missing',
      message: 'You did not provide an API key.',
    });
  }
  return undefined;
}

function rejected(providerCode: string, message: string, field?: string): ProviderResult<never> {
  const failure: ProviderFailure = {
    kind: 'rejected',
    providerCode,
    message,
    httpStatus: 400,
    ...(field === undefined ? {} : { field }),
  };
  return failed(failure);
}

function newId(prefix: string): string {
  return `${prefix}_sim${randomBytes(12).toString('hex')}`;
}
