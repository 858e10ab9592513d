/**
 * M-Pesa end to end over HTTP on the simulator (SPEC §5.1, issue 7): an STK push settled by the
 * simulator's callback moves the ledger; every failure code; a bulk payout the float can only
 * partly afford; a reversal at most once; and the chaos cases — the callback before the push's
 * own answer, the same callback three times, a callback at another organization's URL, a wrong
 * token — each leaving the ledger right with nothing doubled or lost.
 *
 * No test waits on a clock: each polls the state it expects, a bounded number of times.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Backend, type TestApp, type TestResponse } from '../support/app.js';
import { sampleCredentials } from '../support/providerCredentials.js';
import { probePostgres, serviceGate } from '../support/services.js';

const FLOAT = 'assets:mpesa:float';
const COLLECTIONS = 'revenue:mpesa:collections';
/** Polls at most this many times, POLL_MS apart, for a state the simulator's callback brings. */
const POLL_ATTEMPTS = 400;
const POLL_MS = 25;

const pgProbe = await probePostgres();
const BACKENDS: readonly { backend: Backend; run: boolean }[] = [
  { backend: 'pglite', run: true },
  { backend: 'postgres', run: serviceGate('M-Pesa end to end on PostgreSQL', pgProbe) },
];

/** A read after a write, through consistentWith, retried while the read models catch up (bounded). */
const CONSISTENCY_RETRIES = 20;

async function readAfter(app: TestApp, token: string, path: string, position: string): Promise<TestResponse> {
  const separator = path.includes('?') ? '&' : '?';
  let response = await app.request(
    'GET',
    `${path}${separator}consistentWith=${encodeURIComponent(position)}`,
    { token },
  );
  for (let attempt = 0; attempt < CONSISTENCY_RETRIES && response.status === 409; attempt += 1) {
    response = await app.request('GET', `${path}${separator}consistentWith=${encodeURIComponent(position)}`, {
      token,
    });
  }
  return response;
}

async function positionOf(app: TestApp, token: string, paymentId: string): Promise<string> {
  const response = await app.request('POST', `/v1/mpesa/payments/${paymentId}/status`, {
    token,
    body: { refresh: false },
  });
  return response.body.position as string;
}

function describeResponse(response: TestResponse): string {
  return `${response.status} ${JSON.stringify(response.body)}`;
}

async function pause(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, POLL_MS));
}

interface Payment {
  paymentId: string;
  status: string;
  receipt: string | null;
  reversals: { reversalId: string; status: string; amount: string }[];
  providerRef: string | null;
}

async function setCredentials(app: TestApp, token: string): Promise<void> {
  const response = await app.request('PUT', '/v1/provider-credentials', {
    token,
    body: { provider: 'mpesa', credentials: sampleCredentials('mpesa') },
  });
  expect(response.status, describeResponse(response)).toBe(200);
}

async function status(app: TestApp, token: string, paymentId: string, refresh = false): Promise<Payment> {
  const response = await app.request('POST', `/v1/mpesa/payments/${paymentId}/status`, {
    token,
    body: { refresh },
  });
  expect(response.status, describeResponse(response)).toBe(200);
  return response.body as Payment;
}

async function until(
  app: TestApp,
  token: string,
  paymentId: string,
  done: (payment: Payment) => boolean,
): Promise<Payment> {
  let last = await status(app, token, paymentId);
  for (let attempt = 0; attempt < POLL_ATTEMPTS && !done(last); attempt += 1) {
    await pause();
    last = await status(app, token, paymentId);
  }
  expect(done(last), `payment ${paymentId} reached the expected state: ${JSON.stringify(last)}`).toBe(true);
  return last;
}

async function push(
  app: TestApp,
  token: string,
  phone: string,
  amount: string,
): Promise<{ paymentId: string; status: string }> {
  const response = await app.request('POST', '/v1/mpesa/stk-push', {
    token,
    body: { phone, amount, accountReference: 'INV-1', description: 'Invoice' },
  });
  expect(response.status, describeResponse(response)).toBe(201);
  return response.body as { paymentId: string; status: string };
}

