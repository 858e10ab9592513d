/**
 * The background follow-up of card payments and refunds whose outcome never came (issue 7), on
 * real PostgreSQL over HTTP with the card simulator: a payment left `processing` whose webhook
 * never comes is settled by the resolver retrieving it — without any read of the payment or
 * webhook — and posted once (a late webhook changes nothing); a declined one is failed and
 * posts nothing; one that stays processing is asked a bounded number of times, then left
 * pending with a reconciliation alert and asked no more; a refund whose answer was lost is asked
 * again with the same key and reversed once (the processor refunded it once). The ledger ends
 * balanced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/adapters/providers/stripe/webhook.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { expectBalancedLedger } from '../support/balancedLedger.js';
import { describeResponse, pause, until } from '../support/mpesaHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';

const run = serviceGate('card resolver on PostgreSQL', await probePostgres());

const SECRET = 'whsec_cardResolverSecret001';
const QUIET_HOURS = { unusualHoursStart: 0, unusualHoursEnd: 0 };
/** The background resolver asks this many times at most. */
const ATTEMPTS = 3;
/** Intervals waited, after the last ask, to see the resolver ask no more. */
const QUIET_ROUNDS = 8;
const INTERVAL_MS = 40;

interface StoredEvent {
  readonly type: string;
  readonly data: unknown;
  readonly actor: unknown;
}

