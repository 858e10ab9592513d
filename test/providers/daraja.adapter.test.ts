import type { ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DarajaMobileMoney,
  SAFE_CALL_ATTEMPTS_MAX,
} from '../../src/adapters/providers/daraja/darajaMobileMoney.js';
import { TOKEN_EXPIRY_MARGIN_MS } from '../../src/adapters/providers/daraja/tokenCache.js';
import {
  isMpesaAmount,
  mpesaAmountFromShillings,
  type MpesaAmount,
} from '../../src/domain/payments/mpesaAmount.js';
import { normalizeKenyanPhone, type Msisdn } from '../../src/domain/payments/phone.js';
import type { ProviderResult } from '../../src/domain/payments/providerResult.js';
import { sendJson } from './support/httpServer.js';
import {
  credentials,
  INITIATOR_ACCEPTED,
  PATHS,
  receiverIdentifierType,
  startFakeDaraja,
  STK_ACCEPTED,
  type FakeDaraja,
} from './support/fakeDaraja.js';

/** 2024-03-30 12:07:11 in Nairobi: the instant of PROVIDERS.md's STK password vector. */
const VECTOR_INSTANT = Date.UTC(2024, 2, 30, 9, 7, 11);
const VECTOR_PASSWORD =
  'MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNzJhZGExZWQyYzkxOTIwMjQwMzMwMTIwNzEx';
const CALLBACK = 'https://ledgerline.test/callbacks/mpesa/org_1/secret-token';
const phone = normalizeKenyanPhone('0708374149') as Msisdn;

function shillings(value: number): MpesaAmount {
  const amount = mpesaAmountFromShillings(BigInt(value));
  if (!isMpesaAmount(amount)) throw new Error(amount.reason);
  return amount;
}

