/**
 * A collection's two answers (M-Pesa's callback and the resolver's status query) both post it
 * to the ledger under the payment's id, each with its own receipt in the metadata. When the
 * other answer posted first, the later post is ID_REUSED: that collection is on the ledger and
 * the payment keeps its transfer id. A transfer that only shares the id (transfer ids are the
 * client's to choose) is not taken for it. The callback is sent by hand here, for a phone the
 * simulator never calls back, so the other answer's post can come first every time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stkCallbackBody } from '../../src/adapters/providers/simulators/mpesaCallbackBodies.js';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  describeResponse,
  FLOAT,
  paymentEvents,
  paymentStatus,
  setMpesaCredentials,
  stkPush,
  transfersOf,
  untilPayment,
} from '../support/mpesaHttp.js';

const COLLECTIONS = 'revenue:mpesa:collections';
const ELSEWHERE = 'customers:cus_posted_first:wallet';
/** The simulator never calls back for this number. */
const SILENT_PHONE = '254700000404';

describe('a collection posted by its other answer first (PGlite)', () => {
  let app: TestApp;
  let token: string;
  let orgId: string;

  beforeAll(async () => {
    app = await startTestApp('pglite', { env: { LEDGERLINE_SIMULATOR_DELAY_MS: '0' } });
    token = app.demoKey;
    orgId = app.demoOrgId;
    await setMpesaCredentials(app, token);
    // One collection called back as usual: the product opens its ledger accounts.
    const opening = await stkPush(app, token, '0722000111', '100');
    await untilPayment(app, token, opening.paymentId, (found) => found.status === 'succeeded');
  });

  afterAll(async () => {
    await app.close();
  });

  async function pending(): Promise<{ paymentId: string; checkoutId: string }> {
    const started = await stkPush(app, token, SILENT_PHONE, '250');
    const payment = await untilPayment(app, token, started.paymentId, (found) => found.providerRef !== null);
    expect(payment.status).toBe('pending');
    return { paymentId: started.paymentId, checkoutId: payment.providerRef ?? '' };
  }

  async function post(transfer: Record<string, unknown>): Promise<void> {
    const response = await app.request('POST', '/v1/ledger/transfers', {
      token,
      body: { transfers: [transfer] },
    });
    expect(response.status, describeResponse(response)).toBeLessThan(300);
    expect((response.body as { created: number }).created, describeResponse(response)).toBe(1);
  }

  async function callback(checkoutId: string, receipt: string): Promise<void> {
    const url = new URL(app.server.runtime.services.payments.callbacks.mpesaCallbackUrl(orgId));
    const response = await app.request('POST', url.pathname, {
      body: stkCallbackBody({
        merchantRequestId: `mr_${receipt}`,
        checkoutRequestId: checkoutId,
        resultCode: 0,
        resultDesc: 'The service request is processed successfully.',
        paid: { shillings: 250, receipt, transactionDate: 20261122013000, phone: SILENT_PHONE },
      }),
    });
    expect(response.status, describeResponse(response)).toBe(200);
  }

  const succeededWith = async (paymentId: string) =>
    (await paymentEvents(app, orgId, paymentId)).find((event) => event.type === 'PaymentSucceeded')?.data;

  it('keeps the transfer the other answer posted, and the receipt the callback names', async () => {
    const { paymentId, checkoutId } = await pending();
    // What the status query's settlement posts: the payment's id, the stand-in as receipt.
    await post({
      transferId: paymentId,
      debitAccount: FLOAT,
      creditAccount: COLLECTIONS,
      amount: '250.00',
      code: 'payment',
      reference: 'INV-1',
      metadata: { payment_id: paymentId, receipt: checkoutId },
    });
    await callback(checkoutId, 'RACE000001');
    const settled = await untilPayment(app, token, paymentId, (found) => found.status === 'succeeded');
    expect(settled.receipt).toBe('RACE000001');
    expect((await succeededWith(paymentId))?.['transferId']).toBe(paymentId);
    expect(await transfersOf(app, orgId, paymentId)).toEqual([{ transferId: paymentId, status: 'posted' }]);
  });

  it('does not take a transfer that only shares the payment id for the collection', async () => {
    const { paymentId, checkoutId } = await pending();
    const opened = await app.request('POST', '/v1/ledger/accounts', {
      token,
      body: { address: ELSEWHERE, asset: 'KES', type: 'liability' },
    });
    expect(opened.status, describeResponse(opened)).toBeLessThan(300);
    await post({ transferId: paymentId, debitAccount: FLOAT, creditAccount: ELSEWHERE, amount: '250.00' });
    await callback(checkoutId, 'RACE000002');
    await untilPayment(app, token, paymentId, (found) => found.status === 'succeeded');
    expect((await succeededWith(paymentId))?.['transferId']).toBeNull();
    expect((await paymentStatus(app, token, paymentId)).receipt).toBe('RACE000002');
  });
});
