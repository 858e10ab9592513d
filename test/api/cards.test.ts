/**
 * Cards and fraud over HTTP on the card simulator, as the README walks through them: save a
 * card, charge it (good, declined, insufficient funds), refund it in parts and in full (never
 * more than was captured, even with 20 refunds at once), hold a payment for review and approve
 * or reject it, block one that never reaches the processor, score a transaction without
 * writing anything, report a period — and nothing of it visible to another organization.
 * On PGlite and real PostgreSQL.
 */
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatePaymentRequest } from '../../src/domain/payments/cardProcessor.js';
import { startTestApp, type Backend, type TestApp, type TestResponse } from '../support/app.js';
import { probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const backends: { backend: Backend; available: boolean }[] = [
  { backend: 'pglite', available: true },
  { backend: 'postgres', available: serviceGate('cards and fraud on PostgreSQL', probe) },
];

const SETTLEMENT = 'assets:cards:settlement:usd';
const SALES = 'revenue:cards:sales:usd';
const PASSWORD = 'correct horse battery staple';
/** No rule fires for the hour of day, so scores do not depend on when the suite runs. */
const QUIET_HOURS = { unusualHoursStart: 0, unusualHoursEnd: 0 };
/** Concurrent refunds of one payment. */
const CONCURRENT_REFUNDS = 20;

function describeResponse(response: TestResponse): string {
  return `${response.status} ${JSON.stringify(response.body)}`;
}

describe.each(backends)('cards and fraud on $backend', ({ backend, available }) => {
  let app: TestApp;
  let position = '0-0';
  /** Payment ids the processor was asked to charge. */
  const charged: string[] = [];

  async function call(
    method: string,
    path: string,
    body?: unknown,
    token = app.demoKey,
  ): Promise<TestResponse> {
    const answer = await app.request(method, path, { token, ...(body === undefined ? {} : { body }) });
    if (typeof answer.body?.position === 'string') position = answer.body.position;
    return answer;
  }

  async function ok(method: string, path: string, body?: unknown, expected = 200) {
    const answer = await call(method, path, body);
    expect(answer.status, describeResponse(answer)).toBe(expected);
    return answer.body;
  }

  async function read(path: string, token = app.demoKey): Promise<TestResponse> {
    return app.request('GET', `${path}${path.includes('?') ? '&' : '?'}consistentWith=${position}`, {
      token,
    });
  }

  async function balance(address: string): Promise<Decimal> {
    const answer = await read(`/v1/ledger/accounts/${encodeURIComponent(address)}/balance`);
    if (answer.status === 404) return new Decimal(0);
    expect(answer.status, describeResponse(answer)).toBe(200);
    return new Decimal(answer.body.balances.posted as string);
  }

  async function policy(fraudPolicy: Record<string, number | string>): Promise<void> {
    await ok('PATCH', '/v1/payments/settings', { fraudPolicy: { ...QUIET_HOURS, ...fraudPolicy } });
  }

  async function customerWithCard(token = 'tok_visa'): Promise<{ customerId: string; methodId: string }> {
    const customer = await ok('POST', '/v1/customers', { name: 'Wanjiku' }, 201);
    const method = await ok(
      'POST',
      `/v1/customers/${customer.customerId as string}/payment-methods`,
      { token, setDefault: true },
      201,
    );
    return { customerId: customer.customerId as string, methodId: method.methodId as string };
  }

  async function pay(customerId: string, amount: string): Promise<TestResponse> {
    return call('POST', '/v1/payments', { customerId, amount, currency: 'USD', description: 'Order 7' });
  }

  async function eventTypes(paymentId: string): Promise<string[]> {
    const events = await app.server.runtime.store.readStream(`${app.demoOrgId}.payment-${paymentId}`);
    return events.map((event) => event.type);
  }

  beforeAll(async () => {
    if (!available) return;
    app = await startTestApp(backend);
    // Count what reaches the processor: the simulator itself, observed, not replaced.
    const cards = app.server.runtime.services.payments.providers.cards;
    const createPayment = cards.createPayment.bind(cards);
    cards.createPayment = (credentials, request: CreatePaymentRequest) => {
      charged.push(request.metadata?.['paymentId'] ?? '');
      return createPayment(credentials, request);
    };
    await ok('PUT', '/v1/provider-credentials', {
      provider: 'stripe',
      credentials: { secretKey: 'sk_test_cardsSuite1234', webhookSigningSecret: 'whsec_cardsSuite1234' },
    });
    await policy({});
  });
  afterAll(async () => {
    if (available) await app.close();
  });

  it.skipIf(!available)('saves a card as brand, last 4 and expiry only', async () => {
    const { customerId, methodId } = await customerWithCard();
    const methods = await read(`/v1/customers/${customerId}/payment-methods`);
    expect(methods.status, describeResponse(methods)).toBe(200);
    expect(methods.body.items).toEqual([
      expect.objectContaining({ methodId, brand: 'visa', last4: '4242', isDefault: true }),
    ]);
    expect(JSON.stringify(methods.body)).not.toMatch(/4242424242424242|tok_visa/);
    const unknown = await call('POST', `/v1/customers/${customerId}/payment-methods`, {
      token: 'tok_nonsense',
    });
    expect(unknown.status, describeResponse(unknown)).toBe(400);
    expect(unknown.body.error.details.field).toBe('token');
  });

  it.skipIf(!available)('charges a good card: events, receipt and the ledger moved', async () => {
    const before = { settlement: await balance(SETTLEMENT), sales: await balance(SALES) };
    const { customerId } = await customerWithCard();
    const paid = await pay(customerId, '25.00');
    expect(paid.status, describeResponse(paid)).toBe(201);
    expect(paid.body).toMatchObject({ status: 'succeeded', amount: '25.00', currency: 'USD', failure: null });
    const paymentId = paid.body.paymentId as string;
    expect(paid.body.receipt).toMatch(/^pi_/);
    expect(await eventTypes(paymentId)).toEqual(['PaymentInitiated', 'PaymentSubmitted', 'PaymentSucceeded']);
    expect((await balance(SETTLEMENT)).minus(before.settlement).toFixed(2)).toBe('25.00');
    expect((await balance(SALES)).minus(before.sales).toFixed(2)).toBe('25.00');
    const status = await read(`/v1/payments/${paymentId}`);
    expect(status.body).toMatchObject({
      status: 'succeeded',
      transferId: paymentId,
      refunds: { refunded: '0.00', refundable: '25.00' },
    });
    const history = await read(`/v1/payments?customerId=${customerId}`);
    expect(history.body.items.map((item: { paymentId: string }) => item.paymentId)).toEqual([paymentId]);
  });

  it.skipIf(!available).each([
    ['tok_chargeDeclined', 'generic_decline'],
    ['tok_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
  ])('records a decline (%s) as a failed payment, the ledger untouched', async (token, reason) => {
    const before = await balance(SETTLEMENT);
    const { customerId } = await customerWithCard(token);
    const paid = await pay(customerId, '12.50');
    expect(paid.status, describeResponse(paid)).toBe(201);
    expect(paid.body).toMatchObject({ status: 'failed', failure: { code: reason } });
    const paymentId = paid.body.paymentId as string;
    expect(await eventTypes(paymentId)).toEqual(['PaymentInitiated', 'PaymentFailed']);
    expect((await balance(SETTLEMENT)).equals(before)).toBe(true);
    const transfer = await read(`/v1/ledger/transfers/${paymentId}`);
    expect(transfer.status).toBe(404);
  });

  it.skipIf(!available)('refunds in parts and in full, never more than was captured', async () => {
    const before = await balance(SETTLEMENT);
    const { customerId } = await customerWithCard();
    const paid = await pay(customerId, '100.00');
    const paymentId = paid.body.paymentId as string;
    const first = await ok('POST', `/v1/payments/${paymentId}/refunds`, { amount: '30.00' }, 201);
    expect(first).toMatchObject({ status: 'succeeded', amount: '30.00', remaining: '70.00' });
    const tooMuch = await call('POST', `/v1/payments/${paymentId}/refunds`, { amount: '70.01' });
    expect(tooMuch.status, describeResponse(tooMuch)).toBe(409);
    expect(tooMuch.body.error.code).toBe('INVALID_STATE');
    const rest = await ok('POST', `/v1/payments/${paymentId}/refunds`, { reason: 'returned' }, 201);
    expect(rest).toMatchObject({ status: 'succeeded', amount: '70.00', remaining: '0.00' });
    const again = await call('POST', `/v1/payments/${paymentId}/refunds`, {});
    expect(again.status, describeResponse(again)).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_REVERSED');
    expect((await balance(SETTLEMENT)).equals(before)).toBe(true);
    const status = await read(`/v1/payments/${paymentId}`);
    expect(status.body.refunds).toMatchObject({ refunded: '100.00', refundable: '0.00' });
    expect(status.body.refunds.items).toHaveLength(2);
  });

  it.skipIf(!available)(
    `never refunds more than captured with ${CONCURRENT_REFUNDS} refunds at once`,
    async () => {
      const before = await balance(SETTLEMENT);
      const { customerId } = await customerWithCard();
      const paid = await pay(customerId, '10.00');
      const paymentId = paid.body.paymentId as string;
      const answers = await Promise.all(
        Array.from({ length: CONCURRENT_REFUNDS }, () =>
          call('POST', `/v1/payments/${paymentId}/refunds`, { amount: '0.75' }),
        ),
      );
      const refunded = answers.filter((answer) => answer.status === 201);
      for (const answer of answers) {
        // Refused answers say why: nothing left, or the stream kept changing under the request.
        if (answer.status !== 201) expect([409], describeResponse(answer)).toContain(answer.status);
      }
      expect(refunded.length).toBeGreaterThan(0);
      expect(refunded.length).toBeLessThanOrEqual(13);
      const total = refunded.reduce((sum, answer) => sum.plus(answer.body.amount as string), new Decimal(0));
      expect(total.lessThanOrEqualTo('10.00')).toBe(true);
      const status = await read(`/v1/payments/${paymentId}`);
      expect(status.body.refunds.refunded).toBe(total.toFixed(2));
      expect((await balance(SETTLEMENT)).minus(before).toFixed(2)).toBe(
        new Decimal('10.00').minus(total).toFixed(2),
      );
    },
  );

  it.skipIf(!available)('holds a payment until review; approval charges it', async () => {
    await policy({ reviewScore: 20, blockScore: 90 });
    try {
      const { customerId } = await customerWithCard();
      const held = await pay(customerId, '60000.00');
      expect(held.status, describeResponse(held)).toBe(201);
      expect(held.body).toMatchObject({ status: 'held', fraudDecision: 'review' });
      expect(held.body.rules.map((rule: { rule: string }) => rule.rule)).toContain(
        'new_counterparty_large_amount',
      );
      const paymentId = held.body.paymentId as string;
      const alertId = held.body.alertId as string;
      expect(charged).not.toContain(paymentId);
      expect((await read(`/v1/payments/${paymentId}`)).body.status).toBe('held');
      const alerts = await read(`/v1/fraud/alerts?status=open&customerId=${customerId}`);
      expect(alerts.body.items).toEqual([expect.objectContaining({ alertId, paymentId, status: 'open' })]);
      const settled = await ok('POST', '/v1/fraud/reviews', {
        alertId,
        decision: 'approve',
        notes: 'Known buyer',
      });
      expect(settled).toMatchObject({ paymentId, outcome: 'released', status: 'succeeded' });
      expect(charged).toContain(paymentId);
      const transfer = await read(`/v1/ledger/transfers/${paymentId}`);
      expect(transfer.status, describeResponse(transfer)).toBe(200);
      const twice = await call('POST', '/v1/fraud/reviews', {
        alertId,
        decision: 'reject',
        notes: 'Too late',
      });
      expect(twice.status, describeResponse(twice)).toBe(409);
    } finally {
      await policy({ reviewScore: 50, blockScore: 80 });
    }
  });

  it.skipIf(!available)('rejecting a held payment cancels it without a trace in the ledger', async () => {
    await policy({ reviewScore: 20, blockScore: 90 });
    try {
      const { customerId } = await customerWithCard();
      const held = await pay(customerId, '60000.00');
      const paymentId = held.body.paymentId as string;
      const rejected = await ok('POST', '/v1/fraud/reviews', {
        paymentId,
        decision: 'reject',
        notes: 'Stolen card',
      });
      expect(rejected).toMatchObject({ outcome: 'cancelled', status: 'cancelled' });
      expect(charged).not.toContain(paymentId);
      expect(await eventTypes(paymentId)).toEqual([
        'PaymentInitiated',
        'FraudAlertRaised',
        'FraudReviewed',
        'PaymentCancelled',
      ]);
      expect((await read(`/v1/ledger/transfers/${paymentId}`)).status).toBe(404);
      const alerts = await read(`/v1/fraud/alerts?customerId=${customerId}`);
      expect(alerts.body.items[0]).toMatchObject({ status: 'cancelled', notes: 'Stolen card' });
    } finally {
      await policy({ reviewScore: 50, blockScore: 80 });
    }
  });

  it.skipIf(!available)('a blocked payment never reaches the processor', async () => {
    await policy({ reviewScore: 10, blockScore: 20 });
    try {
      const { customerId } = await customerWithCard();
      const blocked = await pay(customerId, '60000.00');
      expect(blocked.status, describeResponse(blocked)).toBe(201);
      expect(blocked.body).toMatchObject({ status: 'blocked', fraudDecision: 'block', alertId: null });
      expect(blocked.body.message).toMatch(/First transaction with/);
      const paymentId = blocked.body.paymentId as string;
      expect(charged).not.toContain(paymentId);
      expect(await eventTypes(paymentId)).toEqual(['PaymentInitiated', 'PaymentBlocked']);
      const risk = await read(`/v1/customers/${customerId}/risk`);
      expect(risk.body).toMatchObject({ payments: 1, blocked: 1, maxScore: 30 });
    } finally {
      await policy({ reviewScore: 50, blockScore: 80 });
    }
  });

  it.skipIf(!available)('scores a transaction on request and writes nothing', async () => {
    const store = app.server.runtime.store;
    const count = async (): Promise<number> => {
      const counted = await store.countEvents?.();
      if (counted === undefined) throw new Error('this store cannot count its events');
      return counted;
    };
    const before = await count();
    const scored = await ok('POST', '/v1/fraud/scan', {
      kind: 'payout',
      amount: '75000',
      currency: 'KES',
      counterparty: '254700000999',
    });
    expect(scored).toMatchObject({ score: 45, decision: 'allow', position: null });
    expect(scored.rules.map((rule: { rule: string }) => rule.rule)).toEqual([
      'new_counterparty_large_amount',
      'payout_to_new_recipient',
    ]);
    expect(await count()).toBe(before);
  });

  it.skipIf(!available)('reports a period as JSON and CSV', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const report = await read(
      `/v1/fraud/report?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&format=csv`,
    );
    expect(report.status, describeResponse(report)).toBe(200);
    expect(report.body.byDecision.block).toBeGreaterThanOrEqual(1);
    expect(report.body.byDecision.review).toBeGreaterThanOrEqual(2);
    expect(report.body.alerts.byRule).toContainEqual({ rule: 'new_counterparty_large_amount', alerts: 2 });
    expect(report.body.amounts.blocked).toContainEqual({ currency: 'USD', amount: '60000.00', count: 1 });
    expect(report.body.csv).toMatch(/^section,key,count,amount,currency,max_score,average_score\n/);
    expect(report.body.csv).toContain('blocked,USD,1,60000.00,USD,,');
  });

  it.skipIf(!available)(
    'shows another organization nothing: payments, alerts, customers are 404',
    async () => {
      await policy({ reviewScore: 20, blockScore: 90 });
      let ids: { customerId: string; paymentId: string; alertId: string };
      try {
        const { customerId } = await customerWithCard();
        const held = await pay(customerId, '60000.00');
        ids = { customerId, paymentId: held.body.paymentId as string, alertId: held.body.alertId as string };
      } finally {
        await policy({ reviewScore: 50, blockScore: 80 });
      }
      const email = `other-${Date.now()}@cards.test`;
      const created = await app.request('POST', '/v1/organizations', {
        token: app.adminKey,
        body: { name: 'Other shop', admin: { email, name: 'Other', password: PASSWORD } },
      });
      expect(created.status, describeResponse(created)).toBe(201);
      position = created.body.position as string;
      await read('/v1/organization');
      const login = await app.request('POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
      const other = login.body.accessToken as string;
      const reads = [
        `/v1/payments/${ids.paymentId}`,
        `/v1/customers/${ids.customerId}/payment-methods`,
        `/v1/customers/${ids.customerId}/risk`,
        // Lists filtered by another organization's customer: not found, as the customer reads.
        `/v1/payments?customerId=${ids.customerId}`,
        `/v1/fraud/alerts?customerId=${ids.customerId}`,
      ];
      for (const path of reads) {
        const answer = await read(path, other);
        expect(answer.status, `${path}: ${describeResponse(answer)}`).toBe(404);
        expect(answer.body.error.code, path).toBe('NOT_FOUND');
      }
      const writes: [string, unknown][] = [
        [`/v1/payments/${ids.paymentId}/refunds`, {}],
        ['/v1/fraud/reviews', { alertId: ids.alertId, decision: 'approve', notes: 'mine now' }],
        ['/v1/fraud/reviews', { paymentId: ids.paymentId, decision: 'approve', notes: 'mine now' }],
        ['/v1/payments', { customerId: ids.customerId, amount: '1.00', currency: 'USD' }],
        [`/v1/customers/${ids.customerId}/payment-methods`, { token: 'tok_visa' }],
      ];
      for (const [path, body] of writes) {
        const answer = await app.request('POST', path, { token: other, body });
        expect(answer.status, `${path}: ${describeResponse(answer)}`).toBe(404);
      }
      expect((await read(`/v1/payments/${ids.paymentId}`)).body.status).toBe('held');
    },
  );
});