function value<T>(result: ProviderResult<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.failure)}`);
  return result.value;
}

function failure<T>(result: ProviderResult<T>) {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.failure;
}

const secretsOf = (token?: string) =>
  [credentials.consumerSecret, credentials.passkey, credentials.securityCredential, token].filter(
    (secret): secret is string => secret !== undefined,
  );

describe('Daraja adapter against a local Daraja', () => {
  let daraja: FakeDaraja;
  let now: number;
  let adapter: DarajaMobileMoney;
  const sleeps: number[] = [];

  beforeEach(async () => {
    daraja = await startFakeDaraja();
    now = VECTOR_INSTANT;
    sleeps.length = 0;
    adapter = new DarajaMobileMoney({
      baseUrls: daraja.baseUrls,
      now: () => now,
      requestTimeoutMs: 2_000,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    });
  });

  afterEach(async () => {
    await daraja.server.close();
  });

  const push = () =>
    adapter.stkPush(credentials, {
      phone,
      amount: shillings(1),
      accountReference: 'INV-001',
      description: 'Invoice 1',
      callbackUrl: CALLBACK,
    });

  it('sends an STK push with the documented fields and the password of the test vector', async () => {
    const accepted = value(await push());
    expect(accepted).toEqual({
      checkoutRequestId: STK_ACCEPTED.CheckoutRequestID,
      merchantRequestId: STK_ACCEPTED.MerchantRequestID,
      customerMessage: STK_ACCEPTED.CustomerMessage,
    });
    const [sent] = daraja.calls(PATHS.stkPush);
    expect(sent!.headers['content-type']).toBe('application/json');
    expect(sent!.json).toEqual({
      BusinessShortCode: '174379',
      Password: VECTOR_PASSWORD,
      Timestamp: '20240330120711',
      TransactionType: 'CustomerPayBillOnline',
      Amount: 1,
      PartyA: '254708374149',
      PartyB: '174379',
      PhoneNumber: '254708374149',
      CallBackURL: CALLBACK,
      AccountReference: 'INV-001',
      TransactionDesc: 'Invoice 1',
    });
  });

  it('fetches one OAuth token per credentials with Basic auth and reuses it until shortly before expiry', async () => {
    value(await push());
    value(await push());
    value(await adapter.stkQuery(credentials, { checkoutRequestId: 'ws_CO_1' }));
    expect(daraja.tokensIssued()).toBe(1);
    const [oauth] = daraja.calls(PATHS.oauth);
    expect(oauth!.method).toBe('GET');
    expect(oauth!.path).toBe('/oauth/v1/generate?grant_type=client_credentials');

    // expires_in is the string "3599": still good just before the margin, renewed inside it.
    now += 3_599_000 - TOKEN_EXPIRY_MARGIN_MS - 1;
    value(await push());
    expect(daraja.tokensIssued()).toBe(1);
    now += 2;
    value(await push());
    expect(daraja.tokensIssued()).toBe(2);
    expect(daraja.calls(PATHS.stkPush).at(-1)!.headers.authorization).toBe('Bearer access-token-2-SECRET');
  });

  it('keeps separate tokens for separate credentials', async () => {
    const other = { ...credentials, consumerKey: 'other-key' };
    daraja.override(PATHS.oauth, (request, response) => {
      if (
        !request.headers.authorization?.startsWith(
          `Basic ${Buffer.from('other-key:').toString('base64').slice(0, 8)}`,
        )
      ) {
        return false;
      }
      sendJson(response, 200, { access_token: 'access-token-other', expires_in: 3599 });
      return true;
    });
    value(await push());
    const answer = await adapter.stkPush(other, {
      phone,
      amount: shillings(5),
      accountReference: 'A',
      description: 'B',
      callbackUrl: CALLBACK,
    });
    // The fake does not know the other token: what matters is that it was the one sent.
    expect(failure(answer).kind).toBe('unauthorized');
    expect(daraja.calls(PATHS.stkPush).at(-1)!.headers.authorization).toBe('Bearer access-token-other');
    expect(adapter.cachedTokens).toBe(2);
  });

  it('shares one token request between concurrent calls', async () => {
    await Promise.all(
      Array.from({ length: 5 }, () => adapter.stkQuery(credentials, { checkoutRequestId: 'ws_CO_1' })),
    );
    expect(daraja.calls(PATHS.oauth)).toHaveLength(1);
  });

  it('gets a fresh token once when Daraja calls the token invalid (404.001.03), then gives up', async () => {
    value(await push());
    daraja.revokeTokens();
    value(await push());
    expect(daraja.tokensIssued()).toBe(2);

    daraja.override(PATHS.stkPush, (_request, response) => {
      sendJson(response, 404, {
        requestId: 'r',
        errorCode: '404.001.03',
        errorMessage: 'Invalid Access Token',
      });
    });
    const refused = failure(await push());
    expect(refused).toMatchObject({ kind: 'unauthorized', providerCode: '404.001.03' });
    // Three pushes so far; then one refused, one fresh token, one more refused: never more.
    expect(daraja.calls(PATHS.stkPush)).toHaveLength(5);
    expect(daraja.tokensIssued()).toBe(3);
  });

  it('reports refused consumer credentials as unauthorized without any secret in the message', async () => {
    const wrong = { ...credentials, consumerSecret: 'WRONG-consumer-secret-123' };
    const refused = failure(
      await adapter.stkPush(wrong, {
        phone,
        amount: shillings(1),
        accountReference: 'A',
        description: 'B',
        callbackUrl: CALLBACK,
      }),
    );
    expect(refused).toMatchObject({ kind: 'unauthorized', providerCode: '400.008.01' });
    expect(JSON.stringify(refused)).not.toContain('WRONG-consumer-secret-123');
    // A refusal is not retried; only lost answers and 5xx are.
    expect(daraja.calls(PATHS.oauth)).toHaveLength(1);
    expect(daraja.calls(PATHS.stkPush)).toHaveLength(0);
  });

  it('retries the token fetch on 5xx a bounded number of times', async () => {
    daraja.override(PATHS.oauth, (_request, response) => {
      sendJson(response, 503, {
        requestId: 'r',
        errorCode: '503.001.01',
        errorMessage: 'Service Unavailable',
      });
    });
    const lost = failure(await push());
    expect(lost).toMatchObject({ kind: 'unavailable', mayHaveHappened: false });
    expect(daraja.calls(PATHS.oauth)).toHaveLength(SAFE_CALL_ATTEMPTS_MAX);
    expect(daraja.calls(PATHS.stkPush)).toHaveLength(0);
    expect(sleeps).toHaveLength(SAFE_CALL_ATTEMPTS_MAX - 1);
  });

  it('maps the gateway error envelope, keys in any case, to a rejection naming the code', async () => {
    daraja.override(PATHS.stkPush, (_request, response) => {
      sendJson(response, 400, {
        RequestID: 'r-9',
        ErrorCode: '400.002.02',
        ErrorMessage: 'Bad Request - Invalid Amount',
      });
    });
    expect(failure(await push())).toEqual({
      kind: 'rejected',
      providerCode: '400.002.02',
      message: 'Bad Request - Invalid Amount',
      httpStatus: 400,
    });
  });

  it('treats a ResponseCode other than "0" as a refusal', async () => {
    daraja.override(PATHS.stkPush, (_request, response) => {
      sendJson(response, 200, { ResponseCode: 1, ResponseDescription: 'Rejected by the system' });
    });
    expect(failure(await push())).toMatchObject({ kind: 'rejected', providerCode: '1' });
  });

  it('refuses bad request fields before calling Daraja', async () => {
    const refused = failure(
      await adapter.stkPush(credentials, {
        phone,
        amount: shillings(1),
        accountReference: 'MUCH-TOO-LONG-REFERENCE',
        description: 'x',
        callbackUrl: CALLBACK,
      }),
    );
    expect(refused).toMatchObject({ kind: 'rejected', field: 'accountReference' });
    expect(daraja.server.requests).toHaveLength(0);
  });

  describe('money-moving calls are sent exactly once', () => {
    it('an STK push whose answer never comes: unavailable, may have happened, one POST', async () => {
      adapter = new DarajaMobileMoney({ baseUrls: daraja.baseUrls, now: () => now, requestTimeoutMs: 200 });
      daraja.override(PATHS.stkPush, () => {
        // Never answer.
      });
      const lost = failure(await push());
      expect(lost).toMatchObject({ kind: 'unavailable', mayHaveHappened: true });
      expect(daraja.calls(PATHS.stkPush)).toHaveLength(1);
    });

    it('a B2C payout answered with a 500: unavailable, may have happened, one POST', async () => {
      daraja.override(PATHS.b2c, (_request, response) => {
        sendJson(response, 500, { requestId: 'r', errorCode: '500.003.02', errorMessage: 'System is busy' });
      });
      const lost = failure(
        await adapter.b2cPayout(credentials, {
          originatorConversationId: 'payout-1',
          phone,
          amount: shillings(100),
          remarks: 'Salary',
          resultUrl: CALLBACK,
        }),
      );
      expect(lost).toMatchObject({ kind: 'unavailable', mayHaveHappened: true });
      expect(daraja.calls(PATHS.b2c)).toHaveLength(1);
    });

    it('a reversal whose connection drops: one POST', async () => {
      daraja.override(PATHS.reversal, (_request, response) => {
        response.socket?.destroy();
      });
      const lost = failure(
        await adapter.reversal(credentials, {
          transactionId: 'LGR7OWQX0R',
          amount: shillings(1),
          resultUrl: CALLBACK,
        }),
      );
      expect(lost).toMatchObject({ kind: 'unavailable', mayHaveHappened: true });
      expect(daraja.calls(PATHS.reversal)).toHaveLength(1);
    });
  });

  it('says a request that could not connect did not happen', async () => {
    const closed = await startFakeDaraja();
    const baseUrls = closed.baseUrls;
    await closed.server.close();
    const offline = new DarajaMobileMoney({ baseUrls, now: () => now, sleep: () => Promise.resolve() });
    expect(
      failure(
        await offline.stkPush(credentials, {
          phone,
          amount: shillings(1),
          accountReference: 'A',
          description: 'B',
          callbackUrl: CALLBACK,
        }),
      ),
    ).toMatchObject({ kind: 'unavailable', mayHaveHappened: false });
  });

  describe('STK query', () => {
    const query = () => adapter.stkQuery(credentials, { checkoutRequestId: 'ws_CO_290920211026123753' });

    it('sends the shortcode, password, timestamp and checkout id', async () => {
      value(await query());
      expect(daraja.calls(PATHS.stkQuery)[0]!.json).toEqual({
        BusinessShortCode: '174379',
        Password: VECTOR_PASSWORD,
        Timestamp: '20240330120711',
        CheckoutRequestID: 'ws_CO_290920211026123753',
      });
    });

    it('reads "still processing" (HTTP 500, 500.001.1001) as pending, without retrying', async () => {
      daraja.override(PATHS.stkQuery, (_request, response) => {
        sendJson(response, 500, {
          requestId: 'r',
          errorCode: '500.001.1001',
          errorMessage: 'The transaction is being processed',
        });
      });
      expect(value(await query())).toEqual({
        status: 'pending',
        description: 'The transaction is being processed',
      });
      expect(daraja.calls(PATHS.stkQuery)).toHaveLength(1);
    });

    it('reads the string ResultCode of a finished push', async () => {
      daraja.override(PATHS.stkQuery, (_request, response) => {
        sendJson(response, 200, {
          ResponseCode: '0',
          ResponseDescription: 'The service request has been accepted successsfully',
          MerchantRequestID: '22205-34066-1',
          CheckoutRequestID: 'ws_CO_290920211026123753',
          ResultCode: '1032',
          ResultDesc: 'Request cancelled by user',
        });
      });
      expect(value(await query())).toEqual({
        status: 'completed',
        merchantRequestId: '22205-34066-1',
        outcome: {
          status: 'failed',
          reason: 'cancelled_by_user',
          resultCode: '1032',
          description: 'Request cancelled by user',
        },
      });
    });

    it('reads a numeric ResultCode 0 as success', async () => {
      daraja.override(PATHS.stkQuery, (_request, response) => {
        sendJson(response, 200, { ResponseCode: 0, MerchantRequestID: 'm', ResultCode: 0, ResultDesc: 'ok' });
      });
      expect(value(await query())).toMatchObject({ status: 'completed', outcome: { status: 'succeeded' } });
    });

    it('retries a query whose answer was lost or a 5xx, a bounded number of times', async () => {
      let calls = 0;
      daraja.override(PATHS.stkQuery, (_request, response) => {
        calls += 1;
        if (calls === 1) {
          response.socket?.destroy();
          return;
        }
        if (calls === 2) {
          sendJson(response, 503, { requestId: 'r', errorCode: '503.001.01', errorMessage: 'busy' });
          return;
        }
        return false;
      });
      expect(value(await query())).toMatchObject({ status: 'completed' });
      expect(daraja.calls(PATHS.stkQuery)).toHaveLength(3);

      calls = 0;
      daraja.override(PATHS.stkQuery, (_request, response) => {
        sendJson(response, 503, { requestId: 'r', errorCode: '503.001.01', errorMessage: 'busy' });
      });
      expect(failure(await query())).toMatchObject({ kind: 'unavailable', mayHaveHappened: false });
      expect(daraja.calls(PATHS.stkQuery)).toHaveLength(3 + SAFE_CALL_ATTEMPTS_MAX);
    });

    it('retries a query that timed out', async () => {
      adapter = new DarajaMobileMoney({
        baseUrls: daraja.baseUrls,
        now: () => now,
        requestTimeoutMs: 200,
        sleep: () => Promise.resolve(),
      });
      let calls = 0;
      daraja.override(PATHS.stkQuery, () => {
        calls += 1;
        return calls === 1 ? undefined : false;
      });
      expect(value(await query())).toMatchObject({ status: 'completed' });
      expect(daraja.calls(PATHS.stkQuery)).toHaveLength(2);
    });
  });

  it('sends a B2C v3 payout with the client OriginatorConversationID and reads the acknowledgement', async () => {
    const accepted = value(
      await adapter.b2cPayout(credentials, {
        originatorConversationId: 'pay_01JD-payout-7',
        phone,
        amount: shillings(1500),
        commandId: 'SalaryPayment',
        remarks: 'March salary',
        occasion: 'March',
        resultUrl: CALLBACK,
      }),
    );
    expect(accepted).toEqual({
      originatorConversationId: 'pay_01JD-payout-7',
      conversationId: INITIATOR_ACCEPTED.ConversationID,
      description: INITIATOR_ACCEPTED.ResponseDescription,
    });
    expect(daraja.calls(PATHS.b2c)[0]!.json).toEqual({
      OriginatorConversationID: 'pay_01JD-payout-7',
      InitiatorName: 'testapi',
      SecurityCredential: credentials.securityCredential,
      CommandID: 'SalaryPayment',
      Amount: 1500,
      PartyA: '174379',
      PartyB: '254708374149',
      Remarks: 'March salary',
      QueueTimeOutURL: CALLBACK,
      ResultURL: CALLBACK,
      Occasion: 'March',
    });
  });

  it('sends transaction status, account balance and reversal with their documented fields', async () => {
    value(await adapter.transactionStatus(credentials, { transactionId: 'LGR7OWQX0R', resultUrl: CALLBACK }));
    value(await adapter.accountBalance(credentials, { resultUrl: CALLBACK }));
    value(
      await adapter.reversal(credentials, {
        transactionId: 'LGR7OWQX0R',
        amount: shillings(10),
        resultUrl: CALLBACK,
      }),
    );
    expect(daraja.calls(PATHS.status)[0]!.json).toMatchObject({
      Initiator: 'testapi',
      CommandID: 'TransactionStatusQuery',
      TransactionID: 'LGR7OWQX0R',
      PartyA: '174379',
      IdentifierType: '4',
      ResultURL: CALLBACK,
      QueueTimeOutURL: CALLBACK,
    });
    expect(daraja.calls(PATHS.balance)[0]!.json).toMatchObject({
      Initiator: 'testapi',
      CommandID: 'AccountBalance',
      PartyA: '174379',
      IdentifierType: '4',
    });
    const reversal = daraja.calls(PATHS.reversal)[0]!.json;
    expect(reversal).toMatchObject({
      CommandID: 'TransactionReversal',
      TransactionID: 'LGR7OWQX0R',
      Amount: 10,
      ReceiverParty: '174379',
    });
    expect(receiverIdentifierType(reversal)).toBe('11');
  });

  it.each([['RecieverIdentifierType'], ['ReceiverIdentifierType']])(
    'a reversal is accepted by a Daraja that knows only the spelling %s',
    async (spelling) => {
      daraja.override(PATHS.reversal, (request, response) => {
        if (request.json[spelling] !== '11') {
          sendJson(response, 400, {
            requestId: 'r',
            errorCode: '400.002.02',
            errorMessage: `Bad Request - Invalid ${spelling}`,
          });
          return true;
        }
        sendJson(response, 200, INITIATOR_ACCEPTED);
        return true;
      });
      value(
        await adapter.reversal(credentials, {
          transactionId: 'LGR7OWQX0R',
          amount: shillings(10),
          resultUrl: CALLBACK,
        }),
      );
    },
  );

  it('reads the receiver identifier under either spelling on the server side', () => {
    expect(receiverIdentifierType({ RecieverIdentifierType: '11' })).toBe('11');
    expect(receiverIdentifierType({ ReceiverIdentifierType: '4' })).toBe('4');
  });

  it('retries transaction status on a lost answer but never the payout', async () => {
    let calls = 0;
    daraja.override(PATHS.status, (_request, response) => {
      calls += 1;
      if (calls === 1) {
        response.socket?.destroy();
        return;
      }
      return false;
    });
    value(
      await adapter.transactionStatus(credentials, {
        originatorConversationId: 'payout-1',
        resultUrl: CALLBACK,
      }),
    );
    expect(daraja.calls(PATHS.status)).toHaveLength(2);
    expect(daraja.calls(PATHS.status)[1]!.json.OriginatorConversationID).toBe('payout-1');
  });

  it('reads an HTML error page as unavailable', async () => {
    daraja.override(PATHS.b2c, (_request, response) => {
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html><body>Bad Gateway</body></html>');
    });
    expect(
      failure(
        await adapter.b2cPayout(credentials, {
          originatorConversationId: 'p-2',
          phone,
          amount: shillings(1),
          remarks: 'x',
          resultUrl: CALLBACK,
        }),
      ),
    ).toMatchObject({ kind: 'unavailable', mayHaveHappened: true });
  });

  it('never lets the Basic credentials into a failure when the OAuth call echoes them', async () => {
    daraja.override(PATHS.oauth, (request, response) => {
      sendJson(response, 400, {
        requestId: 'r',
        errorCode: '400.008.01',
        errorMessage: `Invalid Authentication passed: ${String(request.headers.authorization)}`,
      });
    });
    const refused = failure(await push());
    expect(refused.kind).toBe('unauthorized');
    const basic = Buffer.from(`${credentials.consumerKey}:${credentials.consumerSecret}`).toString('base64');
    expect(JSON.stringify(refused)).not.toContain(basic);
    expect(JSON.stringify(refused)).toContain('[redacted]');
  });

  it('never lets a secret or the token into a failure, even when Daraja echoes the request', async () => {
    const echo = (request: { headers: Record<string, unknown>; body: string }, response: ServerResponse) => {
      sendJson(response, 400, {
        requestId: 'r',
        errorCode: '400.002.02',
        errorMessage: `Bad Request ${String(request.headers.authorization)} ${request.body}`,
      });
    };
    daraja.override(PATHS.stkPush, echo);
    daraja.override(PATHS.b2c, echo);
    const pushed = failure(await push());
    const paid = failure(
      await adapter.b2cPayout(credentials, {
        originatorConversationId: 'p-3',
        phone,
        amount: shillings(1),
        remarks: 'x',
        resultUrl: CALLBACK,
      }),
    );
    const text = JSON.stringify([pushed, paid]);
    for (const secret of secretsOf('access-token-1-SECRET')) expect(text).not.toContain(secret);
    // The STK password carries the passkey in base64: it must not leak either.
    expect(text).not.toContain(VECTOR_PASSWORD);
  });
});
