/**
 * One behaviour suite for every CardProcessor: the card simulator, and the real Stripe adapter
 * talking to a local Stripe. What the payments commands rely on must hold for both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardSimulator, TEST_CARDS } from '../../src/adapters/providers/simulators/cardSimulator.js';
import { StripeCardProcessor } from '../../src/adapters/providers/stripe/stripeCardProcessor.js';
import type { CardProcessor } from '../../src/domain/payments/cardProcessor.js';
import type { StripeCredentials } from '../../src/domain/payments/credentials.js';
import type { ProviderResult } from '../../src/domain/payments/providerResult.js';
import { startFakeStripe, STRIPE_SECRET_KEY, type FakeStripe } from './support/fakeStripe.js';

const credentials: StripeCredentials = {
  secretKey: STRIPE_SECRET_KEY,
  webhookSigningSecret: 'whsec_sim_SECRET',
};

function value<T>(result: ProviderResult<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.failure)}`);
  return result.value;
}

let sequence = 0;
const key = (what: string) => `${what}-${(sequence += 1)}`;

function conformance(name: string, processor: () => CardProcessor): void {
  describe(name, () => {
    const pay = async (token: string, amount: bigint, captureMethod: 'automatic' | 'manual') => {
      const method = value(
        await processor().createPaymentMethod(credentials, { token, idempotencyKey: key('pm') }),
      );
      return processor().createPayment(credentials, {
        amount,
        currency: 'usd',
        paymentMethodId: method.id,
        captureMethod,
        metadata: { paymentId: 'pay_x' },
        idempotencyKey: key('pay'),
      });
    };

    it('keeps only brand, last 4 and expiry of a card', async () => {
      const method = value(
        await processor().createPaymentMethod(credentials, { token: 'tok_visa', idempotencyKey: key('pm') }),
      );
      expect(method).toMatchObject({ brand: 'visa', last4: '4242' });
      expect(method.expMonth).toBeGreaterThanOrEqual(1);
      expect(method.expYear).toBeGreaterThan(2025);
      expect(Object.keys(method).sort()).toEqual(['brand', 'expMonth', 'expYear', 'funding', 'id', 'last4']);
    });

    it('authorizes and captures at once', async () => {
      expect(value(await pay('tok_visa', 2500n, 'automatic'))).toMatchObject({
        status: 'succeeded',
        amount: 2500n,
        amountReceived: 2500n,
        currency: 'usd',
        metadata: { paymentId: 'pay_x' },
      });
    });

    it('declines the declined and the insufficient-funds cards with their reasons', async () => {
      expect(await pay('tok_chargeDeclined', 100n, 'automatic')).toMatchObject({
        ok: false,
        failure: { kind: 'declined', reason: 'generic_decline' },
      });
      expect(await pay('tok_chargeDeclinedInsufficientFunds', 100n, 'automatic')).toMatchObject({
        ok: false,
        failure: { kind: 'declined', reason: 'insufficient_funds' },
      });
    });

    it('authorizes, captures part, refunds at most what remains', async () => {
      const authorized = value(await pay('tok_mastercard', 5000n, 'manual'));
      expect(authorized).toMatchObject({ status: 'requires_capture', amountCapturable: 5000n });
      expect(
        await processor().capturePayment(credentials, {
          paymentId: authorized.id,
          amount: 5001n,
          idempotencyKey: key('cap'),
        }),
      ).toMatchObject({ ok: false, failure: { kind: 'rejected' } });
      const captured = value(
        await processor().capturePayment(credentials, {
          paymentId: authorized.id,
          amount: 4000n,
          idempotencyKey: key('cap'),
        }),
      );
      expect(captured).toMatchObject({ status: 'succeeded', amountReceived: 4000n });
      const refund = (amount?: bigint) =>
        processor().refund(credentials, {
          paymentId: authorized.id,
          ...(amount === undefined ? {} : { amount }),
          idempotencyKey: key('re'),
        });
      expect(value(await refund(1500n))).toMatchObject({
        amount: 1500n,
        status: 'succeeded',
        paymentId: authorized.id,
      });
      expect(await refund(2501n)).toMatchObject({
        ok: false,
        failure: { kind: 'rejected', field: expect.stringMatching(/amount/) },
      });
      expect(value(await refund())).toMatchObject({ amount: 2500n });
      expect(await refund(1n)).toMatchObject({ ok: false, failure: { kind: 'rejected' } });
    });

    it('replays the first answer for a repeated idempotency key and refuses it with other parameters', async () => {
      const method = value(
        await processor().createPaymentMethod(credentials, { token: 'tok_visa', idempotencyKey: key('pm') }),
      );
      const request = {
        amount: 700n,
        currency: 'usd',
        paymentMethodId: method.id,
        captureMethod: 'automatic' as const,
        idempotencyKey: key('same'),
      };
      const first = value(await processor().createPayment(credentials, request));
      expect(value(await processor().createPayment(credentials, request))).toEqual(first);
      expect(await processor().createPayment(credentials, { ...request, amount: 701n })).toMatchObject({
        ok: false,
        failure: { kind: 'conflict' },
      });
    });

    it('refuses an unknown token', async () => {
      expect(
        await processor().createPaymentMethod(credentials, {
          token: 'tok_nonsense',
          idempotencyKey: key('pm'),
        }),
      ).toMatchObject({
        ok: false,
        failure: { kind: 'rejected', providerCode: 'resource_missing' },
      });
    });
  });
}

let stripe: FakeStripe;
let stripeAdapter: StripeCardProcessor;
beforeAll(async () => {
  stripe = await startFakeStripe();
  stripeAdapter = new StripeCardProcessor({ baseUrl: stripe.server.url });
});
afterAll(async () => {
  await stripe.server.close();
});

const simulator = new CardSimulator();
conformance('card simulator', () => simulator);
conformance('Stripe adapter against a local Stripe', () => stripeAdapter);

describe('card simulator specifics', () => {
  it('knows Stripe-like test tokens for every decline reason it documents', async () => {
    for (const [token, card] of Object.entries(TEST_CARDS)) {
      const method = value(
        await simulator.createPaymentMethod(credentials, { token, idempotencyKey: key(token) }),
      );
      const answer = await simulator.createPayment(credentials, {
        amount: 100n,
        currency: 'kes',
        paymentMethodId: method.id,
        captureMethod: 'automatic',
        idempotencyKey: key('pay'),
      });
      if (card.decline) {
        expect(answer).toMatchObject({ ok: false, failure: { kind: 'declined', reason: card.decline } });
        const paymentId =
          !answer.ok && answer.failure.kind === 'declined' ? answer.failure.paymentId : undefined;
        expect(value(await simulator.getPayment(credentials, paymentId!)).status).toBe(
          'requires_payment_method',
        );
      } else {
        // An asynchronous card waits for its webhook; every other card is charged at once.
        expect(value(answer).status).toBe(card.asynchronous ? 'processing' : 'succeeded');
      }
    }
  });

  it('settles a processing payment of tok_processingSucceeds / Declines when next retrieved, never tok_processing', async () => {
    const outcomes: readonly (readonly [token: string, status: string])[] = [
      ['tok_processingSucceeds', 'succeeded'],
      ['tok_processingDeclines', 'requires_payment_method'],
      ['tok_processing', 'processing'],
    ];
    for (const [token, expected] of outcomes) {
      const method = value(
        await simulator.createPaymentMethod(credentials, { token, idempotencyKey: key('pm') }),
      );
      const created = value(
        await simulator.createPayment(credentials, {
          amount: 700n,
          currency: 'usd',
          paymentMethodId: method.id,
          captureMethod: 'automatic',
          idempotencyKey: key('pay'),
        }),
      );
      expect(created.status, token).toBe('processing');
      const retrieved = value(await simulator.getPayment(credentials, created.id));
      expect(retrieved.status, token).toBe(expected);
      expect(retrieved.amountReceived, token).toBe(expected === 'succeeded' ? 700n : 0n);
      // Settled once: retrieving again answers the same.
      expect(value(await simulator.getPayment(credentials, created.id)).status, token).toBe(expected);
    }
  });

  it('cancels an authorization, and refuses to capture or refund it afterwards', async () => {
    const method = value(
      await simulator.createPaymentMethod(credentials, { token: 'tok_visa', idempotencyKey: key('pm') }),
    );
    const authorized = value(
      await simulator.createPayment(credentials, {
        amount: 900n,
        currency: 'usd',
        paymentMethodId: method.id,
        captureMethod: 'manual',
        idempotencyKey: key('pay'),
      }),
    );
    expect(
      value(
        await simulator.cancelPayment(credentials, {
          paymentId: authorized.id,
          reason: 'abandoned',
          idempotencyKey: key('c'),
        }),
      ),
    ).toMatchObject({ status: 'canceled', amountCapturable: 0n });
    expect(
      await simulator.capturePayment(credentials, { paymentId: authorized.id, idempotencyKey: key('cap') }),
    ).toMatchObject({
      ok: false,
      failure: { providerCode: 'payment_intent_unexpected_state' },
    });
    expect(
      await simulator.refund(credentials, { paymentId: authorized.id, idempotencyKey: key('re') }),
    ).toMatchObject({
      ok: false,
      failure: { providerCode: 'charge_not_refundable' },
    });
  });

  it('keeps idempotency keys per account and refuses an empty secret key', async () => {
    const other = { ...credentials, secretKey: 'sk_test_other_account' };
    const one = value(
      await simulator.createPaymentMethod(credentials, { token: 'tok_visa', idempotencyKey: 'shared-key' }),
    );
    const two = value(
      await simulator.createPaymentMethod(other, { token: 'tok_amex', idempotencyKey: 'shared-key' }),
    );
    expect(two.id).not.toBe(one.id);
    expect(
      await simulator.createPaymentMethod(
        { ...credentials, secretKey: '' },
        { token: 'tok_visa', idempotencyKey: 'k' },
      ),
    ).toMatchObject({
      ok: false,
      failure: { kind: 'unauthorized' },
    });
  });
});
