import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMpesaCallback } from '../../src/adapters/providers/daraja/callbacks.js';
import type { CallbackDelivery } from '../../src/adapters/providers/simulators/callbackSender.js';
import { magicPhone, magicShillings } from '../../src/adapters/providers/simulators/mpesaMagic.js';
import {
  MpesaSimulator,
  type MpesaSimulatorOptions,
} from '../../src/adapters/providers/simulators/mpesaSimulator.js';
import { ManualScheduler } from '../../src/adapters/providers/simulators/scheduler.js';
import { DARAJA_REQUEST_TIMEOUT_MS } from '../../src/adapters/providers/daraja/darajaMobileMoney.js';
import type { MpesaCredentials } from '../../src/domain/payments/credentials.js';
import {
  isMpesaAmount,
  mpesaAmountFromShillings,
  type MpesaAmount,
} from '../../src/domain/payments/mpesaAmount.js';
import type { InitiatorResult, MpesaCallback, StkResult } from '../../src/domain/payments/mpesaResults.js';
import { normalizeKenyanPhone, type Msisdn } from '../../src/domain/payments/phone.js';
import type { ProviderResult } from '../../src/domain/payments/providerResult.js';
import { sendJson, startServer, waitFor, type TestServer } from './support/httpServer.js';

const credentials: MpesaCredentials = {
  consumerKey: 'sim-consumer-key',
  consumerSecret: 'sim-SECRET-consumer-secret-1',
  shortcode: '600999',
  passkey: 'sim-SECRET-passkey-2',
  initiatorName: 'ops',
  securityCredential: 'c2ltLVNFQ1JFVC1jcmVkZW50aWFsLTM=',
  environment: 'sandbox',
};
const SECRETS = [credentials.consumerSecret, credentials.passkey, credentials.securityCredential];

function shillings(value: bigint): MpesaAmount {
  const amount = mpesaAmountFromShillings(value);
  if (!isMpesaAmount(amount)) throw new Error(amount.reason);
  return amount;
}

function phone(text: string): Msisdn {
  return normalizeKenyanPhone(text) as Msisdn;
}

