/**
 * Chaos "the provider times out" (issue 7), on real PostgreSQL over HTTP: the simulator takes
 * every STK push and payout and carries it out, but its answer does not come in time (the
 * `answer-timeout` fault: what the Daraja adapter answers when its request timeout fires). A
 * payment whose outcome is unknown is never failed and a payout's reservation never voided on
 * that account: each ends as M-Pesa really ended it — by its callback (an STK push's callback
 * finds its payment through the URL, its CheckoutRequestID never having been seen) or, when
 * the callback is lost too, by the resolver's status query — posted once, nothing doubled or
 * lost. Where M-Pesa cannot be asked (a push with no reference and no callback), the payment
 * stays pending with a reconciliation alert.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { magicPhone } from '../../src/adapters/providers/simulators/mpesaMagic.js';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  bookFloat,
  floatReserved,
  payOut,
  paymentEvents,
  setMpesaCredentials,
  stkPush,
  transfersOf,
  until,
  untilPayment,
  untilReceipted,
} from '../support/mpesaHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';

const run = serviceGate('M-Pesa provider timeouts on PostgreSQL', await probePostgres());

const CALLBACK_LOST = magicPhone(410);
const INSUFFICIENT_FUNDS = magicPhone(1);
const ATTEMPTS = 3;

describe.skipIf(!run)('M-Pesa when the provider does not answer in time, on PostgreSQL', () => {
  let app: TestApp;
  let token: string;
  let orgId: string;

  beforeAll(async () => {
    app = await startTestApp('postgres', {
      env: {
        LEDGERLINE_SIMULATOR_FAULTS: 'answer-timeout',
        LEDGERLINE_MPESA_RESOLVER_INTERVAL_MS: '40',
        LEDGERLINE_MPESA_RESOLVER_GRACE_MS: '0',
        LEDGERLINE_MPESA_RESOLVER_ATTEMPTS: String(ATTEMPTS),
      },
    });
    token = app.demoKey;
    orgId = app.demoOrgId;
    await setMpesaCredentials(app, token);
  });

  afterAll(async () => {
    await app.close();
  });

  it('an STK push with no answer stays pending, and its callback settles it once', async () => {
    const before = await bookFloat(app, orgId);
    const started = await stkPush(app, token, '0712000111', '2000');
    expect(started.status).not.toBe('failed');
    const paid = await untilPayment(
      app,
      token,
      started.paymentId,
      (payment) => payment.status === 'succeeded',
    );
    // The callback found the payment and named its CheckoutRequestID; the receipt is M-Pesa's, or
    // the checkout id when the resolver's STK query happened to settle it first.
    expect(paid.providerRef).toMatch(/^ws_CO_/);
    expect(paid.receipt === paid.providerRef || /^[A-Z0-9]{10}$/.test(paid.receipt ?? '')).toBe(true);
    expect(await bookFloat(app, orgId)).toBe(before + 200_000n);
    expect(await transfersOf(app, orgId, started.paymentId)).toEqual([
      { transferId: started.paymentId, status: 'posted' },
    ]);
    const types = (await paymentEvents(app, orgId, started.paymentId)).map((event) => event.type);
    expect(types).not.toContain('PaymentFailed');
    expect(types.filter((type) => type === 'PaymentSucceeded')).toHaveLength(1);
  });

  it('an STK push with no answer and no callback is never failed: pending, asked within bounds, alerted', async () => {
    const before = await bookFloat(app, orgId);
    const started = await stkPush(app, token, CALLBACK_LOST, '700');
    expect(started.status).toBe('pending');
    const alerts = await until(
      async () =>
        (
          await app.server.runtime.services.db.query<{ kind: string }>(
            'SELECT kind FROM rm_reconciliation_alerts WHERE payment_id = $1',
            [started.paymentId],
          )
        ).rows,
      (rows) => rows.length > 0,
    );
    expect(alerts).toEqual([{ kind: 'outcome_unresolved' }]);
    const events = await paymentEvents(app, orgId, started.paymentId);
    const queried = events.filter((event) => event.type === 'ProviderStatusQueried');
    expect(queried).toHaveLength(ATTEMPTS);
    expect(queried.every((event) => event.data['resultCode'] === 'no_reference')).toBe(true);
    expect(events.map((event) => event.type)).not.toContain('PaymentFailed');
    expect((await untilPayment(app, token, started.paymentId, () => true)).status).toBe('pending');
    expect(await bookFloat(app, orgId)).toBe(before);
  });

  it('a payout with no answer keeps its reservation, and its result posts it once', async () => {
    const funded = await stkPush(app, token, '0712000222', '5000');
    await untilPayment(app, token, funded.paymentId, (payment) => payment.status === 'succeeded');
    const before = await bookFloat(app, orgId);
    const started = await payOut(app, token, 'timeout-paid', '0712000333', '1200');
    expect(started.status).not.toBe('failed');
    await untilPayment(app, token, started.paymentId, (payment) => payment.status === 'succeeded');
    expect(await bookFloat(app, orgId)).toBe(before - 120_000n);
    expect(await floatReserved(app, orgId)).toBe(0n);
    expect(await transfersOf(app, orgId, started.paymentId)).toEqual([
      { transferId: started.paymentId, status: 'posted' },
    ]);
  });

  it('a payout with no answer and no result is settled by the status query, its reservation posted once', async () => {
    const before = await bookFloat(app, orgId);
    const started = await payOut(app, token, 'timeout-lost', CALLBACK_LOST, '800');
    // Unknown outcome: reserved, not voided, not failed.
    expect(started.status).toBe('pending');
    const paid = await untilPayment(
      app,
      token,
      started.paymentId,
      (payment) => payment.status === 'succeeded',
    );
    expect(paid.receipt).toMatch(/^[A-Z0-9]{10}$/);
    expect(await bookFloat(app, orgId)).toBe(before - 80_000n);
    expect(await floatReserved(app, orgId)).toBe(0n);
    expect(await transfersOf(app, orgId, started.paymentId)).toEqual([
      { transferId: started.paymentId, status: 'posted' },
    ]);
    const events = await paymentEvents(app, orgId, started.paymentId);
    const types = events.map((event) => event.type);
    expect(types).toContain('ProviderStatusQueried');
    // Only the status query's answers came back; the payout's own result never did.
    const callbacks = events.filter((event) => event.type === 'ProviderCallbackReceived');
    expect(callbacks.length).toBeGreaterThan(0);
    expect(callbacks.every((event) => event.data['providerRef'] !== started.paymentId)).toBe(true);
    expect(types.filter((type) => type === 'PaymentSucceeded')).toHaveLength(1);
  });

  it('a payout with no answer that M-Pesa refused is voided only on the refusal', async () => {
    const before = await bookFloat(app, orgId);
    const started = await payOut(app, token, 'timeout-refused', INSUFFICIENT_FUNDS, '300');
    expect(started.status).not.toBe('failed');
    const failed = await untilPayment(
      app,
      token,
      started.paymentId,
      (payment) => payment.status === 'failed',
    );
    expect(failed.status).toBe('failed');
    expect(await bookFloat(app, orgId)).toBe(before);
    expect(await floatReserved(app, orgId)).toBe(0n);
    expect(await transfersOf(app, orgId, started.paymentId)).toEqual([
      { transferId: started.paymentId, status: 'voided' },
    ]);
  });
  it('a callback naming a payment is adopted only by that organization’s waiting push, with its amount and phone', async () => {
    const before = await bookFloat(app, orgId);
    const started = await stkPush(app, token, CALLBACK_LOST, '650');
    expect(started.status).toBe('pending');
    const created = await app.request('POST', '/v1/organizations', {
      token: app.adminKey,
      body: { name: 'Other timeout org' },
    });
    expect(created.status).toBe(201);
    const otherOrg = (created.body as { orgId: string }).orgId;
    const callbacks = app.server.runtime.services.payments.callbacks;
    const body = (checkoutId: string, shillings: number) => ({
      Body: {
        stkCallback: {
          MerchantRequestID: 'm-1',
          CheckoutRequestID: checkoutId,
          ResultCode: 0,
          ResultDesc: 'The service request is processed successfully.',
          CallbackMetadata: {
            Item: [
              { Name: 'Amount', Value: shillings },
              { Name: 'MpesaReceiptNumber', Value: 'SADOPT0001' },
              { Name: 'PhoneNumber', Value: Number(CALLBACK_LOST) },
            ],
          },
        },
      },
    });
    const post = async (url: string, payload: object) => {
      const target = new URL(url);
      const response = await app.request('POST', `${target.pathname}${target.search}`, { body: payload });
      expect(response.status).toBe(200);
    };
    // At another organization's URL, naming this organization's payment: nothing.
    await post(callbacks.mpesaCallbackUrl(otherOrg, started.paymentId), body('ws_CO_forged1', 650));
    // At the right URL with another amount: nothing.
    await post(callbacks.mpesaCallbackUrl(orgId, started.paymentId), body('ws_CO_forged2', 651));
    // At the right URL, a success that says nothing of what was paid: nothing.
    const bare = body('ws_CO_forged3', 650);
    await post(callbacks.mpesaCallbackUrl(orgId, started.paymentId), {
      Body: { stkCallback: { ...bare.Body.stkCallback, CallbackMetadata: undefined } },
    });
    const untouched = await untilPayment(app, token, started.paymentId, () => true);
    expect(untouched).toMatchObject({ status: 'pending', providerRef: null });
    expect(await bookFloat(app, orgId)).toBe(before);
    // The real one, three times: paid once.
    for (let copy = 0; copy < 3; copy += 1) {
      await post(callbacks.mpesaCallbackUrl(orgId, started.paymentId), body('ws_CO_real1', 650));
    }
    const paid = await untilPayment(
      app,
      token,
      started.paymentId,
      (payment) => payment.status === 'succeeded',
    );
    expect(paid).toMatchObject({ providerRef: 'ws_CO_real1', receipt: 'SADOPT0001' });
    expect(await bookFloat(app, orgId)).toBe(before + 65_000n);
    expect((await app.server.runtime.services.ledger.state(otherOrg)).transfers.size).toBe(0);
  });
  it('a reversal with no answer stays requested, and its result finds it: reversed once', async () => {
    const started = await stkPush(app, token, '0712000666', '900');
    await untilReceipted(app, token, started.paymentId);
    const before = await bookFloat(app, orgId);
    const response = await app.request('POST', `/v1/mpesa/payments/${started.paymentId}/reverse`, {
      token,
      body: { reason: 'charged twice' },
    });
    expect(response.status, JSON.stringify(response.body)).toBeLessThan(300);
    const { reversalId } = response.body as { reversalId: string };
    const reversed = await until(
      () => paymentEvents(app, orgId, started.paymentId),
      (events) => events.some((event) => event.type === 'ReversalSucceeded'),
    );
    expect(reversed.filter((event) => event.type === 'ReversalSucceeded')).toHaveLength(1);
    expect(reversed.map((event) => event.type)).not.toContain('ReversalFailed');
    const state = await app.server.runtime.services.ledger.state(orgId);
    expect(state.transfers.get(reversalId)?.amount).toBe(90_000n);
    expect(await bookFloat(app, orgId)).toBe(before - 90_000n);
  });
});
