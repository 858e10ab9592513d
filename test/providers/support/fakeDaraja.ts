/**
 * A local Daraja that speaks the wire format of PROVIDERS.md §1: OAuth with Basic auth and a
 * string `expires_in`, bearer tokens checked on every call (`404.001.03` otherwise), the STK
 * password checked against the passkey, the documented acknowledgements. A test overrides any
 * path to script errors, quirks and silences.
 */
import type { ServerResponse } from 'node:http';
import type { MpesaCredentials } from '../../../src/domain/payments/credentials.js';
import { sendJson, startServer, type RecordedRequest, type TestServer } from './httpServer.js';

export const SANDBOX_PASSKEY = 'bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919';

export const credentials: MpesaCredentials = {
  consumerKey: 'ck_ledgerline_test_key',
  consumerSecret: 'cs_TOP_SECRET_consumer_9f8e7d',
  shortcode: '174379',
  passkey: SANDBOX_PASSKEY,
  initiatorName: 'testapi',
  securityCredential: 'U0VDVVJJVFlfQ1JFREVOVElBTF9TRUNSRVQ=',
  environment: 'sandbox',
};

export const STK_ACCEPTED = {
  MerchantRequestID: '25811-34836046-1',
  CheckoutRequestID: 'ws_CO_290920211026123753',
  ResponseCode: '0',
  ResponseDescription: 'Success. Request accepted for processing',
  CustomerMessage: 'Success. Request accepted for processing',
};

export const INITIATOR_ACCEPTED = {
  OriginatorConversationID: '62947-35666607-1',
  ConversationID: 'AG_20210929_00004d202f0f95df3b88',
  ResponseCode: '0',
  ResponseDescription: 'Accept the service request successfully.',
};

export interface FakeDaraja {
  readonly server: TestServer;
  readonly baseUrls: { sandbox: string; production: string };
  /** Requests to one path (the query string ignored). */
  calls(path: string): RecordedRequest[];
  /** Script one path; the default answers again when `handler` returns false. */
  override(path: string, handler: (request: RecordedRequest, response: ServerResponse) => unknown): void;
  /** Makes every token issued so far invalid (as if Daraja expired them early). */
  revokeTokens(): void;
  readonly tokensIssued: () => number;
}

export const PATHS = {
  oauth: '/oauth/v1/generate',
  stkPush: '/mpesa/stkpush/v1/processrequest',
  stkQuery: '/mpesa/stkpushquery/v1/query',
  b2c: '/mpesa/b2c/v3/paymentrequest',
  status: '/mpesa/transactionstatus/v1/query',
  balance: '/mpesa/accountbalance/v1/query',
  reversal: '/mpesa/reversal/v1/request',
} as const;

function pathOf(request: RecordedRequest): string {
  return request.path.split('?')[0] ?? '';
}

function badRequest(response: ServerResponse, message: string): void {
  sendJson(response, 400, {
    requestId: 'req-1',
    errorCode: '400.002.02',
    errorMessage: `Bad Request - ${message}`,
  });
}

/** Reads the reversal's receiver identifier type under either of Safaricom's spellings. */
export function receiverIdentifierType(body: unknown): unknown {
  const fields = (body ?? {}) as Record<string, unknown>;
  return fields.RecieverIdentifierType ?? fields.ReceiverIdentifierType;
}

export async function startFakeDaraja(mpesa: MpesaCredentials = credentials): Promise<FakeDaraja> {
  const valid = new Set<string>();
  let issued = 0;
  const overrides = new Map<string, (request: RecordedRequest, response: ServerResponse) => unknown>();

  const defaults = (request: RecordedRequest, response: ServerResponse): void => {
    const path = pathOf(request);
    if (path === PATHS.oauth) {
      const expected = `Basic ${Buffer.from(`${mpesa.consumerKey}:${mpesa.consumerSecret}`).toString('base64')}`;
      if (
        request.headers.authorization !== expected ||
        !request.path.includes('grant_type=client_credentials')
      ) {
        sendJson(response, 400, {
          requestId: 'req-auth',
          errorCode: '400.008.01',
          errorMessage: 'Invalid Authentication passed',
        });
        return;
      }
      issued += 1;
      const token = `access-token-${issued}-SECRET`;
      valid.add(token);
      sendJson(response, 200, { access_token: token, expires_in: '3599' });
      return;
    }
    const bearer = (request.headers.authorization ?? '').replace(/^Bearer /, '');
    if (request.method !== 'POST' || !valid.has(bearer)) {
      sendJson(response, 404, {
        requestId: 'req-2',
        errorCode: '404.001.03',
        errorMessage: 'Invalid Access Token',
      });
      return;
    }
    const body = request.json ?? {};
    switch (path) {
      case PATHS.stkPush: {
        const password = Buffer.from(`${body.BusinessShortCode}${mpesa.passkey}${body.Timestamp}`).toString(
          'base64',
        );
        if (body.Password !== password) {
          badRequest(response, 'Invalid Password');
          return;
        }
        if (!Number.isInteger(body.Amount) || body.Amount < 1) {
          badRequest(response, 'Invalid Amount');
          return;
        }
        if (!/^254[17]\d{8}$/.test(String(body.PhoneNumber))) {
          badRequest(response, 'Invalid PhoneNumber');
          return;
        }
        sendJson(response, 200, STK_ACCEPTED);
        return;
      }
      case PATHS.stkQuery:
        sendJson(response, 200, {
          ResponseCode: '0',
          ResponseDescription: 'The service request has been accepted successsfully',
          MerchantRequestID: STK_ACCEPTED.MerchantRequestID,
          CheckoutRequestID: body.CheckoutRequestID,
          ResultCode: '0',
          ResultDesc: 'The service request is processed successfully.',
        });
        return;
      case PATHS.b2c:
        if (typeof body.OriginatorConversationID !== 'string') {
          badRequest(response, 'Invalid OriginatorConversationID');
          return;
        }
        sendJson(response, 200, {
          ...INITIATOR_ACCEPTED,
          OriginatorConversationID: body.OriginatorConversationID,
        });
        return;
      case PATHS.reversal:
        if (receiverIdentifierType(body) === undefined) {
          badRequest(response, 'Invalid RecieverIdentifierType');
          return;
        }
        sendJson(response, 200, INITIATOR_ACCEPTED);
        return;
      case PATHS.status:
      case PATHS.balance:
        sendJson(response, 200, INITIATOR_ACCEPTED);
        return;
      default:
        sendJson(response, 404, {
          requestId: 'req-3',
          errorCode: '404.002.01',
          errorMessage: 'Resource not found',
        });
    }
  };

  const server = await startServer((request, response) => {
    const scripted = overrides.get(pathOf(request));
    if (scripted && scripted(request, response) !== false) return;
    defaults(request, response);
  });
  return {
    server,
    baseUrls: { sandbox: server.url, production: server.url },
    calls: (path) => server.requests.filter((request) => pathOf(request) === path),
    override: (path, handler) => overrides.set(path, handler),
    revokeTokens: () => {
      valid.clear();
    },
    tokensIssued: () => issued,
  };
}
