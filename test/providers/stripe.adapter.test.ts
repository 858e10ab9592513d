import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formEncode } from '../../src/adapters/providers/stripe/formEncode.js';
import {
  STRIPE_READ_ATTEMPTS_MAX,
  StripeCardProcessor,
} from '../../src/adapters/providers/stripe/stripeCardProcessor.js';
import type { StripeCredentials } from '../../src/domain/payments/credentials.js';
import type { ProviderResult } from '../../src/domain/payments/providerResult.js';
import { sendJson } from './support/httpServer.js';
import { startFakeStripe, STRIPE_SECRET_KEY, type FakeStripe } from './support/fakeStripe.js';

const credentials: StripeCredentials = {
  secretKey: STRIPE_SECRET_KEY,
  webhookSigningSecret: 'whsec_test_secret',
};

function value<T>(result: ProviderResult<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.failure)}`);
  return result.value;
}

function failure<T>(result: ProviderResult<T>) {
  if (result.ok) throw new Error(`expected a failure, got ${String(result.value)}`);
  return result.failure;
}

describe('form encoding', () => {
  it('nests keys with literal brackets and percent-encodes the rest', () => {
    expect(
      formEncode({
        amount: 2000n,
        currency: 'usd',
        confirm: true,
        payment_method_types: ['card'],
        metadata: { order: 'A&B=1', 'key with space': 'ü' },
        description: undefined,
        card: { token: 'tok_visa' },
      }),
    ).toBe(
      'amount=2000&currency=usd&confirm=true&payment_method_types[0]=card&metadata[order]=A%26B%3D1&metadata[key%20with%20space]=%C3%BC&card[token]=tok_visa',
    );
  });
});

describe('Stripe adapter against a local Stripe', () => {
  let stripe: FakeStripe;
  let adapter: StripeCardProcessor;

  beforeEach(async () => {
    stripe = await startFakeStripe();
    adapter = new StripeCardProcessor({
      baseUrl: stripe.server.url,
      sleep: () => Promise.resolve(),
      requestTimeoutMs: 2_000,
    });
  });

  afterEach(async () => {
    await stripe.server.close();
  });

  const method = async (token: string) =>
    value(await adapter.createPaymentMethod(credentials, { token, idempotencyKey: `pm-${token}` }));

  it('turns a token into a payment method holding brand, last 4 and expiry only', async () => {
    const created = await method('tok_visa');
    expect(created).toEqual({
      id: 'pm_1',
      brand: 'visa',
      last4: '4242',
      expMonth: 12,
      expYear: 2034,
      funding: 'credit',
    });
    const [sent] = stripe.calls('POST', '/v1/payment_methods');
    expect(sent!.body).toBe('type=card&card[token]=tok_visa');
    expect(sent!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(sent!.headers['idempotency-key']).toBe('pm-tok_visa');
    expect(sent!.headers.authorization).toBe(`Bearer ${STRIPE_SECRET_KEY}`);
  });

  it('authorizes and captures at once in minor units, with metadata as nested keys', async () => {
    const pm = await method('tok_visa');
    const payment = value(
      await adapter.createPayment(credentials, {
        amount: 2000n,
        currency: 'USD',
        paymentMethodId: pm.id,
        captureMethod: 'automatic',
        description: 'Order 42',
        metadata: { paymentId: 'pay_1' },
        idempotencyKey: 'pay_1:create',
      }),
    );
    expect(payment).toEqual({
      id: 'pi_2',
      status: 'succeeded',
      amount: 2000n,
      amountCapturable: 0n,
      amountReceived: 2000n,
      currency: 'usd',
      captureMethod: 'automatic',
      paymentMethodId: 'pm_1',
      metadata: { paymentId: 'pay_1' },
    });
    const sent = new URLSearchParams(stripe.calls('POST', '/v1/payment_intents')[0]!.body);
    expect(Object.fromEntries(sent)).toEqual({
      amount: '2000',
      currency: 'usd',
      payment_method: 'pm_1',
      'payment_method_types[0]': 'card',
      capture_method: 'automatic',
      confirm: 'true',
      description: 'Order 42',
      'metadata[paymentId]': 'pay_1',
    });
  });

  it('authorizes, then captures part of the authorization', async () => {
    const pm = await method('tok_mastercard');
    const authorized = value(
      await adapter.createPayment(credentials, {
        amount: 5000n,
        currency: 'kes',
        paymentMethodId: pm.id,
        captureMethod: 'manual',
        idempotencyKey: 'pay_2:create',
      }),
    );
    expect(authorized).toMatchObject({
      status: 'requires_capture',
      amountCapturable: 5000n,
      amountReceived: 0n,
    });
    const captured = value(
      await adapter.capturePayment(credentials, {
        paymentId: authorized.id,
        amount: 4000n,
        idempotencyKey: 'pay_2:capture',
      }),
    );
    expect(captured).toMatchObject({ status: 'succeeded', amountReceived: 4000n });
    expect(stripe.calls('POST', `/v1/payment_intents/${authorized.id}/capture`)[0]!.body).toBe(
      'amount_to_capture=4000',
    );
  });

  it('reports a declined card and an insufficient-funds card as typed declines', async () => {
    for (const [token, reason, code] of [
      ['tok_chargeDeclined', 'generic_decline', 'generic_decline'],
      ['tok_chargeDeclinedInsufficientFunds', 'insufficient_funds', 'insufficient_funds'],
    ] as const) {
      const pm = await method(token);
      const declined = failure(
        await adapter.createPayment(credentials, {
          amount: 1000n,
          currency: 'usd',
          paymentMethodId: pm.id,
          captureMethod: 'automatic',
          idempotencyKey: `${token}:create`,
        }),
      );
      expect(declined).toMatchObject({ kind: 'declined', reason, providerCode: code });
      expect(declined.kind === 'declined' && declined.paymentId).toMatch(/^pi_/);
    }
  });

  it('reads a PaymentIntent returned to requires_payment_method with last_payment_error as a decline', async () => {
    stripe.override('/v1/payment_intents', (_request, response) => {
      sendJson(response, 200, {
        id: 'pi_9',
        status: 'requires_payment_method',
        amount: 100,
        amount_capturable: 0,
        amount_received: 0,
        currency: 'usd',
        capture_method: 'automatic',
        last_payment_error: { type: 'card_error', code: 'expired_card', message: 'Your card has expired.' },
      });
    });
    expect(
      failure(
        await adapter.createPayment(credentials, {
          amount: 100n,
          currency: 'usd',
          paymentMethodId: 'pm_x',
          captureMethod: 'automatic',
          idempotencyKey: 'k',
        }),
      ),
    ).toEqual({
      kind: 'declined',
      reason: 'expired_card',
      providerCode: 'expired_card',
      message: 'Your card has expired.',
      paymentId: 'pi_9',
    });
  });

  it('refunds in parts and reports a refund above what remains as a rejection naming the field', async () => {
    const pm = await method('tok_visa');
    const payment = value(
      await adapter.createPayment(credentials, {
        amount: 3000n,
        currency: 'usd',
        paymentMethodId: pm.id,
        captureMethod: 'automatic',
        idempotencyKey: 'pay_3:create',
      }),
    );
    const refund = value(
      await adapter.refund(credentials, {
        paymentId: payment.id,
        amount: 1000n,
        reason: 'requested_by_customer',
        idempotencyKey: 'pay_3:refund:1',
      }),
    );
    expect(refund).toEqual({
      id: 're_3',
      paymentId: payment.id,
      amount: 1000n,
      currency: 'usd',
      status: 'succeeded',
      reason: 'requested_by_customer',
    });
    expect(
      failure(
        await adapter.refund(credentials, {
          paymentId: payment.id,
          amount: 2001n,
          idempotencyKey: 'pay_3:refund:2',
        }),
      ),
    ).toMatchObject({
      kind: 'rejected',
      providerCode: 'amount_too_large',
      field: 'amount',
      httpStatus: 400,
    });
    // Without an amount: what remains.
    expect(
      value(await adapter.refund(credentials, { paymentId: payment.id, idempotencyKey: 'pay_3:refund:3' }))
        .amount,
    ).toBe(2000n);
  });

  it('replays the first answer for a repeated idempotency key and refuses the key with other parameters', async () => {
    const pm = await method('tok_visa');
    const request = {
      amount: 700n,
      currency: 'usd',
      paymentMethodId: pm.id,
      captureMethod: 'automatic' as const,
      idempotencyKey: 'pay_4:create',
    };
    const first = value(await adapter.createPayment(credentials, request));
    const again = value(await adapter.createPayment(credentials, request));
    expect(again).toEqual(first);
    expect(stripe.intentsCreated()).toBe(1);
    expect(failure(await adapter.createPayment(credentials, { ...request, amount: 701n }))).toMatchObject({
      kind: 'conflict',
      providerCode: 'idempotency_error',
    });
  });

  it('sends a POST whose answer is lost exactly once; repeating it with the same key charges once', async () => {
    adapter = new StripeCardProcessor({ baseUrl: stripe.server.url, requestTimeoutMs: 200 });
    const pm = await method('tok_visa');
    stripe.dropNextAnswer();
    const request = {
      amount: 900n,
      currency: 'usd',
      paymentMethodId: pm.id,
      captureMethod: 'automatic' as const,
      idempotencyKey: 'pay_5:create',
    };
    expect(failure(await adapter.createPayment(credentials, request))).toMatchObject({
      kind: 'unavailable',
      mayHaveHappened: true,
    });
    expect(stripe.calls('POST', '/v1/payment_intents')).toHaveLength(1);
    // The command layer repeats the command with the same key.
    expect(value(await adapter.createPayment(credentials, request))).toMatchObject({
      status: 'succeeded',
      amount: 900n,
    });
    expect(stripe.intentsCreated()).toBe(1);
  });

  it('never retries a POST answered with a 500', async () => {
    stripe.override('/v1/refunds', (_request, response) => {
      sendJson(response, 500, { error: { type: 'api_error', message: 'Something went wrong' } });
    });
    expect(
      failure(await adapter.refund(credentials, { paymentId: 'pi_1', idempotencyKey: 'r' })),
    ).toMatchObject({
      kind: 'unavailable',
      mayHaveHappened: true,
    });
    expect(stripe.calls('POST', '/v1/refunds')).toHaveLength(1);
  });

  it('retries a read on 5xx and lost answers, a bounded number of times', async () => {
    const pm = await method('tok_visa');
    const payment = value(
      await adapter.createPayment(credentials, {
        amount: 100n,
        currency: 'usd',
        paymentMethodId: pm.id,
        captureMethod: 'automatic',
        idempotencyKey: 'p',
      }),
    );
    const path = `/v1/payment_intents/${payment.id}`;
    let calls = 0;
    stripe.override(path, (_request, response) => {
      calls += 1;
      if (calls === 1) {
        response.socket?.destroy();
        return true;
      }
      if (calls === 2) {
        sendJson(response, 503, { error: { type: 'api_error', message: 'busy' } });
        return true;
      }
      return false;
    });
    expect(value(await adapter.getPayment(credentials, payment.id)).id).toBe(payment.id);
    expect(stripe.calls('GET', path)).toHaveLength(3);
    stripe.override(path, (_request, response) => {
      sendJson(response, 503, { error: { type: 'api_error', message: 'busy' } });
    });
    expect(failure(await adapter.getPayment(credentials, payment.id))).toMatchObject({
      kind: 'unavailable',
      mayHaveHappened: false,
    });
    expect(stripe.calls('GET', path)).toHaveLength(3 + STRIPE_READ_ATTEMPTS_MAX);
  });

  it('maps a refused key to unauthorized without the key in the message, even when Stripe echoes it', async () => {
    const wrong = { ...credentials, secretKey: 'sk_test_WRONG_but_still_secret_999' };
    const refused = failure(
      await adapter.createPaymentMethod(wrong, { token: 'tok_visa', idempotencyKey: 'x' }),
    );
    expect(refused.kind).toBe('unauthorized');
    expect(JSON.stringify(refused)).not.toContain('sk_test_WRONG_but_still_secret_999');
    expect(JSON.stringify(refused)).toContain('[redacted]');
  });

  it('maps 429 with Retry-After to rate_limited', async () => {
    stripe.override('/v1/payment_methods', (_request, response) => {
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
      response.end(
        JSON.stringify({
          error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' },
        }),
      );
    });
    expect(
      failure(await adapter.createPaymentMethod(credentials, { token: 'tok_visa', idempotencyKey: 'x' })),
    ).toEqual({
      kind: 'rate_limited',
      message: 'Too many requests',
      retryAfterSeconds: 2,
    });
  });

  it('maps an unknown token to a rejection naming the parameter', async () => {
    expect(
      failure(await adapter.createPaymentMethod(credentials, { token: 'tok_unknown', idempotencyKey: 'x' })),
    ).toMatchObject({
      kind: 'rejected',
      providerCode: 'resource_missing',
      field: 'card[token]',
    });
  });

  it('refuses bad arguments before calling Stripe', async () => {
    expect(failure(await adapter.getPayment(credentials, '../v1/charges'))).toMatchObject({
      kind: 'rejected',
      field: 'paymentId',
    });
    expect(
      failure(
        await adapter.createPaymentMethod(credentials, {
          token: 'tok_visa',
          idempotencyKey: 'k'.repeat(256),
        }),
      ),
    ).toMatchObject({ kind: 'rejected', field: 'idempotencyKey' });
    expect(stripe.server.requests).toHaveLength(0);
  });
});
