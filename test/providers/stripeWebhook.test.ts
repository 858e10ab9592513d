import { describe, expect, it } from 'vitest';
import { readPaymentIntent } from '../../src/adapters/providers/stripe/wire.js';
import {
  readStripeEvent,
  signStripePayload,
  STRIPE_SIGNATURE_TOLERANCE_S,
  verifyStripeSignature,
} from '../../src/adapters/providers/stripe/webhook.js';

const SECRET = 'whsec_test_secret';
const VECTOR_BODY = '{"id":"evt_test","object":"event"}';
const VECTOR_SIGNATURE = '8042376f6ca064adbe037642a718227dfd59047137eb49497a54c49eb0cfb724';
const T = 1_700_000_000;

describe('Stripe webhook signatures', () => {
  it('computes the test vector of PROVIDERS.md', () => {
    expect(signStripePayload(VECTOR_BODY, SECRET, T)).toBe(`t=${T},v1=${VECTOR_SIGNATURE}`);
  });

  it('accepts the vector within the tolerance, from raw bytes or text', () => {
    expect(verifyStripeSignature(VECTOR_BODY, `t=${T},v1=${VECTOR_SIGNATURE}`, SECRET, T + 10)).toEqual({
      ok: true,
      timestamp: T,
    });
    expect(
      verifyStripeSignature(Buffer.from(VECTOR_BODY), `t=${T},v1=${VECTOR_SIGNATURE}`, SECRET, T - 299).ok,
    ).toBe(true);
  });

  it('accepts when any one of several v1 signatures matches (a secret being rolled)', () => {
    const header = `t=${T},v1=${'0'.repeat(64)},v0=abc,v1=${VECTOR_SIGNATURE}`;
    expect(verifyStripeSignature(VECTOR_BODY, header, SECRET, T).ok).toBe(true);
  });

  it.each([
    ['no header', undefined, T, 'missing'],
    ['no timestamp', `v1=${VECTOR_SIGNATURE}`, T, 'no timestamp'],
    ['no v1', `t=${T},v0=${VECTOR_SIGNATURE}`, T, 'no v1'],
    ['a wrong signature', `t=${T},v1=${'a'.repeat(64)}`, T, 'no signature matches'],
    ['another timestamp', `t=${T + 1},v1=${VECTOR_SIGNATURE}`, T, 'no signature matches'],
    ['too old', `t=${T},v1=${VECTOR_SIGNATURE}`, T + STRIPE_SIGNATURE_TOLERANCE_S + 1, 'more than 300 s'],
    [
      'from the future',
      `t=${T},v1=${VECTOR_SIGNATURE}`,
      T - STRIPE_SIGNATURE_TOLERANCE_S - 1,
      'more than 300 s',
    ],
    ['an absurd header', 'x'.repeat(5_000), T, 'too long'],
  ])('refuses %s', (_what, header, now, reason) => {
    const check = verifyStripeSignature(VECTOR_BODY, header, SECRET, now);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toContain(reason);
  });

  it('refuses a body changed by a single byte (re-serialized JSON is not the raw body)', () => {
    const header = `t=${T},v1=${VECTOR_SIGNATURE}`;
    expect(verifyStripeSignature('{"id": "evt_test","object":"event"}', header, SECRET, T).ok).toBe(false);
    expect(verifyStripeSignature(VECTOR_BODY, header, 'whsec_other', T).ok).toBe(false);
  });

  it('reads a verified event and its PaymentIntent', () => {
    const body = JSON.stringify({
      id: 'evt_1',
      object: 'event',
      created: T,
      livemode: false,
      type: 'payment_intent.succeeded',
      data: {
        object: {
          id: 'pi_1',
          object: 'payment_intent',
          amount: 2000,
          amount_capturable: 0,
          amount_received: 2000,
          currency: 'usd',
          status: 'succeeded',
          capture_method: 'automatic',
          metadata: { paymentId: 'pay_1' },
        },
      },
    });
    const read = readStripeEvent(body, signStripePayload(body, SECRET, T), SECRET, T);
    if (!read.ok) throw new Error(read.reason);
    expect(read.event).toMatchObject({
      id: 'evt_1',
      type: 'payment_intent.succeeded',
      created: T,
      livemode: false,
    });
    expect(readPaymentIntent(read.event.object)).toMatchObject({
      id: 'pi_1',
      amountReceived: 2000n,
      metadata: { paymentId: 'pay_1' },
    });
    expect(readStripeEvent(body, signStripePayload(body, 'whsec_wrong', T), SECRET, T).ok).toBe(false);
    const notEvent = '{"id":"evt_2"}';
    expect(readStripeEvent(notEvent, signStripePayload(notEvent, SECRET, T), SECRET, T)).toEqual({
      ok: false,
      reason: 'type is missing',
    });
  });
});
