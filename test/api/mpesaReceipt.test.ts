/**
 * A collection whose callback was lost is settled by the STK status query, which names no
 * M-Pesa receipt: the checkout id stands in. M-Pesa reverses by receipt, so until the receipt
 * is known a reversal is refused with nothing written (not sent to fail there); when the
 * callback does come, late, its receipt is recorded once, and the collection can be reversed.
 * On real PostgreSQL over HTTP with the simulator (magic …0410: the callback is lost).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { magicPhone } from '../../src/adapters/providers/simulators/mpesaMagic.js';
import { MpesaSimulator } from '../../src/adapters/providers/simulators/mpesaSimulator.js';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  bookFloat,
  describeResponse,
  paymentEvents,
  paymentStatus,
  setMpesaCredentials,
  stkPush,
  until,
} from '../support/mpesaHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';

const run = serviceGate('M-Pesa receipts learnt late on PostgreSQL', await probePostgres());
const CALLBACK_LOST = magicPhone(410);

describe.skipIf(!run)('an M-Pesa collection settled before its receipt was known', () => {
  let app: TestApp;
  let token: string;
  let orgId: string;

  beforeAll(async () => {
    app = await startTestApp('postgres');
    token = app.demoKey;
    orgId = app.demoOrgId;
    await setMpesaCredentials(app, token);
  });

  afterAll(async () => {
    await app.close();
  });

  it('refuses a reversal until the callback names the receipt, records it once, then reverses', async () => {
    const started = await stkPush(app, token, CALLBACK_LOST, '420');
    const simulator = app.server.runtime.services.payments.providers.mobileMoney;
    if (!(simulator instanceof MpesaSimulator)) throw new Error('the test app runs the M-Pesa simulator');
    // The simulator completes the push and withholds its callback.
    const pending = await paymentStatus(app, token, started.paymentId);
    const checkoutId = (pending as unknown as { providerRef: string }).providerRef;
    const callback = await until(
      () => Promise.resolve(simulator.withheldCallback(checkoutId)),
      (body) => body !== undefined,
    );
    // Settled by the status query: succeeded, with the checkout id standing in for the receipt.
    const queried = await app.request('POST', `/v1/mpesa/payments/${started.paymentId}/status`, {
      token,
      body: { refresh: true },
    });
    expect(queried.status, describeResponse(queried)).toBe(200);
    expect(queried.body).toMatchObject({ status: 'succeeded', receipt: checkoutId });
    const floatAfterCollection = await bookFloat(app, orgId);

    const early = await app.request('POST', `/v1/mpesa/payments/${started.paymentId}/reverse`, {
      token,
      body: { reason: 'charged twice' },
    });
    expect(early.status, describeResponse(early)).toBe(409);
    expect(early.body).toMatchObject({ error: { code: 'INVALID_STATE' } });
    expect(JSON.stringify(early.body)).toMatch(/receipt/);
    const before = await paymentEvents(app, orgId, started.paymentId);
    expect(before.map((event) => event.type)).not.toContain('ReversalRequested');

    // The callback comes after all, twice: its receipt is recorded once; nothing is posted again.
    const url = new URL(
      app.server.runtime.services.payments.callbacks.mpesaCallbackUrl(orgId, started.paymentId),
    );
    for (let copy = 0; copy < 2; copy += 1) {
      const delivered = await app.request('POST', `${url.pathname}${url.search}`, {
        body: callback as object,
      });
      expect(delivered.status, describeResponse(delivered)).toBe(200);
    }
    const receipt = (
      callback as {
        Body: { stkCallback: { CallbackMetadata: { Item: { Name: string; Value: unknown }[] } } };
      }
    ).Body.stkCallback.CallbackMetadata.Item.find((item) => item.Name === 'MpesaReceiptNumber')?.Value;
    expect(typeof receipt).toBe('string');
    const recorded = await until(
      () => paymentEvents(app, orgId, started.paymentId),
      (events) => events.some((event) => event.type === 'PaymentReceiptRecorded'),
    );
    expect(recorded.filter((event) => event.type === 'PaymentReceiptRecorded')).toHaveLength(1);
    expect(recorded.filter((event) => event.type === 'PaymentSucceeded')).toHaveLength(1);
    expect(await bookFloat(app, orgId)).toBe(floatAfterCollection);
    const known = await until(
      () => paymentStatus(app, token, started.paymentId),
      (payment) => (payment as unknown as { receipt: string }).receipt === receipt,
    );
    expect(known).toMatchObject({ status: 'succeeded', receipt });

    // Now M-Pesa can find it: reversed once, the float back where it was.
    const reversal = await app.request('POST', `/v1/mpesa/payments/${started.paymentId}/reverse`, {
      token,
      body: { reason: 'charged twice' },
    });
    expect(reversal.status, describeResponse(reversal)).toBeLessThan(300);
    const reversed = await until(
      () => paymentEvents(app, orgId, started.paymentId),
      (events) =>
        events.some((event) => event.type === 'ReversalSucceeded' || event.type === 'ReversalFailed'),
    );
    expect(reversed.map((event) => event.type)).toContain('ReversalSucceeded');
    expect(await bookFloat(app, orgId)).toBe(floatAfterCollection - 42_000n);
  });
});