/** The ledger's own balance of the float, as the writer sees it (no projection lag). */
async function bookFloat(app: TestApp, orgId: string): Promise<bigint> {
  const state = await app.server.runtime.services.ledger.state(orgId);
  const account = state.accounts.get(FLOAT);
  return account ? account.balances.debitsPosted - account.balances.creditsPosted : 0n;
}

async function paymentEvents(app: TestApp, orgId: string, paymentId: string): Promise<string[]> {
  const events = await app.server.runtime.store.readStream(`${orgId}.payment-${paymentId}`, {
    maxCount: 1_000,
  });
  return events.map((event) => event.type);
}

for (const { backend, run } of BACKENDS) {
  describe.skipIf(!run)(`M-Pesa on the simulator over HTTP on ${backend}`, () => {
    let app: TestApp;
    let token: string;
    let orgId: string;

    beforeAll(async () => {
      app = await startTestApp(backend, { env: { LEDGERLINE_SIMULATOR_DELAY_MS: '0' } });
      token = app.demoKey;
      orgId = app.demoOrgId;
      await setCredentials(app, token);
    });

    afterAll(async () => {
      await app.close();
    });

    it('refuses a push before the organization has M-Pesa credentials, writing nothing', async () => {
      const email = `admin-${backend}@no-credentials.test`;
      const created = await app.request('POST', '/v1/organizations', {
        token: app.adminKey,
        body: {
          name: 'No credentials',
          admin: { email, name: 'Admin', password: 'correct horse battery staple' },
        },
      });
      expect(created.status, describeResponse(created)).toBe(201);
      await readAfter(app, app.demoKey, '/v1/organization', created.body.position as string);
      const login = await app.request('POST', '/v1/auth/login', {
        body: { email, password: 'correct horse battery staple' },
      });
      expect(login.status, describeResponse(login)).toBe(200);
      const count = await app.server.runtime.store.countEvents?.();
      const response = await app.request('POST', '/v1/mpesa/stk-push', {
        token: (login.body as { accessToken: string }).accessToken,
        body: { phone: '0712345678', amount: '10', accountReference: 'X', description: 'Y' },
      });
      expect(response.status, describeResponse(response)).toBe(404);
      expect(await app.server.runtime.store.countEvents?.()).toBe(count);
    });

    it('collects by STK push: pending, then the callback settles it and the ledger moves', async () => {
      const before = await bookFloat(app, orgId);
      const started = await push(app, token, '0712345678', '1500');
      // With no simulated delay the callback may already have settled it when the push answers.
      expect(['pending', 'succeeded']).toContain(started.status);
      const paid = await until(app, token, started.paymentId, (payment) => payment.status === 'succeeded');
      expect(paid.receipt).toMatch(/^[A-Z0-9]{10}$/);
      expect(await bookFloat(app, orgId)).toBe(before + 150_000n);
      const events = await paymentEvents(app, orgId, started.paymentId);
      expect(events).toEqual([
        'PaymentInitiated',
        'PaymentSubmitted',
        'ProviderCallbackReceived',
        'PaymentSucceeded',
      ]);
      // The ledger read model follows (read-your-writes through the status answer's position).
      const settled = await readAfter(
        app,
        token,
        `/v1/ledger/transfers/${started.paymentId}`,
        await positionOf(app, token, started.paymentId),
      );
      expect(settled.status, describeResponse(settled)).toBe(200);
      expect(settled.body).toMatchObject({
        debitAccount: FLOAT,
        creditAccount: COLLECTIONS,
        amount: '1500.00',
      });
    });

    it.each([
      ['254700000001', '1'],
      ['254700001032', '1032'],
      ['254700001037', '1037'],
      ['254700002001', '2001'],
    ])('a push to %s fails with result code %s and moves nothing', async (phone, code) => {
      const before = await bookFloat(app, orgId);
      const started = await push(app, token, phone, '100');
      const failed = await until(app, token, started.paymentId, (payment) => payment.status === 'failed');
      const row = await readAfter(
        app,
        token,
        `/v1/mpesa/transactions?phone=${phone}&status=failed`,
        await positionOf(app, token, failed.paymentId),
      );
      expect(row.status, describeResponse(row)).toBe(200);
      const item = (row.body as { items: { paymentId: string; resultCode: string }[] }).items.find(
        (candidate) => candidate.paymentId === started.paymentId,
      );
      expect(item?.resultCode).toBe(code);
      expect(await bookFloat(app, orgId)).toBe(before);
    });

    it('a callback that never comes leaves the payment pending, and nothing moves', async () => {
      const before = await bookFloat(app, orgId);
      const started = await push(app, token, '254700000404', '100');
      expect(started.status).toBe('pending');
      expect((await status(app, token, started.paymentId)).status).toBe('pending');
      expect(await bookFloat(app, orgId)).toBe(before);
    });

    it('refuses bad phones and amounts with the field named, writing nothing', async () => {
      const count = await app.server.runtime.store.countEvents?.();
      for (const [body, field] of [
        [{ phone: '0812345678', amount: '10' }, 'phone'],
        [{ phone: '0712 345 678', amount: '10' }, 'phone'],
        [{ phone: '0712345678', amount: '10.50' }, 'amount'],
        [{ phone: '0712345678', amount: '0' }, 'amount'],
        [{ phone: '0712345678', amount: '250001' }, 'amount'],
        [{ phone: '0712345678', amount: 10 }, 'amount'],
      ] as const) {
        const response = await app.request('POST', '/v1/mpesa/stk-push', {
          token,
          body: { ...body, accountReference: 'X', description: 'Y' },
        });
        expect(response.status, describeResponse(response)).toBe(400);
        expect((response.body as { error: { details: { field: string } } }).error.details.field).toBe(field);
      }
      expect(await app.server.runtime.store.countEvents?.()).toBe(count);
    });

    it('reverses a collection at most once, and the ledger posts the opposite once', async () => {
      const started = await push(app, token, '0722000111', '700');
      await until(app, token, started.paymentId, (payment) => payment.status === 'succeeded');
      const before = await bookFloat(app, orgId);
      const [first, second] = await Promise.all(
        [0, 1].map(() =>
          app.request('POST', `/v1/mpesa/payments/${started.paymentId}/reverse`, {
            token,
            body: { reason: 'charged twice' },
          }),
        ),
      );
      const statuses = [first!.status, second!.status].sort();
      expect(statuses, `${describeResponse(first!)} ${describeResponse(second!)}`).toEqual([200, 409]);
      const refused = [first!, second!].find((response) => response.status === 409)!;
      expect((refused.body as { error: { code: string } }).error.code).toBe('ALREADY_REVERSED');
      const reversed = await until(app, token, started.paymentId, (payment) =>
        payment.reversals.some((reversal) => reversal.status === 'succeeded'),
      );
      expect(reversed.reversals).toHaveLength(1);
      expect(await bookFloat(app, orgId)).toBe(before - 70_000n);
      const again = await app.request('POST', `/v1/mpesa/payments/${started.paymentId}/reverse`, {
        token,
        body: { reason: 'and again' },
      });
      expect(again.status).toBe(409);
      expect(await bookFloat(app, orgId)).toBe(before - 70_000n);
    });

    it('pays out a batch of 100 from a float that affords 60: exactly 60 paid, 40 refused, never below zero', async () => {
      // Bring the float to exactly 6,000.00 with one collection.
      const current = await bookFloat(app, orgId);
      const topUp = 600_000n - current;
      expect(topUp).toBeGreaterThan(0n);
      const funded = await push(app, token, '0733000222', (topUp / 100n).toString());
      await until(app, token, funded.paymentId, (payment) => payment.status === 'succeeded');
      expect(await bookFloat(app, orgId)).toBe(600_000n);

      const payouts = Array.from({ length: 100 }, (_, index) => ({
        phone: `2547123${String(index).padStart(5, '0')}`,
        amount: '100',
        reference: `salary-${index}`,
      }));
      const response = await app.request('POST', '/v1/mpesa/bulk-payments', {
        token,
        body: { batchId: `batch-${backend}`, remarks: 'November salaries', payouts },
      });
      expect(response.status, describeResponse(response)).toBe(201);
      const body = response.body as {
        payouts: { paymentId: string; status: string }[];
        counts: Record<string, number>;
      };
      expect(body.payouts).toHaveLength(100);
      expect(await bookFloat(app, orgId)).toBeGreaterThanOrEqual(0n);
      // One read of the batch per round (the history read model), not one per payout.
      const ids = new Set(body.payouts.map((payout) => payout.paymentId));
      let settled: { paymentId: string; status: string }[] = [];
      for (let attempt = 0; attempt < POLL_ATTEMPTS; attempt += 1) {
        const page = await app.request('GET', '/v1/mpesa/transactions?type=payout&limit=200', { token });
        expect(page.status, describeResponse(page)).toBe(200);
        settled = (page.body as { items: { paymentId: string; status: string }[] }).items.filter(
          (item) => ids.has(item.paymentId) && ['succeeded', 'failed'].includes(item.status),
        );
        if (settled.length === 100) break;
        await pause();
      }
      expect(settled).toHaveLength(100);
      expect(settled.filter((payment) => payment.status === 'succeeded')).toHaveLength(60);
      expect(settled.filter((payment) => payment.status === 'failed')).toHaveLength(40);
      expect(await bookFloat(app, orgId)).toBe(0n);
      // The same batch again answers as the first did, paying nobody twice.
      const again = await app.request('POST', '/v1/mpesa/bulk-payments', {
        token,
        body: { batchId: `batch-${backend}`, remarks: 'November salaries', payouts },
      });
      expect(again.status, describeResponse(again)).toBe(201);
      expect(
        (again.body as { payouts: { paymentId: string }[] }).payouts.map((payout) => payout.paymentId),
      ).toEqual(body.payouts.map((payout) => payout.paymentId));
      const reused = await app.request('POST', '/v1/mpesa/bulk-payments', {
        token,
        body: { batchId: `batch-${backend}`, remarks: 'Other', payouts: payouts.slice(0, 1) },
      });
      expect(reused.status).toBe(409);
      expect((reused.body as { error: { code: string } }).error.code).toBe('ID_REUSED');
      expect(await bookFloat(app, orgId)).toBe(0n);
    });

    it('answers a wrong callback token as a missing route, and a malformed body with no effect', async () => {
      const wrong = await app.request('POST', `/callbacks/mpesa/${orgId}/not-the-token`, {
        body: { Body: {} },
      });
      expect(wrong.status).toBe(404);
      const url = new URL(app.server.runtime.services.payments.callbacks.mpesaCallbackUrl(orgId));
      const count = await app.server.runtime.store.countEvents?.();
      const malformed = await app.request('POST', url.pathname, { body: { hello: 'world' } });
      expect(malformed.status).toBe(200);
      expect(await app.server.runtime.store.countEvents?.()).toBe(count);
    });

    it('reports totals by day, type and status, as JSON and CSV', async () => {
      const from = new Date(Date.now() - 86_400_000).toISOString();
      const to = new Date(Date.now() + 86_400_000).toISOString();
      const last = await status(app, token, (await push(app, token, '0744000333', '50')).paymentId);
      const report = await readAfter(
        app,
        token,
        `/v1/mpesa/report?from=${from}&to=${to}&format=csv`,
        await positionOf(app, token, last.paymentId),
      );
      expect(report.status, describeResponse(report)).toBe(200);
      const body = report.body as { totals: { paidOut: string; collected: string }; csv: string };
      expect(body.totals.paidOut).toBe('6000.00');
      expect(body.csv.split('\n')[0]).toBe('day,type,status,count,total');
      expect(body.csv).toContain(',payout,succeeded,60,6000.00');
    });
  });
}