function value<T>(result: ProviderResult<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.failure)}`);
  return result.value;
}

describe('M-Pesa simulator', () => {
  let receiver: TestServer;
  let scheduler: ManualScheduler;
  let simulator: MpesaSimulator;
  let callbackUrl: string;
  const deliveries: CallbackDelivery[] = [];

  const make = (options: MpesaSimulatorOptions = {}) =>
    new MpesaSimulator({ scheduler, onDelivery: (delivery) => deliveries.push(delivery), ...options });

  beforeEach(async () => {
    receiver = await startServer((_request, response) => {
      sendJson(response, 200, { ResultCode: 0, ResultDesc: 'Accepted' });
    });
    callbackUrl = `${receiver.url}/callbacks/mpesa/org_1/secret-path-token`;
    scheduler = new ManualScheduler();
    deliveries.length = 0;
    simulator = make();
  });

  afterEach(async () => {
    await simulator.close();
    await receiver.close();
  });

  /** Runs every scheduled callback and waits until the receiver has `count` of them. */
  async function callbacks(count: number): Promise<MpesaCallback[]> {
    scheduler.runAll();
    await waitFor(() => receiver.requests.length >= count, `${count} callbacks`);
    await simulator.idle();
    return receiver.requests.map((request) => {
      const parsed = parseMpesaCallback(request.json);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.callback;
    });
  }

  const push = (to: string, amount = 10n) =>
    simulator.stkPush(credentials, {
      phone: phone(to),
      amount: shillings(amount),
      accountReference: 'INV-1',
      description: 'Invoice',
      callbackUrl,
    });

  it('accepts a push at once and posts the success callback later, over HTTP, to the given URL', async () => {
    const accepted = value(await push('0712345678', 250n));
    expect(accepted.checkoutRequestId).toMatch(/^ws_CO_/);
    expect(receiver.requests).toHaveLength(0);
    expect(value(await simulator.stkQuery(credentials, accepted))).toMatchObject({ status: 'pending' });

    const [callback] = (await callbacks(1)) as StkResult[];
    const [request] = receiver.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/callbacks/mpesa/org_1/secret-path-token');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(callback).toMatchObject({
      kind: 'stk',
      checkoutRequestId: accepted.checkoutRequestId,
      merchantRequestId: accepted.merchantRequestId,
      outcome: { status: 'succeeded', resultCode: '0' },
      payment: { amountMinor: 25_000n, phone: '254712345678' },
    });
    expect(callback!.payment!.receiptNumber).toMatch(/^[A-Z0-9]{10}$/);
    expect(value(await simulator.stkQuery(credentials, accepted))).toMatchObject({
      status: 'completed',
      outcome: { status: 'succeeded' },
    });
    expect(deliveries).toEqual([{ kind: 'stk', id: accepted.checkoutRequestId, status: 200 }]);
  });

  it.each([
    [1, 'insufficient_funds'],
    [1032, 'cancelled_by_user'],
    [1037, 'unreachable'],
    [2001, 'wrong_pin'],
    [1001, 'subscriber_locked'],
    [1019, 'expired'],
    [1025, 'push_failed'],
    [9999, 'push_failed'],
    [21, 'initiator_not_allowed'],
  ])('the magic phone and the magic amount for %s each give that result code', async (code, reason) => {
    value(await push(magicPhone(code)));
    value(await push('0712345678', magicShillings(code)));
    const received = (await callbacks(2)) as StkResult[];
    for (const callback of received) {
      expect(callback.outcome).toMatchObject({ status: 'failed', resultCode: String(code), reason });
      expect(callback.payment).toBeUndefined();
    }
    expect(receiver.requests[0]!.json.Body.stkCallback.CallbackMetadata).toBeUndefined();
    const query = value(
      await simulator.stkQuery(credentials, { checkoutRequestId: received[0]!.checkoutRequestId }),
    );
    expect(query).toMatchObject({
      status: 'completed',
      outcome: { status: 'failed', resultCode: String(code) },
    });
  });

  it('never calls back for the never-comes phone or amount; the query stays pending', async () => {
    const byPhone = value(await push(magicPhone(404)));
    const byAmount = value(await push('0712345678', magicShillings(404)));
    expect(scheduler.size).toBe(0);
    expect(simulator.pendingCallbacks).toBe(0);
    scheduler.runAll();
    await simulator.idle();
    expect(receiver.requests).toHaveLength(0);
    for (const accepted of [byPhone, byAmount]) {
      expect(value(await simulator.stkQuery(credentials, accepted))).toMatchObject({ status: 'pending' });
    }
  });

  it('completes a push whose callback is lost: nothing is posted, the query answers the success', async () => {
    const byPhone = value(await push(magicPhone(410)));
    const byAmount = value(await push('0712345678', magicShillings(410)));
    for (const accepted of [byPhone, byAmount]) {
      expect(value(await simulator.stkQuery(credentials, accepted))).toMatchObject({ status: 'pending' });
    }
    scheduler.runAll();
    await simulator.idle();
    expect(receiver.requests).toHaveLength(0);
    for (const accepted of [byPhone, byAmount]) {
      expect(value(await simulator.stkQuery(credentials, accepted))).toMatchObject({
        status: 'completed',
        outcome: { status: 'succeeded' },
      });
    }
  });

  it('loses the answer of a push that still succeeds and calls back (a provider timeout)', async () => {
    const answer = await push(magicPhone(408));
    expect(answer).toEqual({
      ok: false,
      failure: {
        kind: 'unavailable',
        message: 'Daraja: no answer (simulated timeout)',
        mayHaveHappened: true,
      },
    });
    const [callback] = await callbacks(1);
    expect(callback).toMatchObject({ kind: 'stk', outcome: { status: 'succeeded' } });
  });

  it('with the answer-timeout fault, carries out pushes and payouts but answers as a Daraja timeout', async () => {
    await simulator.close();
    simulator = make({ faults: { answerTimeout: true } });
    const lost = await push('0712345678', 40n);
    expect(lost).toEqual({
      ok: false,
      failure: {
        kind: 'unavailable',
        message: `Daraja: no answer within ${String(DARAJA_REQUEST_TIMEOUT_MS)} ms (simulated timeout)`,
        mayHaveHappened: true,
      },
    });
    const payout = await simulator.b2cPayout(credentials, {
      originatorConversationId: 'timeout-1',
      phone: phone('0712345679'),
      amount: shillings(15n),
      remarks: 'x',
      resultUrl: callbackUrl,
    });
    expect(payout).toMatchObject({ ok: false, failure: { kind: 'unavailable', mayHaveHappened: true } });
    const results = await callbacks(2);
    expect(results.map((callback) => [callback.kind, callback.outcome.status]).sort()).toEqual([
      ['result', 'succeeded'],
      ['stk', 'succeeded'],
    ]);
    // Queries are not money-moving: they answer as usual.
    const status = await simulator.transactionStatus(credentials, {
      originatorConversationId: 'timeout-1',
      resultUrl: callbackUrl,
    });
    expect(status.ok).toBe(true);
  });

  it('can post the callback before answering the push', async () => {
    simulator = make({ faults: { callbackBeforeAnswer: true } });
    const accepted = value(await push('0712345678'));
    // The receiver has already answered the callback when the push answers.
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]!.json.Body.stkCallback.CheckoutRequestID).toBe(accepted.checkoutRequestId);
  });

  it('can post the same callback several times', async () => {
    simulator = make({ faults: { callbackCopies: 3 } });
    value(await push('0712345678'));
    await callbacks(3);
    expect(receiver.requests).toHaveLength(3);
    expect(new Set(receiver.requests.map((request) => request.body)).size).toBe(1);
  });

  it('refuses new requests while too many callbacks are pending, and nothing is lost', async () => {
    simulator = make({ pendingCallbacksMax: 2 });
    value(await push('0712345678'));
    value(await push('0712345679'));
    const refused = await push('0712345670');
    expect(refused).toMatchObject({ ok: false, failure: { kind: 'unavailable', mayHaveHappened: false } });
    await callbacks(2);
    expect(simulator.pendingCallbacks).toBe(0);
    value(await push('0712345670'));
  });

  it('refuses empty credentials and bad fields like the sandbox, without secrets in the answer', async () => {
    const answers = [
      await simulator.stkPush(
        { ...credentials, consumerKey: '' },
        {
          phone: phone('0712345678'),
          amount: shillings(1n),
          accountReference: 'A',
          description: 'B',
          callbackUrl,
        },
      ),
      await simulator.stkPush(credentials, {
        phone: phone('0712345678'),
        amount: shillings(1n),
        accountReference: 'A'.repeat(13),
        description: 'B',
        callbackUrl,
      }),
      await simulator.stkQuery(credentials, { checkoutRequestId: 'ws_CO_unknown' }),
      await simulator.b2cPayout(credentials, {
        originatorConversationId: 'p',
        phone: phone('0712345678'),
        amount: shillings(1n),
        remarks: '',
        resultUrl: callbackUrl,
      }),
    ];
    expect(answers.map((answer) => !answer.ok && answer.failure.kind)).toEqual([
      'unauthorized',
      'rejected',
      'rejected',
      'rejected',
    ]);
    const text = JSON.stringify(answers);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });

  describe('initiator APIs', () => {
    const payout = (id: string, amount: bigint, to = '0712345678') =>
      simulator.b2cPayout(credentials, {
        originatorConversationId: id,
        phone: phone(to),
        amount: shillings(amount),
        remarks: 'Payout',
        resultUrl: callbackUrl,
      });

    it('pays out from the float, and fails with 1 once the float cannot cover a payout', async () => {
      simulator = make({ initialFloatShillings: 100n });
      value(await payout('payout-1', 60n));
      value(await payout('payout-2', 60n));
      const results = (await callbacks(2)) as InitiatorResult[];
      const byId = new Map(results.map((result) => [result.originatorConversationId, result]));
      expect(byId.get('payout-1')).toMatchObject({
        type: 'b2c',
        outcome: { status: 'succeeded' },
        payout: { amountMinor: 6_000n, recipientIsRegistered: true, utilityAccountAvailableMinor: 4_000n },
      });
      expect(byId.get('payout-2')).toMatchObject({
        outcome: { status: 'failed', reason: 'insufficient_funds', resultCode: '1' },
      });
      expect(simulator.floatOf(credentials.shortcode)).toBe(4_000n);
    });

    it('refuses a reused OriginatorConversationID, so a payout cannot be sent twice', async () => {
      value(await payout('payout-3', 5n));
      expect(await payout('payout-3', 5n)).toMatchObject({
        ok: false,
        failure: { kind: 'rejected', field: 'originatorConversationId' },
      });
    });

    it('gives the magic results to payouts too', async () => {
      value(await payout('payout-4', 5n, magicPhone(2001)));
      value(await payout('payout-5', magicShillings(1037)));
      const results = (await callbacks(2)) as InitiatorResult[];
      expect(results.map((result) => result.outcome.resultCode).sort()).toEqual(['1037', '2001']);
      expect(results.every((result) => Object.keys(result.parameters).length === 0)).toBe(true);
    });

    it('answers transaction status by receipt and by OriginatorConversationID', async () => {
      value(await payout('payout-6', 42n));
      const [paid] = (await callbacks(1)) as InitiatorResult[];
      receiver.requests.length = 0;
      value(
        await simulator.transactionStatus(credentials, {
          transactionId: paid!.transactionId!,
          resultUrl: callbackUrl,
        }),
      );
      value(
        await simulator.transactionStatus(credentials, {
          originatorConversationId: 'payout-6',
          resultUrl: callbackUrl,
        }),
      );
      value(
        await simulator.transactionStatus(credentials, {
          transactionId: 'SUNKNOWN00',
          resultUrl: callbackUrl,
        }),
      );
      const results = (await callbacks(3)) as InitiatorResult[];
      const found = results.filter((result) => result.outcome.status === 'succeeded');
      expect(found).toHaveLength(2);
      for (const result of found) {
        expect(result).toMatchObject({
          type: 'transaction_status',
          status: {
            receiptNumber: paid!.transactionId,
            transactionStatus: 'Completed',
            amountMinor: 4_200n,
            originatorConversationId: 'payout-6',
          },
        });
      }
      expect(results.find((result) => result.outcome.status === 'failed')?.outcome.resultCode).toBe('404');
    });

    it('reports the float as the account balance', async () => {
      simulator = make({ initialFloatShillings: 5_000n });
      value(await simulator.accountBalance(credentials, { resultUrl: callbackUrl }));
      const [result] = (await callbacks(1)) as InitiatorResult[];
      expect(result!.type).toBe('account_balance');
      expect(
        result!.balance!.accounts.find((account) => account.name === 'Utility Account')?.availableMinor,
      ).toBe(500_000n);
    });

    it('reverses a collection once; a second reversal and an unknown receipt fail', async () => {
      value(await push('0712345678', 300n));
      const [collected] = (await callbacks(1)) as StkResult[];
      const receipt = collected!.payment!.receiptNumber;
      receiver.requests.length = 0;
      const floatBefore = simulator.floatOf(credentials.shortcode);
      const reverse = (transactionId: string) =>
        simulator.reversal(credentials, { transactionId, amount: shillings(300n), resultUrl: callbackUrl });
      value(await reverse(receipt));
      const [first] = (await callbacks(1)) as InitiatorResult[];
      expect(first!.outcome.status).toBe('succeeded');
      expect(simulator.floatOf(credentials.shortcode)).toBe(floatBefore - 30_000n);
      receiver.requests.length = 0;
      value(await reverse(receipt));
      value(await reverse('SNOSUCHTX0'));
      const codes = ((await callbacks(2)) as InitiatorResult[])
        .map((result) => result.outcome.resultCode)
        .sort();
      expect(codes).toEqual(['404', '409']);
      expect(simulator.floatOf(credentials.shortcode)).toBe(floatBefore - 30_000n);
    });
  });

  it('never puts a secret into a callback', async () => {
    value(await push('0712345678'));
    value(await simulator.accountBalance(credentials, { resultUrl: callbackUrl }));
    await callbacks(2);
    const bodies = receiver.requests.map((request) => request.body).join('\n');
    for (const secret of SECRETS) expect(bodies).not.toContain(secret);
  });

  it('with real timers and near-zero delays, the callback arrives by itself', async () => {
    simulator = new MpesaSimulator({ stkCallbackDelayMs: 1, resultCallbackDelayMs: 1 });
    value(await push('0712345678'));
    await waitFor(() => receiver.requests.length === 1, 'the callback');
    await simulator.idle();
  });

  it('posts each callback when its injected delay has passed on the scheduler', async () => {
    simulator = make({ stkCallbackDelayMs: 3_000, resultCallbackDelayMs: 500 });
    value(await push('0712345678'));
    value(await simulator.accountBalance(credentials, { resultUrl: callbackUrl }));
    expect(scheduler.advance(499)).toBe(0);
    expect(scheduler.advance(1)).toBe(1);
    await waitFor(() => receiver.requests.length === 1, 'the balance result');
    expect(receiver.requests[0]!.json.Result).toBeDefined();
    expect(scheduler.advance(2_499)).toBe(0);
    expect(scheduler.advance(1)).toBe(1);
    await waitFor(() => receiver.requests.length === 2, 'the STK callback');
    expect(receiver.requests[1]!.json.Body.stkCallback).toBeDefined();
  });

  it('keeps delivering when the delivery observer throws', async () => {
    simulator = make({
      onDelivery: () => {
        throw new Error('observer broke');
      },
    });
    value(await push('0712345678'));
    value(await push('0712345679'));
    await callbacks(2);
    expect(simulator.pendingCallbacks).toBe(0);
  });

  it('cancels scheduled callbacks on close', async () => {
    value(await push('0712345678'));
    expect(simulator.pendingCallbacks).toBe(1);
    await simulator.close();
    expect(simulator.pendingCallbacks).toBe(0);
    scheduler.runAll();
    expect(receiver.requests).toHaveLength(0);
  });

  it('survives a receiver that is down, reporting the failed delivery', async () => {
    await receiver.close();
    value(await push('0712345678'));
    scheduler.runAll();
    await simulator.idle();
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]!.error).toMatch(/could not connect|connection failed/);
    expect(JSON.stringify(deliveries)).not.toContain('secret-path-token');
    receiver = await startServer((_request, response) => {
      sendJson(response, 200, {});
    });
  });
});
