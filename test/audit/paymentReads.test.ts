/**
 * The payment and fraud read models under an audit grant, on real PostgreSQL over HTTP: with a
 * grant holding payments:read and fraud:read, an auditor of another organization reads exactly
 * what the granting organization reads of its own payments, M-Pesa history and report,
 * reconciliation alerts, fraud alerts, a customer's risk and the fraud report — each read logged in its access log. A grant
 * without the scope is a 403 naming it; a revoked one a 404 like a made-up one; without a
 * grant id the auditor reads only its own organization. A card payment the processor left
 * processing is read under a grant without asking the processor again (the owner's own read
 * does ask).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp, type TestResponse } from '../support/app.js';
import {
  bootstrapProjected,
  caughtUp,
  createOrg,
  grant,
  memberToken,
  type TestOrg,
} from '../support/auditOrgs.js';
import { describeResponse, setMpesaCredentials, until, untilPayment } from '../support/mpesaHttp.js';
import { sampleCredentials } from '../support/providerCredentials.js';
import { probePostgres, serviceGate } from '../support/services.js';

const run = serviceGate('payment read models under audit grants (PostgreSQL)', await probePostgres());

/** Rounds of `consistentWith` (each waits up to 2 s server-side) for the access log. */
const ACCESS_LOG_ROUNDS_MAX = 30;
const MADE_UP_GRANT = 'grt_01JZZZZZZZZZZZZZZZZZZZZZZZ';
/** A fixed period (reports default to one ending now), around the test's payment. */
const PERIOD = `from=${encodeURIComponent(new Date(Date.now() - 86_400_000).toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 86_400_000).toISOString())}`;

type Scope = 'payments:read' | 'fraud:read';

/** Each read: its path (with `?` or `&` ready for more) and the grant scope it needs. */
function reads(paymentId: string, customerId: string): Record<string, { path: string; scope: Scope }> {
  return {
    list_payments: { path: '/v1/payments?', scope: 'payments:read' },
    get_payment: { path: `/v1/payments/${paymentId}?`, scope: 'payments:read' },
    mpesa_transaction_history: { path: '/v1/mpesa/transactions?', scope: 'payments:read' },
    mpesa_generate_report: { path: `/v1/mpesa/report?${PERIOD}&format=csv&`, scope: 'payments:read' },
    list_fraud_alerts: { path: '/v1/fraud/alerts?', scope: 'fraud:read' },
    get_customer_risk: { path: `/v1/customers/${customerId}/risk?`, scope: 'fraud:read' },
    generate_fraud_report: { path: `/v1/fraud/report?${PERIOD}&`, scope: 'fraud:read' },
    list_customers: { path: '/v1/customers?', scope: 'payments:read' },
    get_customer: { path: `/v1/customers/${customerId}?`, scope: 'payments:read' },
    list_payment_methods: { path: `/v1/customers/${customerId}/payment-methods?`, scope: 'payments:read' },
    get_payment_settings: { path: '/v1/payments/settings?', scope: 'payments:read' },
    list_reconciliation_alerts: { path: '/v1/reconciliation-alerts?', scope: 'payments:read' },
  };
}

function under(path: string, grantId: string | null): string {
  const full = grantId === null ? path : `${path}grantId=${grantId}`;
  return full.endsWith('?') || full.endsWith('&') ? full.slice(0, -1) : full;
}

function errorOf(answer: TestResponse): unknown {
  const { requestId: _requestId, ...rest } = answer.body.error as Record<string, unknown>;
  return { status: answer.status, ...rest };
}

