/**
 * Secrets never leave an adapter in text: not when the provider echoes them, not when the HTTP
 * stack fails with them in its message. The ports answer failures as values; nothing throws.
 */
import { describe, expect, it } from 'vitest';
import { DarajaMobileMoney } from '../../src/adapters/providers/daraja/darajaMobileMoney.js';
import { createPaymentProviders } from '../../src/adapters/providers/paymentProviders.js';
import { MpesaSimulator } from '../../src/adapters/providers/simulators/mpesaSimulator.js';
import { StripeCardProcessor } from '../../src/adapters/providers/stripe/stripeCardProcessor.js';
import type { StripeCredentials } from '../../src/domain/payments/credentials.js';
import { isMpesaAmount, mpesaAmountFromShillings } from '../../src/domain/payments/mpesaAmount.js';
import { normalizeKenyanPhone, type Msisdn } from '../../src/domain/payments/phone.js';
import { credentials as mpesa } from './support/fakeDaraja.js';

const stripe: StripeCredentials = {
  secretKey: 'sk_live_VERY_SECRET_key_42',
  webhookSigningSecret: 'whsec_VERY_SECRET_43',
};
const amount = mpesaAmountFromShillings(10n);
if (!isMpesaAmount(amount)) throw new Error('bad amount');
const phone = normalizeKenyanPhone('0712345678') as Msisdn;

/** A fetch that fails with everything it was given in the error message. */
const leakyFetch: typeof fetch = (input, init) => {
  const headers = JSON.stringify(init?.headers ?? {});
  const error = new TypeError(
    `fetch failed for ${JSON.stringify(input)} ${headers} ${JSON.stringify(init?.body ?? null)}`,
  );
  return Promise.reject(error);
};

describe('secrets in failures', () => {
  it('the Daraja adapter scrubs credentials from a failing HTTP stack’s messages', async () => {
    const adapter = new DarajaMobileMoney({
      fetch: leakyFetch,
      sleep: () => Promise.resolve(),
      baseUrls: { sandbox: 'http://127.0.0.1:9', production: 'http://127.0.0.1:9' },
    });
    const answers = [
      await adapter.stkPush(mpesa, {
        phone,
        amount,
        accountReference: 'A',
        description: 'B',
        callbackUrl: 'https://x/cb',
      }),
      await adapter.b2cPayout(mpesa, {
        originatorConversationId: 'p',
        phone,
        amount,
        remarks: 'r',
        resultUrl: 'https://x/cb',
      }),
    ];
    expect(answers.every((answer) => !answer.ok && answer.failure.kind === 'unavailable')).toBe(true);
    const text = JSON.stringify(answers);
    const basic = Buffer.from(`${mpesa.consumerKey}:${mpesa.consumerSecret}`).toString('base64');
    for (const secret of [mpesa.consumerSecret, mpesa.passkey, mpesa.securityCredential, basic]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('the connection failed (TypeError)');
  });

  it('the Stripe adapter scrubs the secret key from a failing HTTP stack’s messages', async () => {
    const adapter = new StripeCardProcessor({ fetch: leakyFetch, sleep: () => Promise.resolve() });
    const answers = [
      await adapter.createPaymentMethod(stripe, { token: 'tok_visa', idempotencyKey: 'k' }),
      await adapter.getPayment(stripe, 'pi_1'),
    ];
    expect(answers.every((answer) => !answer.ok && answer.failure.kind === 'unavailable')).toBe(true);
    const text = JSON.stringify(answers);
    expect(text).not.toContain(stripe.secretKey);
    expect(text).toContain('the connection failed (TypeError)');
  });

  it('createPaymentProviders gives the simulators by default and the real adapters live', async () => {
    const simulated = createPaymentProviders({ mode: 'simulator' });
    expect(simulated.mobileMoney).toBeInstanceOf(MpesaSimulator);
    await simulated.close();
    const live = createPaymentProviders({ mode: 'live' });
    expect(live.mobileMoney).toBeInstanceOf(DarajaMobileMoney);
    expect(live.cards).toBeInstanceOf(StripeCardProcessor);
    await live.close();
  });
});
