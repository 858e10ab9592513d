/**
 * A payout whose result comes after its reservation expired (issue 7, SPEC §5.1), on real
 * PostgreSQL over HTTP with a short reservation (1 s) and a slower simulator (its results
 * come 1.5 s later): the success still happened at M-Pesa, so the ledger records it with a
 * fresh transfer from the float (`{paymentId}_late`), once however often the result comes, and
 * a reconciliation alert shows it in the balance answer; a refusal after the expiry has nothing
 * left to void and raises nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { magicPhone } from '../../src/adapters/providers/simulators/mpesaMagic.js';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  bookFloat,
  describeResponse,
  floatReserved,
  payOut,
  setMpesaCredentials,
  stkPush,
  transfersOf,
  until,
  untilPayment,
} from '../support/mpesaHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';

const run = serviceGate('M-Pesa payout reservation expiry on PostgreSQL', await probePostgres());

interface Alert {
  paymentId: string;
  kind: string;
  amount: string;
  transferId: string | null;
  detail: string;
}

describe.skipIf(!run)('a payout paid after its reservation expired, on PostgreSQL', () => {
  let app: TestApp;
  let token: string;
  let orgId: string;

  async function alerts(): Promise<Alert[]> {
    const response = await app.request('POST', '/v1/mpesa/balance', { token, body: {} });
    expect(response.status, describeResponse(response)).toBe(200);
    return (response.body as { reconciliationAlerts: Alert[] }).reconciliationAlerts;
  }

  beforeAll(async () => {
    app = await startTestApp('postgres', {
      env: {
        LEDGERLINE_SIMULATOR_DELAY_MS: '1500',
        LEDGERLINE_MPESA_PAYOUT_RESERVATION_SECONDS: '1',
      },
    });
    token = app.demoKey;
    orgId = app.demoOrgId;
    await setMpesaCredentials(app, token);
    const funded = await stkPush(app, token, '0712000444', '10000');
    await untilPayment(app, token, funded.paymentId, (payment) => payment.status === 'succeeded');
  });

  afterAll(async () => {
    await app.close();
  });

  it('posts a late success once, from the float, and raises a reconciliation alert', async () => {
    const before = await bookFloat(app, orgId);
    const started = await payOut(app, token, 'late-paid', '0712000555', '1000');
    expect(started.status).toBe('pending');
    const paid = await untilPayment(
      app,
      token,
      started.paymentId,
      (payment) => payment.status === 'succeeded',
    );
    expect(paid.receipt).toMatch(/^[A-Z0-9]{10}$/);
    expect(await transfersOf(app, orgId, started.paymentId)).toEqual([
      { transferId: started.paymentId, status: 'expired' },
      { transferId: `${started.paymentId}_late`, status: 'posted' },
    ]);
    expect(await bookFloat(app, orgId)).toBe(before - 100_000n);
    expect(await floatReserved(app, orgId)).toBe(0n);
    const raised = await until(alerts, (list) => list.some((alert) => alert.paymentId === started.paymentId));
    expect(raised.filter((alert) => alert.paymentId === started.paymentId)).toEqual([
      expect.objectContaining({
        kind: 'payout_settled_after_expiry',
        amount: '1000.00',
        transferId: `${started.paymentId}_late`,
      }),
    ]);

    // The same result again (M-Pesa repeating itself): nothing more is posted or raised.
    const url = new URL(app.server.runtime.services.payments.callbacks.mpesaCallbackUrl(orgId));
    const repeated = await app.request('POST', url.pathname, {
      body: {
        Result: {
          ResultType: 0,
          ResultCode: 0,
          ResultDesc: 'The service request is processed successfully.',
          OriginatorConversationID: started.paymentId,
          ConversationID: 'AG_20261121_repeat',
          TransactionID: paid.receipt,
          ResultParameters: { ResultParameter: [{ Key: 'TransactionAmount', Value: 1000 }] },
        },
      },
    });
    expect(repeated.status).toBe(200);
    expect(await transfersOf(app, orgId, started.paymentId)).toHaveLength(2);
    expect(await bookFloat(app, orgId)).toBe(before - 100_000n);
    const events = await app.server.runtime.store.readStream(`${orgId}.payment-${started.paymentId}`);
    expect(events.filter((event) => event.type === 'ReconciliationAlertRaised')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'PaymentSucceeded')).toHaveLength(1);
  });

  it('a refusal after the expiry has nothing to void, moves nothing and raises nothing', async () => {
    const before = await bookFloat(app, orgId);
    const started = await payOut(app, token, 'late-refused', magicPhone(1), '700');
    const failed = await untilPayment(
      app,
      token,
      started.paymentId,
      (payment) => payment.status === 'failed',
    );
    expect(failed.status).toBe('failed');
    // Expired by the sweep, or voided by the refusal if it came first after the timeout.
    const transfers = await transfersOf(app, orgId, started.paymentId);
    expect(transfers).toHaveLength(1);
    expect(['expired', 'voided']).toContain(transfers[0]?.status);
    expect(await floatReserved(app, orgId)).toBe(0n);
    expect(await bookFloat(app, orgId)).toBe(before);
    const events = await app.server.runtime.store.readStream(`${orgId}.payment-${started.paymentId}`);
    expect(events.map((event) => event.type)).not.toContain('ReconciliationAlertRaised');
  });
  it('a late success the float can no longer cover succeeds without a transfer, alerted as unposted', async () => {
    const float = await bookFloat(app, orgId);
    const amount = (float / 100n).toString();
    // The whole float, to a payee whose result callback is lost: the status query brings it.
    const started = await payOut(app, token, 'late-unposted', magicPhone(410), amount);
    expect(started.status).toBe('pending');
    await until(
      () => transfersOf(app, orgId, started.paymentId),
      (transfers) => transfers[0]?.status === 'expired',
    );
    // The released float is spent before M-Pesa's answer is known.
    const opened = await app.request('POST', '/v1/ledger/accounts', {
      token,
      body: { address: 'expenses:float:sweep', asset: 'KES', type: 'expense' },
    });
    expect(opened.status, describeResponse(opened)).toBe(201);
    const spent = await app.request('POST', '/v1/ledger/transfers', {
      token,
      body: {
        transfers: [
          {
            transferId: 'sweep_all_of_the_float',
            debitAccount: 'expenses:float:sweep',
            creditAccount: 'assets:mpesa:float',
            amount: `${amount}.00`,
          },
        ],
      },
    });
    expect(spent.status, describeResponse(spent)).toBeLessThan(300);
    expect(await bookFloat(app, orgId)).toBe(0n);
    // Asked until M-Pesa (which paid it) says so.
    const paid = await until(
      async () => {
        const response = await app.request('POST', `/v1/mpesa/payments/${started.paymentId}/status`, {
          token,
          body: { refresh: true },
        });
        return response.body as { status: string };
      },
      (payment) => payment.status === 'succeeded',
    );
    expect(paid.status).toBe('succeeded');
    expect(await transfersOf(app, orgId, started.paymentId)).toEqual([
      { transferId: started.paymentId, status: 'expired' },
    ]);
    expect(await bookFloat(app, orgId)).toBe(0n);
    const raised = await until(alerts, (list) => list.some((alert) => alert.paymentId === started.paymentId));
    expect(raised.filter((alert) => alert.paymentId === started.paymentId)).toEqual([
      expect.objectContaining({ kind: 'payout_unposted', transferId: null }),
    ]);
  });
});