describe.runIf(run)('payment and fraud read models under an audit grant (PostgreSQL)', () => {
  let app: TestApp;
  let owner: TestOrg;
  let auditors: TestOrg;
  let auditor: string;
  let paymentId: string;
  let customerId: string;

  beforeAll(async () => {
    app = await startTestApp('postgres');
    await bootstrapProjected(app);
    owner = await createOrg(app, 'owner');
    auditors = await createOrg(app, 'auditors');
    auditor = await memberToken(app, auditors, 'auditor');
    await setMpesaCredentials(app, owner.adminToken);
    const customer = await app.request('POST', '/v1/customers', {
      token: owner.adminToken,
      body: { name: 'Wanjiru', phone: '254712345678' },
    });
    expect(customer.status, describeResponse(customer)).toBe(201);
    customerId = customer.body.customerId as string;
    await caughtUp(app, owner.adminToken, '/v1/customers', customer.body.position as string);
    const pushed = await app.request('POST', '/v1/mpesa/stk-push', {
      token: owner.adminToken,
      body: {
        phone: '254712345678',
        amount: '150',
        accountReference: 'INV-1',
        description: 'Invoice',
        customerId,
      },
    });
    expect(pushed.status, describeResponse(pushed)).toBe(201);
    paymentId = pushed.body.paymentId as string;
    await untilPayment(app, owner.adminToken, paymentId, (payment) => payment.status === 'succeeded');
    // The read model shows it settled too.
    await until(
      () => app.request('GET', '/v1/mpesa/transactions', { token: owner.adminToken }),
      (answer) => answer.body.items?.[0]?.status === 'succeeded',
    );
  }, 180_000);

  afterAll(async () => {
    await app.close();
  });

  async function accessLog(grantId: string): Promise<{ operation: string; target: string }[]> {
    const marker = await app.request('POST', '/v1/customers', {
      token: owner.adminToken,
      body: { name: 'Marker' },
    });
    expect(marker.status).toBe(201);
    for (let round = 0; round < ACCESS_LOG_ROUNDS_MAX; round += 1) {
      const answer = await app.request(
        'GET',
        `/v1/audit/access-log?grantId=${grantId}&limit=100&consistentWith=${marker.body.position as string}`,
        { token: owner.adminToken },
      );
      if (answer.status === 409) continue;
      expect(answer.status, describeResponse(answer)).toBe(200);
      return answer.body.items as { operation: string; target: string }[];
    }
    throw new Error('the access log did not catch up');
  }

  it('reads exactly what the granting organization reads of its own, each read logged', async () => {
    const grantId = await grant(app, owner, auditors.orgId, { scopes: ['payments:read', 'fraud:read'] });
    for (const [name, { path }] of Object.entries(reads(paymentId, customerId))) {
      const across = await app.request('GET', under(path, grantId), { token: auditor });
      expect(across.status, `${name}: ${describeResponse(across)}`).toBe(200);
      const own = await app.request('GET', under(path, null), { token: owner.adminToken });
      if (name === 'get_payment_settings') {
        // The webhook URL carries a token: the owner's admins see it, an auditor never does.
        expect(own.body.stripeWebhookUrl).toMatch(/^http/);
        expect(across.body).toEqual({ ...own.body, stripeWebhookUrl: null });
        continue;
      }
      expect(across.body, name).toEqual(own.body);
    }
    const listed = await app.request('GET', under('/v1/payments?', grantId), { token: auditor });
    expect(listed.body.items.map((item: { paymentId: string }) => item.paymentId)).toEqual([paymentId]);
    const risk = await app.request('GET', under(`/v1/customers/${customerId}/risk?`, grantId), {
      token: auditor,
    });
    expect(risk.body.payments).toBe(1);
    const log = await accessLog(grantId);
    expect(log.map((entry) => entry.operation)).toEqual([
      ...Object.keys(reads(paymentId, customerId)),
      'list_payments',
      'get_customer_risk',
    ]);
    expect(log[1]?.target).toBe(`payment ${paymentId}`);
  });

  it('refuses a grant without the scope a read needs (403 naming it), and logs nothing', async () => {
    const ledgerOnly = await grant(app, owner, auditors.orgId, { scopes: ['ledger:read'] });
    const paymentsOnly = await grant(app, owner, auditors.orgId, { scopes: ['payments:read'] });
    for (const [name, { path, scope }] of Object.entries(reads(paymentId, customerId))) {
      const none = await app.request('GET', under(path, ledgerOnly), { token: auditor });
      expect(none.status, name).toBe(403);
      expect(none.body.error.details).toEqual({ requiredScope: scope });
      const some = await app.request('GET', under(path, paymentsOnly), { token: auditor });
      expect(some.status, name).toBe(scope === 'payments:read' ? 200 : 403);
    }
    expect(await accessLog(ledgerOnly)).toEqual([]);
    expect((await accessLog(paymentsOnly)).map((entry) => entry.operation)).toEqual([
      'list_payments',
      'get_payment',
      'mpesa_transaction_history',
      'mpesa_generate_report',
      'list_customers',
      'get_customer',
      'list_payment_methods',
      'get_payment_settings',
      'list_reconciliation_alerts',
    ]);
  });

  it('answers a revoked grant like a made-up one (404), and without a grant id only the auditor’s own organization', async () => {
    const grantId = await grant(app, owner, auditors.orgId, { scopes: ['payments:read', 'fraud:read'] });
    const revoked = await app.request('POST', `/v1/audit/grants/${grantId}/revoke`, {
      token: owner.adminToken,
      body: {},
    });
    expect(revoked.status, describeResponse(revoked)).toBe(200);
    for (const [name, { path }] of Object.entries(reads(paymentId, customerId))) {
      const answer = await app.request('GET', under(path, grantId), { token: auditor });
      expect(answer.status, name).toBe(404);
      const madeUp = await app.request('GET', under(path, MADE_UP_GRANT), { token: auditor });
      expect(errorOf(answer), name).toEqual(errorOf(madeUp));
    }
    const own = await app.request('GET', '/v1/payments', { token: auditor });
    expect(own.body.items).toEqual([]);
    const history = await app.request('GET', '/v1/mpesa/transactions', { token: auditor });
    expect(history.body.items).toEqual([]);
    expect((await app.request('GET', `/v1/payments/${paymentId}`, { token: auditor })).status).toBe(404);
    expect((await app.request('GET', `/v1/customers/${customerId}/risk`, { token: auditor })).status).toBe(
      404,
    );
  });

  it('reads a card payment the processor left processing without asking the processor again', async () => {
    const write = async (method: string, path: string, body: unknown, status: number) => {
      const answer = await app.request(method, path, { token: owner.adminToken, body });
      expect(answer.status, describeResponse(answer)).toBe(status);
      return answer.body as Record<string, unknown>;
    };
    await write(
      'PUT',
      '/v1/provider-credentials',
      { provider: 'stripe', credentials: sampleCredentials('stripe') },
      200,
    );
    // No unusual hours: the fraud rules must not hold the payment whatever the time of day.
    await write(
      'PATCH',
      '/v1/payments/settings',
      { fraudPolicy: { unusualHoursStart: 0, unusualHoursEnd: 0 } },
      200,
    );
    const customer = await write('POST', '/v1/customers', { name: 'Achieng' }, 201);
    await caughtUp(app, owner.adminToken, '/v1/customers', customer['position'] as string);
    const cardholder = customer['customerId'] as string;
    await write(
      'POST',
      `/v1/customers/${cardholder}/payment-methods`,
      { token: 'tok_processing', setDefault: true },
      201,
    );
    const paid = await write(
      'POST',
      '/v1/payments',
      { customerId: cardholder, amount: '12.00', currency: 'USD', description: 'Order' },
      201,
    );
    expect(paid['status']).toBe('pending');
    const grantId = await grant(app, owner, auditors.orgId, { scopes: ['payments:read'] });
    const cards = app.server.runtime.services.payments.providers.cards;
    // A processing payment is asked about by retrieving its PaymentIntent (never charged again).
    const asked = vi.spyOn(cards, 'getPayment');
    const charged = vi.spyOn(cards, 'createPayment');
    try {
      const across = await app.request(
        'GET',
        `/v1/payments/${paid['paymentId'] as string}?grantId=${grantId}`,
        {
          token: auditor,
        },
      );
      expect(across.status, describeResponse(across)).toBe(200);
      expect(across.body.status).toBe('pending');
      expect(asked).not.toHaveBeenCalled();
      // The owner's own read asks again: the spy sees it.
      const own = await app.request('GET', `/v1/payments/${paid['paymentId'] as string}`, {
        token: owner.adminToken,
      });
      expect(own.status, describeResponse(own)).toBe(200);
      expect(asked).toHaveBeenCalled();
      expect(charged).not.toHaveBeenCalled();
    } finally {
      asked.mockRestore();
      charged.mockRestore();
    }
  });
});
