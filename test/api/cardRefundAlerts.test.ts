/**
 * Card refunds whose outcome nobody could learn, over HTTP on real PostgreSQL with the card
 * simulator: the processor never receives the refund, the resolver asks again (the same key) a
 * bounded number of times and raises an `outcome_unresolved` alert naming the refund. The alert
 * is found with list_reconciliation_alerts (GET /v1/reconciliation-alerts: newest first, paged,
 * by state, kind and payment) and closed by a manager with resolve_reconciliation_alert:
 * `reversal_failed` frees what it held (the payment can be refunded again, in full), and
 * `reversal_succeeded` posts the refund on the ledger once. Another organization sees none of
 * it. The ledger ends balanced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { expectBalancedLedger } from '../support/balancedLedger.js';
import { apiKey, createOrg, grant, memberToken, type TestOrg } from '../support/auditOrgs.js';
import { describeResponse, until } from '../support/mpesaHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';

const run = serviceGate('card refund alerts on PostgreSQL', await probePostgres());

const ATTEMPTS = 2;
const INTERVAL_MS = 40;
const QUIET_HOURS = { unusualHoursStart: 0, unusualHoursEnd: 0 };

interface ListedAlert {
  alertId: string;
  paymentId: string;
  provider: string | null;
  paymentKind: string | null;
  kind: string;
  reversalId: string | null;
  amount: string;
  currency: string;
  raisedAt: string;
  resolution: string | null;
  resolutionNote: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
}

interface AlertPage {
  items: ListedAlert[];
  nextCursor: string | null;
}

describe.skipIf(!run)('card refund alerts and the list of reconciliation alerts on PostgreSQL', () => {
  let app: TestApp;
  let org: TestOrg;
  let other: TestOrg;
  /** While set, the processor never receives a refund (its answer is lost, nothing happens). */
  let neverReceived = false;
  /** The newest write's position: reads of the read models wait for it (consistentWith). */
  let position = '0-0';

  async function ok(token: string, method: string, path: string, body: unknown, expected: number) {
    const answer = await app.request(method, path, { token, body });
    expect(answer.status, describeResponse(answer)).toBe(expected);
    const answered = answer.body as Record<string, unknown>;
    if (typeof answered['position'] === 'string') position = answered['position'];
    return answered;
  }

  async function setUp(token: string): Promise<void> {
    await ok(
      token,
      'PUT',
      '/v1/provider-credentials',
      {
        provider: 'stripe',
        credentials: { secretKey: 'sk_test_refundAlerts', webhookSigningSecret: 'whsec_refundAlerts0001' },
      },
      200,
    );
    await ok(token, 'PATCH', '/v1/payments/settings', { fraudPolicy: QUIET_HOURS }, 200);
  }

  /** A succeeded card payment of `amount` USD. */
  async function paid(token: string, amount: string): Promise<string> {
    const customer = await ok(token, 'POST', '/v1/customers', { name: 'Achieng' }, 201);
    const customerId = customer['customerId'] as string;
    await ok(
      token,
      'POST',
      `/v1/customers/${customerId}/payment-methods`,
      { token: 'tok_visa', setDefault: true },
      201,
    );
    const payment = await ok(token, 'POST', '/v1/payments', { customerId, amount, currency: 'USD' }, 201);
    expect(payment['status']).toBe('succeeded');
    return payment['paymentId'] as string;
  }

  /** The query with consistentWith the newest write. */
  function read(query: string): string {
    return `${query}${query === '' ? '?' : '&'}consistentWith=${position}`;
  }

  async function list(query: string, token = org.adminToken): Promise<AlertPage> {
    const answer = await app.request('GET', `/v1/reconciliation-alerts${read(query)}`, { token });
    expect(answer.status, describeResponse(answer)).toBe(200);
    return answer.body as AlertPage;
  }

  /** A refund of `amount` the processor never received: its alert, once the resolver gives up. */
  async function unresolvedRefund(paymentId: string, amount: string) {
    neverReceived = true;
    try {
      const asked = await ok(org.adminToken, 'POST', `/v1/payments/${paymentId}/refunds`, { amount }, 201);
      expect(asked['status']).toBe('requested');
      const refundId = asked['refundId'] as string;
      const page = await until(
        () => list(`?paymentId=${paymentId}&state=open`),
        (found) => found.items.length > 0,
      );
      return { refundId, alert: page.items[0] };
    } finally {
      neverReceived = false;
    }
  }

  async function resolve(alertId: string, resolution: string, token = org.adminToken) {
    const answer = await app.request('POST', `/v1/reconciliation-alerts/${alertId}/resolve`, {
      token,
      body: { resolution, note: 'Checked the Stripe dashboard' },
    });
    const body = answer.body as Record<string, unknown>;
    if (answer.status === 200 && typeof body['position'] === 'string') position = body['position'];
    return answer;
  }

  async function ledgerTransfer(orgId: string, transferId: string) {
    return (await app.server.runtime.services.ledger.state(orgId)).transfers.get(transferId);
  }

  beforeAll(async () => {
    app = await startTestApp('postgres', {
      env: {
        LEDGERLINE_CARD_RESOLVER_INTERVAL_MS: String(INTERVAL_MS),
        LEDGERLINE_CARD_RESOLVER_GRACE_MS: '0',
        LEDGERLINE_CARD_RESOLVER_ATTEMPTS: String(ATTEMPTS),
      },
    });
    org = await createOrg(app, 'RefundAlerts');
    other = await createOrg(app, 'RefundAlertsOther');
    await setUp(org.adminToken);
    await setUp(other.adminToken);
    const cards = app.server.runtime.services.payments.providers.cards;
    const refund = cards.refund.bind(cards);
    cards.refund = async (credentials, request) => {
      if (!neverReceived) return refund(credentials, request);
      return {
        ok: false,
        failure: { kind: 'unavailable', message: 'Stripe: no answer (test)', mayHaveHappened: true },
      };
    };
  });

  afterAll(async () => {
    await app.close();
  });

  it('lists an unresolved refund’s alert naming the refund, then reversal_failed frees it: refunded again in full', async () => {
    const paymentId = await paid(org.adminToken, '30.00');
    const { refundId, alert } = await unresolvedRefund(paymentId, '10.00');
    expect(alert).toMatchObject({
      paymentId,
      provider: 'stripe',
      paymentKind: 'card_payment',
      kind: 'outcome_unresolved',
      reversalId: refundId,
      amount: '10.00',
      currency: 'USD',
      resolution: null,
      resolvedAt: null,
    });
    // Still requested: it holds its 10.00, and nothing is on the ledger for it.
    const before = await ok(org.adminToken, 'GET', `/v1/payments/${paymentId}`, undefined, 200);
    expect(before['refunds']).toMatchObject({ refundable: '20.00' });
    expect(await ledgerTransfer(org.orgId, refundId)).toBeUndefined();

    const resolved = await resolve(alert?.alertId ?? '', 'reversal_failed');
    expect(resolved.status, describeResponse(resolved)).toBe(200);
    expect(resolved.body).toMatchObject({
      paymentId,
      resolution: 'reversal_failed',
      reversalStatus: 'failed',
    });
    const closed = await list(`?paymentId=${paymentId}`);
    expect(closed.items).toHaveLength(1);
    expect(closed.items[0]).toMatchObject({
      resolution: 'reversal_failed',
      resolutionNote: 'Checked the Stripe dashboard',
    });
    expect(closed.items[0]?.resolvedBy).toMatch(/^usr_/);
    expect(closed.items[0]?.resolvedAt).not.toBeNull();
    expect((await list(`?paymentId=${paymentId}&state=open`)).items).toEqual([]);

    // The whole 30.00 is refundable again, and refunded once.
    const rest = await ok(org.adminToken, 'POST', `/v1/payments/${paymentId}/refunds`, {}, 201);
    expect(rest).toMatchObject({ status: 'succeeded', amount: '30.00', remaining: '0.00' });
    expect(await ledgerTransfer(org.orgId, refundId)).toBeUndefined();
    // Resolving again the same way changes nothing; the other way is refused.
    expect((await resolve(alert?.alertId ?? '', 'reversal_failed')).status).toBe(200);
    const otherWay = await resolve(alert?.alertId ?? '', 'reversal_succeeded');
    expect(otherWay.status, describeResponse(otherWay)).toBe(409);
  });

  it('reversal_succeeded posts the refund on the ledger once and takes it off what remains', async () => {
    const paymentId = await paid(org.adminToken, '20.00');
    const { refundId, alert } = await unresolvedRefund(paymentId, '5.00');
    // An API key cannot decide it, however wide its scopes: a person must.
    const key = await apiKey(app, org.adminToken, ['payments:read', 'payments:write']);
    expect((await resolve(alert?.alertId ?? '', 'reversal_succeeded', key)).status).toBe(403);
    const resolved = await resolve(alert?.alertId ?? '', 'reversal_succeeded');
    expect(resolved.status, describeResponse(resolved)).toBe(200);
    expect(resolved.body).toMatchObject({ resolution: 'reversal_succeeded', reversalStatus: 'succeeded' });
    expect(await ledgerTransfer(org.orgId, refundId)).toMatchObject({ status: 'posted', amount: 500n });
    expect((await resolve(alert?.alertId ?? '', 'reversal_succeeded')).status).toBe(200);
    const after = await ok(org.adminToken, 'GET', `/v1/payments/${paymentId}`, undefined, 200);
    expect(after['refunds']).toMatchObject({ refunded: '5.00', refundable: '15.00' });
    const tooMuch = await app.request('POST', `/v1/payments/${paymentId}/refunds`, {
      token: org.adminToken,
      body: { amount: '15.01' },
    });
    expect(tooMuch.status, describeResponse(tooMuch)).toBe(409);
    // The API key reads the list (payments:read) and sees the alert resolved.
    const seen = await list(`?paymentId=${paymentId}&state=resolved`, key);
    expect(seen.items.map((item) => item.resolution)).toEqual(['reversal_succeeded']);
  });

  it('pages newest first without gaps or repeats, and filters by state and kind', async () => {
    // Two more unresolved refunds: four alerts in all, two open.
    for (const amount of ['1.00', '2.00']) await unresolvedRefund(await paid(org.adminToken, '9.00'), amount);
    const all = await list('?limit=200');
    expect(all.items.length).toBe(4);
    expect(all.nextCursor).toBeNull();
    const times = all.items.map((item) => item.raisedAt);
    expect([...times].sort().reverse()).toEqual(times);
    const paged: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page += 1) {
      const answer: AlertPage = await list(`?limit=1${cursor === null ? '' : `&cursor=${cursor}`}`);
      paged.push(...answer.items.map((item) => item.alertId));
      cursor = answer.nextCursor;
      if (cursor === null) break;
    }
    expect(paged).toEqual(all.items.map((item) => item.alertId));
    expect((await list('?state=open')).items.map((item) => item.amount)).toEqual(['2.00', '1.00']);
    expect((await list('?state=resolved')).items).toHaveLength(2);
    expect((await list('?kind=payout_unposted')).items).toEqual([]);
    expect((await list('?kind=outcome_unresolved')).items).toHaveLength(4);
  });

  it('refuses bad filters naming the field, and keeps organizations apart', async () => {
    for (const [query, field] of [
      ['?state=closed', 'state'],
      ['?kind=nope', 'kind'],
      ['?paymentId=nope', 'paymentId'],
      ['?limit=0', 'limit'],
      ['?cursor=not-a-cursor', 'cursor'],
    ] as const) {
      const answer = await app.request('GET', `/v1/reconciliation-alerts${read(query)}`, {
        token: org.adminToken,
      });
      expect(answer.status, query).toBe(400);
      expect(JSON.stringify(answer.body), query).toContain(field);
    }
    // The other organization has no alerts, and our payments are missing ones to it.
    expect((await list('', other.adminToken)).items).toEqual([]);
    const ours = (await list('')).items[0]?.paymentId ?? '';
    const foreign = await app.request('GET', `/v1/reconciliation-alerts${read(`?paymentId=${ours}`)}`, {
      token: other.adminToken,
    });
    const missing = await app.request('GET', `/v1/reconciliation-alerts?paymentId=pay_${'0'.repeat(26)}`, {
      token: other.adminToken,
    });
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(foreign.body.error.code).toBe(missing.body.error.code);
    // Nor can it resolve one of ours.
    const alertId = (await list('')).items[0]?.alertId ?? '';
    const stranger = await resolve(alertId, 'acknowledged', other.adminToken);
    expect(stranger.status).toBe(404);
  });

  it('shows an auditor under a payments:read grant exactly the owner’s alerts; other grants see none', async () => {
    const auditor = await memberToken(app, other, 'auditor');
    const own = await list('');
    expect(own.items.length).toBeGreaterThan(0);
    const granted = await grant(app, org, other.orgId, { scopes: ['payments:read'] });
    expect(await list(`?grantId=${granted}`, auditor)).toEqual(own);
    const ledgerOnly = await grant(app, org, other.orgId, { scopes: ['ledger:read'] });
    const refused = await app.request('GET', `/v1/reconciliation-alerts${read(`?grantId=${ledgerOnly}`)}`, {
      token: auditor,
    });
    expect(refused.status, describeResponse(refused)).toBe(403);
    expect(refused.body.error.details).toEqual({ requiredScope: 'payments:read' });
    // Without a grant the auditor reads its own organization: no alerts.
    expect((await list('', auditor)).items).toEqual([]);
  });

  it('leaves the ledger balanced: debits equal credits in every asset', async () => {
    await expectBalancedLedger(app, org.orgId);
  });
});