describe.skipIf(!run)('the background card resolver on PostgreSQL', () => {
  let app: TestApp;
  let orgId: string;
  let token: string;
  let sequence = 0;
  /** While set, the processor takes refunds but their answers are lost (a processor timeout). */
  let loseRefundAnswers = false;

  async function ok(method: string, path: string, body: unknown, expected: number) {
    const answer = await app.request(method, path, { token, body });
    expect(answer.status, describeResponse(answer)).toBe(expected);
    return answer.body as Record<string, unknown>;
  }

  /** A card payment charged with `cardToken`: its id and answered status. */
  async function pay(cardToken: string, amount: string): Promise<{ paymentId: string; status: string }> {
    const customer = await ok('POST', '/v1/customers', { name: 'Wanjiru' }, 201);
    const customerId = customer['customerId'] as string;
    await ok(
      'POST',
      `/v1/customers/${customerId}/payment-methods`,
      { token: cardToken, setDefault: true },
      201,
    );
    const paid = await ok('POST', '/v1/payments', { customerId, amount, currency: 'USD' }, 201);
    return { paymentId: paid['paymentId'] as string, status: paid['status'] as string };
  }

  /** The payment's events, read from the store: never a read that asks the processor. */
  async function events(paymentId: string): Promise<readonly StoredEvent[]> {
    return app.server.runtime.store.readStream(`${orgId}.payment-${paymentId}`);
  }

  async function count(paymentId: string, type: string): Promise<number> {
    return (await events(paymentId)).filter((event) => event.type === type).length;
  }

  async function alerts(paymentId: string): Promise<{ kind: string; amount: string }[]> {
    const { rows } = await app.server.runtime.services.db.query<{ kind: string; amount: string }>(
      'SELECT kind, amount::text AS amount FROM rm_reconciliation_alerts WHERE payment_id = $1',
      [paymentId],
    );
    return rows;
  }

  async function transfer(transferId: string) {
    return (await app.server.runtime.services.ledger.state(orgId)).transfers.get(transferId);
  }

  function deliver(body: string) {
    const url = new URL(app.server.runtime.services.payments.callbacks.stripeWebhookUrl(orgId));
    return app.request('POST', url.pathname, {
      rawBody: body,
      headers: {
        'content-type': 'application/json',
        'stripe-signature': signStripePayload(body, SECRET, Math.floor(Date.now() / 1000)),
      },
    });
  }

  function succeededEvent(paymentId: string, intentId: string, cents: number): string {
    sequence += 1;
    return JSON.stringify({
      id: `evt_resolver_${String(sequence)}`,
      object: 'event',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      type: 'payment_intent.succeeded',
      data: {
        object: {
          id: intentId,
          object: 'payment_intent',
          amount: cents,
          amount_capturable: 0,
          amount_received: cents,
          capture_method: 'automatic',
          currency: 'usd',
          metadata: { paymentId, orgId },
          status: 'succeeded',
        },
      },
    });
  }

  async function intentOf(paymentId: string): Promise<string> {
    const submitted = (await events(paymentId)).find((event) => event.type === 'PaymentSubmitted');
    return (submitted?.data as { providerRef: string } | undefined)?.providerRef ?? '';
  }

  beforeAll(async () => {
    app = await startTestApp('postgres', {
      env: {
        LEDGERLINE_CARD_RESOLVER_INTERVAL_MS: String(INTERVAL_MS),
        LEDGERLINE_CARD_RESOLVER_GRACE_MS: '0',
        LEDGERLINE_CARD_RESOLVER_ATTEMPTS: String(ATTEMPTS),
      },
    });
    orgId = app.demoOrgId;
    token = app.demoKey;
    await ok(
      'PUT',
      '/v1/provider-credentials',
      {
        provider: 'stripe',
        credentials: { secretKey: 'sk_test_cardResolver', webhookSigningSecret: SECRET },
      },
      200,
    );
    await ok('PATCH', '/v1/payments/settings', { fraudPolicy: QUIET_HOURS }, 200);
    // The simulator itself, with its refund answers lost on demand.
    const cards = app.server.runtime.services.payments.providers.cards;
    const refund = cards.refund.bind(cards);
    cards.refund = async (credentials, request) => {
      const answer = await refund(credentials, request);
      if (!loseRefundAnswers || !answer.ok) return answer;
      return {
        ok: false,
        failure: { kind: 'unavailable', message: 'Stripe: no answer (test)', mayHaveHappened: true },
      };
    };
  });

  afterAll(async () => {
    await app.close();
  });

  it('settles a processing payment whose webhook never comes by retrieving it, posting once; a late webhook changes nothing', async () => {
    const { paymentId, status } = await pay('tok_processingSucceeds', '25.50');
    expect(status).toBe('pending');
    // The resolver records the outcome, then its ask: wait for both.
    const stream = await until(
      () => events(paymentId),
      (found) =>
        found.filter((event) => event.type === 'PaymentSucceeded').length === 1 &&
        found.some((event) => event.type === 'ProviderStatusQueried'),
    );
    // Settled by the platform on its own: no webhook, no read by anyone.
    expect(stream.find((event) => event.type === 'PaymentSucceeded')?.actor).toMatchObject({
      kind: 'system',
    });
    expect(await transfer(paymentId)).toMatchObject({ status: 'posted', amount: 2550n });

    const late = succeededEvent(paymentId, await intentOf(paymentId), 2550);
    const answer = await deliver(late);
    expect(answer.status, describeResponse(answer)).toBe(200);
    for (let round = 0; round < QUIET_ROUNDS; round += 1) await pause();
    expect(await count(paymentId, 'PaymentSucceeded')).toBe(1);
    expect(await transfer(paymentId)).toMatchObject({ status: 'posted', amount: 2550n });
    const ledger = await app.server.runtime.services.ledger.state(orgId);
    expect([...ledger.transfers.keys()].filter((id) => id.startsWith(paymentId))).toEqual([paymentId]);
  });

  it('fails a processing payment the processor declined meanwhile, posting nothing', async () => {
    const { paymentId } = await pay('tok_processingDeclines', '9.00');
    await until(
      () => count(paymentId, 'PaymentFailed'),
      (found) => found === 1,
    );
    expect(await count(paymentId, 'PaymentSucceeded')).toBe(0);
    expect(await transfer(paymentId)).toBeUndefined();
  });

  it('asks about a payment that stays processing at most 3 times, then alerts and stops, leaving it pending', async () => {
    const { paymentId } = await pay('tok_processing', '12.00');
    await until(
      () => alerts(paymentId),
      (raised) => raised.length > 0,
    );
    expect(await alerts(paymentId)).toEqual([{ kind: 'outcome_unresolved', amount: '12.00' }]);
    expect(await count(paymentId, 'ProviderStatusQueried')).toBe(ATTEMPTS);
    for (let round = 0; round < QUIET_ROUNDS; round += 1) await pause();
    expect(await count(paymentId, 'ProviderStatusQueried')).toBe(ATTEMPTS);
    const { rows } = await app.server.runtime.services.db.query<{ status: string; status_queries: number }>(
      'SELECT status, status_queries FROM rm_payments WHERE payment_id = $1',
      [paymentId],
    );
    expect(rows).toEqual([{ status: 'pending', status_queries: ATTEMPTS }]);
    expect(await count(paymentId, 'PaymentFailed')).toBe(0);
    expect(await transfer(paymentId)).toBeUndefined();
    // Its webhook, when it comes at last, still settles it: once.
    const late = succeededEvent(paymentId, await intentOf(paymentId), 1200);
    expect((await deliver(late)).status).toBe(200);
    expect((await deliver(late)).status).toBe(200);
    expect(await count(paymentId, 'PaymentSucceeded')).toBe(1);
    expect(await transfer(paymentId)).toMatchObject({ status: 'posted', amount: 1200n });
  });

  it('settles a refund whose answer was lost by asking again with the same key: refunded and reversed once', async () => {
    const { paymentId, status } = await pay('tok_visa', '30.00');
    expect(status).toBe('succeeded');
    loseRefundAnswers = true;
    const asked = await ok('POST', `/v1/payments/${paymentId}/refunds`, { amount: '10.00' }, 201);
    loseRefundAnswers = false;
    expect(asked['status']).toBe('requested');
    const refundId = asked['refundId'] as string;
    // Reversed, then the ask recorded (about the refund, not the payment).
    const queried = await until(
      async () =>
        (await events(paymentId))
          .filter((event) => event.type === 'ProviderStatusQueried')
          .map((event) => (event.data as { reversalId?: string }).reversalId),
      (ids) => ids.includes(refundId),
    );
    expect(queried.every((id) => id === refundId)).toBe(true);
    expect(await count(paymentId, 'ReversalSucceeded')).toBe(1);
    expect(await transfer(refundId)).toMatchObject({ amount: 1000n });
    // The processor refunded 10.00 once: the remaining 20.00 is still refundable there.
    const rest = await ok('POST', `/v1/payments/${paymentId}/refunds`, {}, 201);
    expect(rest).toMatchObject({ status: 'succeeded', amount: '20.00', remaining: '0.00' });
    for (let round = 0; round < QUIET_ROUNDS; round += 1) await pause();
    expect(await count(paymentId, 'ReversalSucceeded')).toBe(2);
    expect(await alerts(paymentId)).toEqual([]);
  });

  it('counts an ask that fails on our side (credentials revoked), so it is bounded too, then alerts', async () => {
    const { paymentId } = await pay('tok_processing', '7.00');
    await ok('POST', '/v1/provider-credentials/stripe/revoke', { reason: 'rotating keys' }, 200);
    await until(
      () => alerts(paymentId),
      (raised) => raised.length > 0,
    );
    const asks = (await events(paymentId)).filter((event) => event.type === 'ProviderStatusQueried');
    expect(asks).toHaveLength(ATTEMPTS);
    expect(
      asks.some((event) => (event.data as { resultCode: string }).resultCode === 'CREDENTIALS_REVOKED'),
    ).toBe(true);
    for (let round = 0; round < QUIET_ROUNDS; round += 1) await pause();
    expect(await count(paymentId, 'ProviderStatusQueried')).toBe(ATTEMPTS);
    expect(await transfer(paymentId)).toBeUndefined();
  });

  it('leaves the ledger balanced: debits equal credits in every asset', async () => {
    await expectBalancedLedger(app, orgId);
  });
});
