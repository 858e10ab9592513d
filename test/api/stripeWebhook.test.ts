/**
 * The Stripe webhook route (`/webhooks/stripe/{orgId}/{secretToken}`, issue 7), on real
 * PostgreSQL over HTTP: card payments the processor left `processing` (the simulator's
 * `tok_processing`) are settled by signed events built per PROVIDERS.md — success posts once
 * however often Stripe repeats the event, failure records the decline and posts nothing. A bad
 * signature is 400 with nothing written; a wrong token is a missing route; an event naming
 * another organization's payment, or signed with another organization's secret, changes
 * nothing. The event is kept for audit, without the PaymentIntent's client secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/adapters/providers/stripe/webhook.js';
import type { CardRefund } from '../../src/domain/payments/cardProcessor.js';
import { startTestApp, type TestApp, type TestResponse } from '../support/app.js';
import { until } from '../support/mpesaHttp.js';
import { openReconciliationAlert } from '../support/reconciliation.js';
import { probePostgres, serviceGate } from '../support/services.js';

const run = serviceGate('Stripe webhooks on PostgreSQL', await probePostgres());

const PASSWORD = 'correct horse battery staple';
const QUIET_HOURS = { unusualHoursStart: 0, unusualHoursEnd: 0 };
const CLIENT_SECRET = 'pi_3Abc_secret_DoNotKeepThis';

interface Org {
  orgId: string;
  token: string;
  secret: string;
}

function describeResponse(response: TestResponse): string {
  return `${response.status} ${JSON.stringify(response.body)}`;
}

describe.skipIf(!run)('Stripe webhooks on PostgreSQL', () => {
  let app: TestApp;
  let demo: Org;
  let other: Org;
  let sequence = 0;
  /** While set, the processor takes refunds but their answers are lost (kept here instead). */
  let loseRefundAnswers = false;
  /** While set, the processor takes refunds but answers them pending (as Stripe often does). */
  let pendingRefundAnswers = false;
  const lostRefunds: CardRefund[] = [];

  async function ok(org: Org, method: string, path: string, body: unknown, expected: number) {
    const answer = await app.request(method, path, { token: org.token, body });
    expect(answer.status, describeResponse(answer)).toBe(expected);
    return answer.body as Record<string, unknown>;
  }

  async function configure(org: Org): Promise<void> {
    await ok(
      org,
      'PUT',
      '/v1/provider-credentials',
      {
        provider: 'stripe',
        credentials: { secretKey: `sk_test_${org.orgId.slice(-12)}`, webhookSigningSecret: org.secret },
      },
      200,
    );
    await ok(org, 'PATCH', '/v1/payments/settings', { fraudPolicy: QUIET_HOURS }, 200);
  }

  /** A new customer with a saved card (`token`) pays `amount` USD: the payment's answer. */
  async function payByCard(org: Org, name: string, token: string, amount: string) {
    const customer = await ok(org, 'POST', '/v1/customers', { name }, 201);
    await ok(
      org,
      'POST',
      `/v1/customers/${customer['customerId'] as string}/payment-methods`,
      { token, setDefault: true },
      201,
    );
    return ok(
      org,
      'POST',
      '/v1/payments',
      { customerId: customer['customerId'], amount, currency: 'USD', description: 'Order' },
      201,
    );
  }

  /** A card payment the processor left processing: its id and PaymentIntent id. */
  async function processingPayment(
    org: Org,
    amount: string,
  ): Promise<{ paymentId: string; intentId: string }> {
    const paid = await payByCard(org, 'Achieng', 'tok_processing', amount);
    expect(paid['status']).toBe('pending');
    const paymentId = paid['paymentId'] as string;
    const events = await app.server.runtime.store.readStream(`${org.orgId}.payment-${paymentId}`);
    const submitted = events.find((event) => event.type === 'PaymentSubmitted');
    const intentId = (submitted?.data as { providerRef: string } | undefined)?.providerRef ?? '';
    expect(intentId).toMatch(/^pi_/);
    return { paymentId, intentId };
  }

  function eventBody(
    type: string,
    payment: { paymentId: string; intentId: string },
    orgId: string,
    cents: number,
    status: string,
    extra: Record<string, unknown> = {},
  ): string {
    sequence += 1;
    return JSON.stringify({
      id: `evt_test_${String(sequence)}_${payment.paymentId.slice(-6)}`,
      object: 'event',
      api_version: '2024-06-20',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      type,
      data: {
        object: {
          id: payment.intentId,
          object: 'payment_intent',
          amount: cents,
          amount_capturable: 0,
          amount_received: status === 'succeeded' ? cents : 0,
          capture_method: 'automatic',
          client_secret: CLIENT_SECRET,
          currency: 'usd',
          metadata: { paymentId: payment.paymentId, orgId },
          status,
          ...extra,
        },
      },
    });
  }

  async function deliver(org: Org, body: string, signature?: string): Promise<TestResponse> {
    const url = new URL(app.server.runtime.services.payments.callbacks.stripeWebhookUrl(org.orgId));
    return app.request('POST', url.pathname, {
      rawBody: body,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'stripe-signature': signature ?? signStripePayload(body, org.secret, Math.floor(Date.now() / 1000)),
      },
    });
  }

  async function paymentStatus(org: Org, paymentId: string): Promise<string> {
    const events = await app.server.runtime.store.readStream(`${org.orgId}.payment-${paymentId}`);
    const last = [...events]
      .reverse()
      .find((event) => ['PaymentSucceeded', 'PaymentFailed'].includes(event.type));
    return last?.type ?? 'pending';
  }

  async function transfer(orgId: string, paymentId: string) {
    return (await app.server.runtime.services.ledger.state(orgId)).transfers.get(paymentId);
  }

  beforeAll(async () => {
    app = await startTestApp('postgres');
    demo = { orgId: app.demoOrgId, token: app.demoKey, secret: 'whsec_demoWebhookSecret0001' };
    const email = 'admin@stripe-webhook-other.test';
    const created = await app.request('POST', '/v1/organizations', {
      token: app.adminKey,
      body: { name: 'Other card org', admin: { email, name: 'Admin', password: PASSWORD } },
    });
    expect(created.status, describeResponse(created)).toBe(201);
    const orgId = (created.body as { orgId: string }).orgId;
    const login = await until(
      () => app.request('POST', '/v1/auth/login', { body: { email, password: PASSWORD } }),
      (answer) => answer.status === 200,
    );
    // The simulator itself, with its refund answers lost on demand (a processor timeout).
    const cards = app.server.runtime.services.payments.providers.cards;
    const refund = cards.refund.bind(cards);
    cards.refund = async (credentials, request) => {
      const answer = await refund(credentials, request);
      if (pendingRefundAnswers && answer.ok) {
        lostRefunds.push(answer.value);
        return { ok: true, value: { ...answer.value, status: 'pending' } };
      }
      if (!loseRefundAnswers || !answer.ok) return answer;
      lostRefunds.push(answer.value);
      return {
        ok: false,
        failure: { kind: 'unavailable', message: 'Stripe: no answer (test)', mayHaveHappened: true },
      };
    };
    other = {
      orgId,
      token: (login.body as { accessToken: string }).accessToken,
      secret: 'whsec_otherWebhookSecret02',
    };
    await configure(demo);
    await configure(other);
  });

  afterAll(async () => {
    await app.close();
  });

  it('refuses a bad signature with 400 and writes nothing; a wrong token is a missing route', async () => {
    const payment = await processingPayment(demo, '12.00');
    const body = eventBody('payment_intent.succeeded', payment, demo.orgId, 1200, 'succeeded');
    const before = await app.server.runtime.store.countEvents?.();
    const forged = await deliver(
      demo,
      body,
      signStripePayload(body, 'whsec_notTheSecret', Math.floor(Date.now() / 1000)),
    );
    expect(forged.status, describeResponse(forged)).toBe(400);
    const stale = await deliver(
      demo,
      body,
      signStripePayload(body, demo.secret, Math.floor(Date.now() / 1000) - 3_600),
    );
    expect(stale.status).toBe(400);
    const unsigned = await app.request(
      'POST',
      new URL(app.server.runtime.services.payments.callbacks.stripeWebhookUrl(demo.orgId)).pathname,
      {
        rawBody: body,
        headers: { 'content-type': 'application/json' },
      },
    );
    expect(unsigned.status).toBe(400);
    const wrongToken = await app.request('POST', `/webhooks/stripe/${demo.orgId}/not-the-token`, {
      rawBody: body,
      headers: {
        'content-type': 'application/json',
        'stripe-signature': signStripePayload(body, demo.secret, Math.floor(Date.now() / 1000)),
      },
    });
    expect(wrongToken.status).toBe(404);
    expect(await app.server.runtime.store.countEvents?.()).toBe(before);
    expect(await paymentStatus(demo, payment.paymentId)).toBe('pending');
    expect(await transfer(demo.orgId, payment.paymentId)).toBeUndefined();
  });

  it('settles a processing payment on payment_intent.succeeded, once for the same event three times', async () => {
    const payment = await processingPayment(demo, '25.50');
    const body = eventBody('payment_intent.succeeded', payment, demo.orgId, 2550, 'succeeded');
    for (let copy = 0; copy < 3; copy += 1) {
      const answer = await deliver(demo, body);
      expect(answer.status, describeResponse(answer)).toBe(200);
    }
    expect(await paymentStatus(demo, payment.paymentId)).toBe('PaymentSucceeded');
    const events = await app.server.runtime.store.readStream(`${demo.orgId}.payment-${payment.paymentId}`);
    expect(events.filter((event) => event.type === 'PaymentSucceeded')).toHaveLength(1);
    expect(events.find((event) => event.type === 'PaymentSucceeded')?.actor).toMatchObject({
      kind: 'provider',
      id: 'stripe',
    });
    const posted = await transfer(demo.orgId, payment.paymentId);
    expect(posted?.status).toBe('posted');
    expect(posted?.amount).toBe(2550n);
    // Kept once for audit, without the client secret.
    const eventId = (JSON.parse(body) as { id: string }).id;
    const kept = await app.server.runtime.store.readStream(`${demo.orgId}.stripe_event-${eventId}`);
    expect(kept.map((event) => event.type)).toEqual(['StripeWebhookReceived']);
    expect(JSON.stringify(kept[0]?.data)).not.toContain(CLIENT_SECRET);
    expect(JSON.stringify(kept[0]?.data)).not.toContain('client_secret');
    expect(kept[0]?.data).toMatchObject({ eventId, type: 'payment_intent.succeeded' });
  });

  it('applies an event whose first delivery failed after it was kept, when Stripe delivers it again', async () => {
    const payment = await processingPayment(demo, '31.00');
    const body = eventBody('payment_intent.succeeded', payment, demo.orgId, 3100, 'succeeded');
    const store = app.server.runtime.services.store;
    const append = store.append.bind(store);
    let failed = 0;
    // A fault once, in applying: the event is kept (the duplicate guard), its outcome is not.
    store.append = ((stream: string, ...rest: unknown[]) => {
      if (failed === 0 && stream === `${demo.orgId}.payment-${payment.paymentId}`) {
        failed += 1;
        return Promise.reject(new Error('the database went away for a moment'));
      }
      return (append as (...args: unknown[]) => unknown)(stream, ...rest);
    }) as typeof store.append;
    try {
      const first = await deliver(demo, body);
      expect(first.status, describeResponse(first)).toBe(500);
    } finally {
      store.append = append;
    }
    expect(failed).toBe(1);
    const eventId = (JSON.parse(body) as { id: string }).id;
    const kept = await app.server.runtime.store.readStream(`${demo.orgId}.stripe_event-${eventId}`);
    expect(kept.map((event) => event.type)).toEqual(['StripeWebhookReceived']);
    expect(await paymentStatus(demo, payment.paymentId)).toBe('pending');
    // Stripe retries the same event: applied now, and once however often it comes again.
    for (let copy = 0; copy < 2; copy += 1) {
      const again = await deliver(demo, body);
      expect(again.status, describeResponse(again)).toBe(200);
    }
    expect(await paymentStatus(demo, payment.paymentId)).toBe('PaymentSucceeded');
    const events = await app.server.runtime.store.readStream(`${demo.orgId}.payment-${payment.paymentId}`);
    expect(events.filter((event) => event.type === 'PaymentSucceeded')).toHaveLength(1);
    const posted = await transfer(demo.orgId, payment.paymentId);
    expect(posted?.status).toBe('posted');
    expect(posted?.amount).toBe(3100n);
  });

  it('fails a processing payment on payment_intent.payment_failed with the decline, posting nothing', async () => {
    const payment = await processingPayment(demo, '9.00');
    const body = eventBody(
      'payment_intent.payment_failed',
      payment,
      demo.orgId,
      900,
      'requires_payment_method',
      {
        last_payment_error: {
          code: 'card_declined',
          decline_code: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
        },
      },
    );
    expect((await deliver(demo, body)).status).toBe(200);
    expect(await paymentStatus(demo, payment.paymentId)).toBe('PaymentFailed');
    const events = await app.server.runtime.store.readStream(`${demo.orgId}.payment-${payment.paymentId}`);
    expect(events.find((event) => event.type === 'PaymentFailed')?.data).toMatchObject({
      resultCode: 'insufficient_funds',
    });
    expect(await transfer(demo.orgId, payment.paymentId)).toBeUndefined();
  });

  it('records a failed card payment charged after all (its PaymentIntent confirmed again), once, with an alert', async () => {
    const payment = await processingPayment(demo, '12.00');
    const failed = eventBody(
      'payment_intent.payment_failed',
      payment,
      demo.orgId,
      1200,
      'requires_payment_method',
      {
        last_payment_error: { code: 'card_declined', message: 'Your card was declined.' },
      },
    );
    expect((await deliver(demo, failed)).status).toBe(200);
    expect(await paymentStatus(demo, payment.paymentId)).toBe('PaymentFailed');
    expect(await transfer(demo.orgId, payment.paymentId)).toBeUndefined();
    // The customer confirms the same PaymentIntent again and it succeeds: the money was taken.
    const late = eventBody('payment_intent.succeeded', payment, demo.orgId, 1200, 'succeeded');
    for (let copy = 0; copy < 2; copy += 1) expect((await deliver(demo, late)).status).toBe(200);
    expect(await paymentStatus(demo, payment.paymentId)).toBe('PaymentSucceeded');
    const posted = await transfer(demo.orgId, payment.paymentId);
    expect(posted?.status).toBe('posted');
    expect(posted?.amount).toBe(1200n);
    const events = await app.server.runtime.store.readStream(`${demo.orgId}.payment-${payment.paymentId}`);
    expect(events.filter((event) => event.type === 'PaymentSucceeded')).toHaveLength(1);
    const alerts = events.filter((event) => event.type === 'ReconciliationAlertRaised');
    expect(alerts.map((event) => event.data)).toEqual([
      expect.objectContaining({ kind: 'card_succeeded_after_failure', transferId: payment.paymentId }),
    ]);
    // Another amount, or another PaymentIntent, is not this payment's and changes nothing.
    const other = await processingPayment(demo, '7.00');
    expect(
      (
        await deliver(
          demo,
          eventBody('payment_intent.payment_failed', other, demo.orgId, 700, 'requires_payment_method'),
        )
      ).status,
    ).toBe(200);
    expect(
      (await deliver(demo, eventBody('payment_intent.succeeded', other, demo.orgId, 800, 'succeeded')))
        .status,
    ).toBe(200);
    expect(await paymentStatus(demo, other.paymentId)).toBe('PaymentFailed');
    expect(await transfer(demo.orgId, other.paymentId)).toBeUndefined();
  });

  it('an event naming another organization’s payment changes nothing, at either organization', async () => {
    const payment = await processingPayment(demo, '40.00');
    // At the other organization's URL, signed with its own secret, naming the demo's payment.
    const asOther = eventBody('payment_intent.succeeded', payment, other.orgId, 4000, 'succeeded');
    expect((await deliver(other, asOther)).status).toBe(200);
    const claimingDemo = eventBody('payment_intent.succeeded', payment, demo.orgId, 4000, 'succeeded');
    expect((await deliver(other, claimingDemo)).status).toBe(200);
    // At the demo's URL, signed with the other organization's secret.
    const crossSigned = eventBody('payment_intent.succeeded', payment, demo.orgId, 4000, 'succeeded');
    const refused = await deliver(
      demo,
      crossSigned,
      signStripePayload(crossSigned, other.secret, Math.floor(Date.now() / 1000)),
    );
    expect(refused.status).toBe(400);
    // A PaymentIntent for another amount, at the right URL and rightly signed: not this payment.
    const otherAmount = eventBody('payment_intent.succeeded', payment, demo.orgId, 4001, 'succeeded');
    expect((await deliver(demo, otherAmount)).status).toBe(200);
    expect(await paymentStatus(demo, payment.paymentId)).toBe('pending');
    expect(await transfer(demo.orgId, payment.paymentId)).toBeUndefined();
    expect((await app.server.runtime.services.ledger.state(other.orgId)).transfers.size).toBe(0);
  });
  it('settles a refund whose answer was lost on charge.refunded, reversing the sale once', async () => {
    const paid = await payByCard(demo, 'Otieno', 'tok_visa', '30.00');
    expect(paid['status']).toBe('succeeded');
    const paymentId = paid['paymentId'] as string;
    loseRefundAnswers = true;
    const asked = await ok(demo, 'POST', `/v1/payments/${paymentId}/refunds`, { amount: '10.00' }, 201);
    loseRefundAnswers = false;
    expect(asked['status']).toBe('requested');
    const refundId = asked['refundId'] as string;
    const taken = lostRefunds.at(-1);
    expect(taken).toBeDefined();
    const refundObject = {
      id: taken?.id,
      object: 'refund',
      amount: 1000,
      currency: 'usd',
      status: 'succeeded',
      payment_intent: taken?.paymentId,
      metadata: { paymentId, refundId },
    };
    sequence += 1;
    const charged = JSON.stringify({
      id: `evt_refund_${String(sequence)}`,
      object: 'event',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      type: 'charge.refunded',
      data: {
        object: {
          id: 'ch_test_1',
          object: 'charge',
          payment_intent: taken?.paymentId,
          amount_refunded: 1000,
          refunds: { object: 'list', data: [refundObject] },
        },
      },
    });
    const updated = JSON.stringify({
      id: `evt_refund_${String(sequence)}_updated`,
      object: 'event',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      type: 'refund.updated',
      data: { object: refundObject },
    });
    for (const body of [charged, charged, updated]) expect((await deliver(demo, body)).status).toBe(200);
    const events = await app.server.runtime.store.readStream(`${demo.orgId}.payment-${paymentId}`);
    expect(events.filter((event) => event.type === 'ReversalSucceeded')).toHaveLength(1);
    const state = await app.server.runtime.services.ledger.state(demo.orgId);
    expect(state.transfers.get(refundId)?.amount).toBe(1000n);
    expect(state.transfers.get(paymentId)?.status).toBe('posted');
  });
  it('reverses nothing for a refund Stripe answers pending until refund.updated says how it ended', async () => {
    const paid = await payByCard(demo, 'Akinyi', 'tok_visa', '30.00');
    const paymentId = paid['paymentId'] as string;
    const pendingRefund = async (): Promise<{ refundId: string; refund: CardRefund }> => {
      pendingRefundAnswers = true;
      const asked = await ok(demo, 'POST', `/v1/payments/${paymentId}/refunds`, { amount: '10.00' }, 201);
      pendingRefundAnswers = false;
      expect(asked['status']).toBe('requested');
      const refund = lostRefunds.at(-1);
      if (!refund) throw new Error('the processor took no refund');
      return { refundId: asked['refundId'] as string, refund };
    };
    const updated = (refund: CardRefund, refundId: string, status: string) => {
      sequence += 1;
      return JSON.stringify({
        id: `evt_pending_refund_${String(sequence)}`,
        object: 'event',
        created: Math.floor(Date.now() / 1000),
        livemode: false,
        type: 'refund.updated',
        data: {
          object: {
            id: refund.id,
            object: 'refund',
            amount: 1000,
            currency: 'usd',
            status,
            payment_intent: refund.paymentId,
            metadata: { paymentId, refundId },
            ...(status === 'failed' ? { failure_reason: 'expired_or_canceled_card' } : {}),
          },
        },
      });
    };
    const reversals = async (type: string) =>
      (await app.server.runtime.store.readStream(`${demo.orgId}.payment-${paymentId}`)).filter(
        (event) => event.type === type,
      ).length;

    // Pending, then failed: the ledger never moved.
    const first = await pendingRefund();
    expect((await transfer(demo.orgId, first.refundId))?.amount).toBeUndefined();
    expect((await deliver(demo, updated(first.refund, first.refundId, 'pending'))).status).toBe(200);
    expect(await reversals('ReversalSucceeded')).toBe(0);
    expect((await deliver(demo, updated(first.refund, first.refundId, 'failed'))).status).toBe(200);
    expect(await reversals('ReversalFailed')).toBe(1);
    expect(await transfer(demo.orgId, first.refundId)).toBeUndefined();

    // Pending, then succeeded: reversed once, however often it is told.
    const second = await pendingRefund();
    expect(await transfer(demo.orgId, second.refundId)).toBeUndefined();
    const succeeded = updated(second.refund, second.refundId, 'succeeded');
    for (const body of [succeeded, succeeded]) expect((await deliver(demo, body)).status).toBe(200);
    expect(await reversals('ReversalSucceeded')).toBe(1);
    expect((await transfer(demo.orgId, second.refundId))?.amount).toBe(1000n);
  });

  it('a refund nobody could settle is resolved by a person: returned, the sale reversed once', async () => {
    const paid = await payByCard(other, 'Wambui', 'tok_visa', '40.00');
    const paymentId = paid['paymentId'] as string;
    loseRefundAnswers = true;
    const asked = await ok(other, 'POST', `/v1/payments/${paymentId}/refunds`, { amount: '15.00' }, 201);
    loseRefundAnswers = false;
    const refundId = asked['refundId'] as string;
    // The follow-up gave up on it (as the card resolver does after its bounded asks).
    const raised = await openReconciliationAlert(app, other.orgId, paymentId, refundId);
    await until(
      async () =>
        (
          await app.server.runtime.services.db.query(
            'SELECT 1 FROM rm_reconciliation_alerts WHERE alert_id = $1',
            [raised.alertId],
          )
        ).rows.length,
      (rows) => rows === 1,
    );
    for (let copy = 0; copy < 2; copy += 1) {
      const resolved = await ok(
        other,
        'POST',
        `/v1/reconciliation-alerts/${raised.alertId}/resolve`,
        { resolution: 'reversal_succeeded', note: 'Stripe dashboard shows the refund' },
        200,
      );
      expect(resolved).toMatchObject({ paymentId, reversalStatus: 'succeeded' });
    }
    const reversal = await transfer(other.orgId, refundId);
    expect(reversal).toMatchObject({ status: 'posted', amount: 1500n });
    const events = await app.server.runtime.store.readStream(`${other.orgId}.payment-${paymentId}`);
    expect(events.filter((event) => event.type === 'ReversalSucceeded')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'ReconciliationAlertResolved')).toHaveLength(1);
  });

  it('shows the webhook URL to the organization’s admins only', async () => {
    const settings = await app.request('GET', '/v1/payments/settings', { token: demo.token });
    expect(settings.status, describeResponse(settings)).toBe(200);
    const url = (settings.body as { stripeWebhookUrl: string }).stripeWebhookUrl;
    expect(url).toBe(app.server.runtime.services.payments.callbacks.stripeWebhookUrl(demo.orgId));
    expect(url).toMatch(new RegExp(`/webhooks/stripe/${demo.orgId}/[A-Za-z0-9_-]{32}$`));
    const email = 'member@stripe-webhook-demo.test';
    const member = await app.request('POST', '/v1/members', {
      token: demo.token,
      body: { email, name: 'Member', role: 'user', password: PASSWORD },
    });
    expect(member.status, describeResponse(member)).toBe(201);
    const login = await until(
      () => app.request('POST', '/v1/auth/login', { body: { email, password: PASSWORD } }),
      (answer) => answer.status === 200,
    );
    const asMember = await app.request('GET', '/v1/payments/settings', {
      token: (login.body as { accessToken: string }).accessToken,
    });
    expect(asMember.status, describeResponse(asMember)).toBe(200);
    expect((asMember.body as { stripeWebhookUrl: string | null }).stripeWebhookUrl).toBeNull();
  });
});
