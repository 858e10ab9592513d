/**
 * The `CardProcessor` port (SPEC §5.2): tokenized cards, payments authorized and captured,
 * refunds. Implementations: the real Stripe HTTP adapter and the card simulator. Card numbers
 * never pass through here — a client-side token becomes a payment method of which only brand,
 * last 4 and expiry are ever returned.
 *
 * Amounts are integers in Stripe's minor units for the currency (`toStripeAmount` converts
 * from the ledger's units) and currencies are lowercase. Every money-moving call takes an
 * idempotency key (Stripe's `Idempotency-Key`): derive it from the command (payment id +
 * step) so that retrying the command after `unavailable` / `mayHaveHappened` replays the
 * provider's first answer instead of charging twice.
 */
import type { StripeCredentials } from './credentials.js';
import type { ProviderResult } from './providerResult.js';

/** Stripe's ceiling on `Idempotency-Key`. */
export const IDEMPOTENCY_KEY_LENGTH_MAX = 255;

export interface CardPaymentMethod {
  /** `pm_…`. */
  readonly id: string;
  /** `visa`, `mastercard`, `amex`, … */
  readonly brand: string;
  readonly last4: string;
  readonly expMonth: number;
  readonly expYear: number;
  /** `credit`, `debit`, `prepaid`, `unknown`, when reported. */
  readonly funding?: string;
}

export type CardPaymentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'succeeded'
  | 'canceled';

export interface CardPayment {
  /** `pi_…`. */
  readonly id: string;
  readonly status: CardPaymentStatus;
  readonly amount: bigint;
  /** What can still be captured (in `requires_capture`). */
  readonly amountCapturable: bigint;
  /** What has been captured. */
  readonly amountReceived: bigint;
  readonly currency: string;
  readonly captureMethod: 'automatic' | 'manual';
  readonly paymentMethodId?: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface CardRefund {
  /** `re_…`. */
  readonly id: string;
  readonly paymentId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly status: 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled';
  readonly reason?: string;
  readonly failureReason?: string;
}

export interface CreatePaymentMethodRequest {
  /** A card token from the client (`tok_…`); the simulator knows `tok_visa` and friends. */
  readonly token: string;
  readonly idempotencyKey: string;
}

export interface CreatePaymentRequest {
  readonly amount: bigint;
  readonly currency: string;
  readonly paymentMethodId: string;
  /**
   * `automatic`: authorize and capture at once (→ `succeeded`). `manual`: authorize only
   * (→ `requires_capture`), then `capturePayment`.
   */
  readonly captureMethod: 'automatic' | 'manual';
  readonly description?: string;
  /** Stripe allows 50 keys; keep it to ids (never secrets or card data). */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly idempotencyKey: string;
}

export interface CapturePaymentRequest {
  readonly paymentId: string;
  /** At most `amountCapturable`; default all of it. */
  readonly amount?: bigint;
  readonly idempotencyKey: string;
}

export interface CancelPaymentRequest {
  readonly paymentId: string;
  readonly reason?: 'duplicate' | 'fraudulent' | 'requested_by_customer' | 'abandoned';
  readonly idempotencyKey: string;
}

export interface RefundRequest {
  readonly paymentId: string;
  /** At most what remains unrefunded; default all of it. */
  readonly amount?: bigint;
  readonly reason?: 'duplicate' | 'fraudulent' | 'requested_by_customer';
  readonly metadata?: Readonly<Record<string, string>>;
  readonly idempotencyKey: string;
}

export interface CardProcessor {
  /** Token → payment method (brand, last 4, expiry). */
  createPaymentMethod(
    credentials: StripeCredentials,
    request: CreatePaymentMethodRequest,
  ): Promise<ProviderResult<CardPaymentMethod>>;
  /** Creates and confirms a payment: authorizes, and with `automatic` capture, captures. */
  createPayment(
    credentials: StripeCredentials,
    request: CreatePaymentRequest,
  ): Promise<ProviderResult<CardPayment>>;
  /** Captures an authorized (`requires_capture`) payment, in full or in part. */
  capturePayment(
    credentials: StripeCredentials,
    request: CapturePaymentRequest,
  ): Promise<ProviderResult<CardPayment>>;
  /** Releases an authorization (or abandons an unconfirmed payment). */
  cancelPayment(
    credentials: StripeCredentials,
    request: CancelPaymentRequest,
  ): Promise<ProviderResult<CardPayment>>;
  /** Refunds a captured payment, in full or in part. */
  refund(credentials: StripeCredentials, request: RefundRequest): Promise<ProviderResult<CardRefund>>;
  /** Reads a payment. Safe to retry. */
  getPayment(credentials: StripeCredentials, paymentId: string): Promise<ProviderResult<CardPayment>>;
}