describe.skipIf(!BACKENDS[1]!.run)('M-Pesa chaos on PostgreSQL', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp('postgres', {
      env: {
        LEDGERLINE_SIMULATOR_DELAY_MS: '0',
        LEDGERLINE_SIMULATOR_FAULTS: 'callback-before-answer,callback-copies=3',
      },
    });
    await setCredentials(app, app.demoKey);
  });

  afterAll(async () => {
    await app.close();
  });

  it('the callback before the push answer, three times over: paid once, posted once', async () => {
    const started = await push(app, app.demoKey, '0711222333', '2500');
    const paid = await until(
      app,
      app.demoKey,
      started.paymentId,
      (payment) => payment.status === 'succeeded',
    );
    expect(paid.status).toBe('succeeded');
    expect(await bookFloat(app, app.demoOrgId)).toBe(250_000n);
    const events = await paymentEvents(app, app.demoOrgId, started.paymentId);
    expect(events.filter((type) => type === 'PaymentSucceeded')).toHaveLength(1);
    expect(events.filter((type) => type === 'ProviderCallbackReceived').length).toBeGreaterThanOrEqual(1);
    const state = await app.server.runtime.services.ledger.state(app.demoOrgId);
    expect([...state.transfers.keys()].filter((id) => id === started.paymentId)).toHaveLength(1);
  });

  it('a callback replayed at another organization’s URL touches neither organization', async () => {
    const started = await push(app, app.demoKey, '0711222444', '300');
    const paid = await until(
      app,
      app.demoKey,
      started.paymentId,
      (payment) => payment.status === 'succeeded',
    );
    const created = await app.request('POST', '/v1/organizations', {
      token: app.adminKey,
      body: { name: 'Other' },
    });
    expect(created.status).toBe(201);
    const otherOrg = (created.body as { orgId: string }).orgId;
    const before = await app.server.runtime.store.countEvents?.();
    const url = new URL(app.server.runtime.services.payments.callbacks.mpesaCallbackUrl(otherOrg));
    const forged = await app.request('POST', url.pathname, {
      body: {
        Body: {
          stkCallback: {
            MerchantRequestID: 'forged',
            CheckoutRequestID: paid.providerRef,
            ResultCode: 0,
            ResultDesc: 'The service request is processed successfully.',
            CallbackMetadata: {
              Item: [
                { Name: 'Amount', Value: 300 },
                { Name: 'MpesaReceiptNumber', Value: 'FORGED0001' },
                { Name: 'PhoneNumber', Value: 254711222444 },
              ],
            },
          },
        },
      },
    });
    expect(forged.status).toBe(200);
    // Kept for audit under the other organization, and nothing else.
    expect(await app.server.runtime.store.countEvents?.()).toBe((before ?? 0) + 1);
    expect((await status(app, app.demoKey, started.paymentId)).receipt).toBe(paid.receipt);
    expect((await app.server.runtime.services.ledger.state(otherOrg)).transfers.size).toBe(0);
    expect(await bookFloat(app, app.demoOrgId)).toBe(280_000n);
  });

  it('another organization’s payment answers exactly as a missing one, to every M-Pesa command', async () => {
    const started = await push(app, app.demoKey, '0711222555', '40');
    await until(app, app.demoKey, started.paymentId, (payment) => payment.status === 'succeeded');
    const email = 'admin@other-mpesa.test';
    const created = await app.request('POST', '/v1/organizations', {
      token: app.adminKey,
      body: {
        name: 'Other M-Pesa',
        admin: { email, name: 'Admin', password: 'correct horse battery staple' },
      },
    });
    expect(created.status, describeResponse(created)).toBe(201);
    await readAfter(app, app.demoKey, '/v1/organization', created.body.position as string);
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email, password: 'correct horse battery staple' },
    });
    expect(login.status, describeResponse(login)).toBe(200);
    const other = (login.body as { accessToken: string }).accessToken;
    const missing = `pay_${'0'.repeat(26)}`;
    for (const [path, body] of [
      ['status', { refresh: true }],
      ['reverse', { reason: 'not mine' }],
    ] as const) {
      const foreign = await app.request('POST', `/v1/mpesa/payments/${started.paymentId}/${path}`, {
        token: other,
        body,
      });
      const absent = await app.request('POST', `/v1/mpesa/payments/${missing}/${path}`, {
        token: other,
        body,
      });
      expect(foreign.status, describeResponse(foreign)).toBe(404);
      expect(foreign.body.error.code).toBe(absent.body.error.code);
      expect(foreign.body.error.message).toBe(absent.body.error.message);
    }
    expect((await status(app, app.demoKey, started.paymentId)).reversals).toEqual([]);
  });
});
