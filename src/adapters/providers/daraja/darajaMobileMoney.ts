/**
 * The real M-Pesa adapter: Safaricom Daraja over HTTPS (PROVIDERS.md §1), implementing the
 * `MobileMoney` port. One OAuth token per set of credentials, cached until shortly before
 * expiry; a request refused for a stale token gets one fresh token and one more try (the
 * gateway refused it before doing anything). Calls that only ask (the token, STK query,
 * transaction status, account balance) are retried a bounded number of times on timeouts,
 * dropped connections and 5xx; calls that move money (STK push, B2C, reversal) are sent once.
 *
 * Nothing here logs, and every text that leaves (failure messages) is scrubbed of the
 * organization's secrets and the token.
 */
import { mpesaSecrets, type MpesaCredentials } from '../../../domain/payments/credentials.js';
import {
  checkAccountBalance,
  checkB2cPayout,
  checkReversal,
  checkStkPush,
  checkTransactionStatus,
  type AccountBalanceRequest,
  type B2cPayoutRequest,
  type InitiatorAccepted,
  type MobileMoney,
  type RequestProblem,
  type ReversalRequest,
  type StkPushAccepted,
  type StkPushRequest,
  type StkQueryAnswer,
  type StkQueryRequest,
  type TransactionStatusRequest,
} from '../../../domain/payments/mobileMoney.js';
import { wholeShillings } from '../../../domain/payments/mpesaAmount.js';
import { classifyMpesaResult } from '../../../domain/payments/mpesaResultCodes.js';
import {
  failed,
  succeeded,
  type ProviderFailure,
  type ProviderResult,
} from '../../../domain/payments/providerResult.js';
import { nairobiTimestamp, stkPassword } from '../../../domain/payments/stkPassword.js';
import {
  backoffMs,
  basicAuthorization,
  realSleep,
  scrub,
  sendHttp,
  type FetchFunction,
  type HttpOutcome,
  type Sleep,
} from '../http.js';
import { securityCredentialFor, type SecurityCertificates } from './securityCredential.js';
import { DarajaTokenCache, TOKEN_CACHE_ENTRIES_MAX } from './tokenCache.js';
import { field, isObject, readEnvelope, text, type DarajaEnvelope, type JsonObject } from './wire.js';

export const DARAJA_BASE_URLS = {
  sandbox: 'https://sandbox.safaricom.co.ke',
  production: 'https://api.safaricom.co.ke',
} as const;
/** Daraja can take several seconds under load; past this the answer is treated as lost. */
export const DARAJA_REQUEST_TIMEOUT_MS = 30_000;
/** Attempts for calls that are safe to repeat (token, queries). Money-moving calls get one. */
export const SAFE_CALL_ATTEMPTS_MAX = 3;
/** Fresh tokens per call after the gateway says the token is invalid. */
export const TOKEN_REFRESHES_PER_CALL_MAX = 1;
export const RETRY_BACKOFF_BASE_MS = 250;
export const RETRY_BACKOFF_CAP_MS = 2_000;
/** Daraja's token lifetime when `expires_in` is missing or unreadable. */
const DEFAULT_TOKEN_LIFETIME_S = 3599;
/** Reused by Daraja: on the STK query it means "The transaction is being processed". */
export const PROCESSING_ERROR_CODE = '500.001.1001';
const INVALID_TOKEN_CODE = '404.001.03';
const INVALID_AUTHENTICATION_PREFIX = '400.008.';

/** Organisation shortcode, in Daraja's `IdentifierType` numbering. */
const IDENTIFIER_SHORTCODE = '4';
/** Organisation operator username: Safaricom's samples use it for the reversal's receiver. */
const IDENTIFIER_OPERATOR = '11';

const DEFAULT_REMARKS = {
  status: 'Transaction status',
  balance: 'Account balance',
  reversal: 'Reversal',
} as const;

export interface DarajaOptions {
  /** Where each environment lives; tests point both at a local server. */
  readonly baseUrls?: { readonly sandbox: string; readonly production: string };
  readonly fetch?: FetchFunction;
  readonly requestTimeoutMs?: number;
  /** Unix milliseconds: the STK timestamp and token expiry. */
  readonly now?: () => number;
  /** Waits between retries of safe calls. */
  readonly sleep?: Sleep;
  readonly tokenCacheEntriesMax?: number;
  /**
   * Safaricom's certificates (PEM), to encrypt `initiatorPassword` when the credentials hold
   * no ready `securityCredential`.
   */
  readonly securityCertificates?: SecurityCertificates;
}

type CallMode = 'money' | 'query';

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export class DarajaMobileMoney implements MobileMoney {
  private readonly baseUrls: { readonly sandbox: string; readonly production: string };
  private readonly fetchFunction: FetchFunction;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly sleep: Sleep;
  private readonly tokens: DarajaTokenCache;
  private readonly certificates: SecurityCertificates;

  constructor(options: DarajaOptions = {}) {
    this.baseUrls = options.baseUrls ?? DARAJA_BASE_URLS;
    this.fetchFunction = options.fetch ?? fetch;
    this.timeoutMs = options.requestTimeoutMs ?? DARAJA_REQUEST_TIMEOUT_MS;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.tokens = new DarajaTokenCache(this.now, options.tokenCacheEntriesMax ?? TOKEN_CACHE_ENTRIES_MAX);
    this.certificates = options.securityCertificates ?? {};
  }

  /** How many tokens are cached (for tests and metrics). */
  get cachedTokens(): number {
    return this.tokens.size;
  }

  async stkPush(
    credentials: MpesaCredentials,
    request: StkPushRequest,
  ): Promise<ProviderResult<StkPushAccepted>> {
    const problem = firstProblem(checkStkPush(request));
    if (problem) return failed(problem);
    const timestamp = nairobiTimestamp(this.now());
    const answer = await this.post(credentials, '/mpesa/stkpush/v1/processrequest', 'money', {
      BusinessShortCode: credentials.shortcode,
      Password: stkPassword(credentials.shortcode, credentials.passkey, timestamp),
      Timestamp: timestamp,
      TransactionType: request.transactionType ?? 'CustomerPayBillOnline',
      Amount: wholeShillings(request.amount),
      PartyA: request.phone,
      PartyB: request.partyB ?? credentials.shortcode,
      PhoneNumber: request.phone,
      CallBackURL: request.callbackUrl,
      AccountReference: request.accountReference,
      TransactionDesc: request.description,
    });
    if (!answer.ok) return answer;
    const body = acknowledged(answer.value, 'money', credentials);
    if (!body.ok) return body;
    const checkoutRequestId = text(field(body.value, 'CheckoutRequestID'));
    if (checkoutRequestId === undefined) return failed(unreadable('money', 'no CheckoutRequestID'));
    return succeeded({
      checkoutRequestId,
      merchantRequestId: text(field(body.value, 'MerchantRequestID')) ?? '',
      customerMessage: text(field(body.value, 'CustomerMessage')) ?? '',
    });
  }

  async stkQuery(
    credentials: MpesaCredentials,
    request: StkQueryRequest,
  ): Promise<ProviderResult<StkQueryAnswer>> {
    if (request.checkoutRequestId.trim().length === 0) {
      return failed({
        kind: 'rejected',
        providerCode: 'invalid_request',
        message: 'is required',
        field: 'checkoutRequestId',
      });
    }
    const timestamp = nairobiTimestamp(this.now());
    const answer = await this.post(
      credentials,
      '/mpesa/stkpushquery/v1/query',
      'query',
      {
        BusinessShortCode: credentials.shortcode,
        Password: stkPassword(credentials.shortcode, credentials.passkey, timestamp),
        Timestamp: timestamp,
        CheckoutRequestID: request.checkoutRequestId,
      },
      (envelope) => envelope.errorCode === PROCESSING_ERROR_CODE,
    );
    if (!answer.ok) return answer;
    const envelope = readEnvelope(answer.value.body);
    if (envelope?.errorCode === PROCESSING_ERROR_CODE) {
      return succeeded({ status: 'pending', description: envelope.errorMessage });
    }
    const body = acknowledged(answer.value, 'query', credentials);
    if (!body.ok) return body;
    const resultCode = text(field(body.value, 'ResultCode'));
    if (resultCode === undefined) return failed(unreadable('query', 'no ResultCode'));
    const outcome = classifyMpesaResult(resultCode, text(field(body.value, 'ResultDesc')) ?? '');
    if (outcome.status === 'pending')
      return succeeded({ status: 'pending', description: outcome.description });
    return succeeded({
      status: 'completed',
      outcome,
      merchantRequestId: text(field(body.value, 'MerchantRequestID')) ?? '',
    });
  }

  async b2cPayout(
    credentials: MpesaCredentials,
    request: B2cPayoutRequest,
  ): Promise<ProviderResult<InitiatorAccepted>> {
    const problem = firstProblem(checkB2cPayout(request));
    if (problem) return failed(problem);
    const security = this.securityCredential(credentials);
    if (!security.ok) return security;
    return this.initiator(
      credentials,
      '/mpesa/b2c/v3/paymentrequest',
      'money',
      request.originatorConversationId,
      {
        OriginatorConversationID: request.originatorConversationId,
        InitiatorName: credentials.initiatorName,
        SecurityCredential: security.value,
        CommandID: request.commandId ?? 'BusinessPayment',
        Amount: wholeShillings(request.amount),
        PartyA: credentials.shortcode,
        PartyB: request.phone,
        Remarks: request.remarks,
        QueueTimeOutURL: request.queueTimeoutUrl ?? request.resultUrl,
        ResultURL: request.resultUrl,
        ...(request.occasion === undefined ? {} : { Occasion: request.occasion }),
      },
    );
  }

  async transactionStatus(
    credentials: MpesaCredentials,
    request: TransactionStatusRequest,
  ): Promise<ProviderResult<InitiatorAccepted>> {
    const problem = firstProblem(checkTransactionStatus(request));
    if (problem) return failed(problem);
    const security = this.securityCredential(credentials);
    if (!security.ok) return security;
    return this.initiator(credentials, '/mpesa/transactionstatus/v1/query', 'query', undefined, {
      Initiator: credentials.initiatorName,
      SecurityCredential: security.value,
      CommandID: 'TransactionStatusQuery',
      ...(request.transactionId === undefined ? {} : { TransactionID: request.transactionId }),
      ...(request.originatorConversationId === undefined
        ? {}
        : { OriginatorConversationID: request.originatorConversationId }),
      PartyA: credentials.shortcode,
      IdentifierType: IDENTIFIER_SHORTCODE,
      ResultURL: request.resultUrl,
      QueueTimeOutURL: request.queueTimeoutUrl ?? request.resultUrl,
      Remarks: request.remarks ?? DEFAULT_REMARKS.status,
      ...(request.occasion === undefined ? {} : { Occasion: request.occasion }),
    });
  }

  async accountBalance(
    credentials: MpesaCredentials,
    request: AccountBalanceRequest,
  ): Promise<ProviderResult<InitiatorAccepted>> {
    const problem = firstProblem(checkAccountBalance(request));
    if (problem) return failed(problem);
    const security = this.securityCredential(credentials);
    if (!security.ok) return security;
    return this.initiator(credentials, '/mpesa/accountbalance/v1/query', 'query', undefined, {
      Initiator: credentials.initiatorName,
      SecurityCredential: security.value,
      CommandID: 'AccountBalance',
      PartyA: credentials.shortcode,
      IdentifierType: IDENTIFIER_SHORTCODE,
      Remarks: request.remarks ?? DEFAULT_REMARKS.balance,
      QueueTimeOutURL: request.queueTimeoutUrl ?? request.resultUrl,
      ResultURL: request.resultUrl,
    });
  }

  async reversal(
    credentials: MpesaCredentials,
    request: ReversalRequest,
  ): Promise<ProviderResult<InitiatorAccepted>> {
    const problem = firstProblem(checkReversal(request));
    if (problem) return failed(problem);
    const security = this.securityCredential(credentials);
    if (!security.ok) return security;
    return this.initiator(credentials, '/mpesa/reversal/v1/request', 'money', undefined, {
      Initiator: credentials.initiatorName,
      SecurityCredential: security.value,
      CommandID: 'TransactionReversal',
      TransactionID: request.transactionId,
      Amount: wholeShillings(request.amount),
      ReceiverParty: credentials.shortcode,
      // Safaricom's samples spell it `Reciever`; some gateways and mocks expect the correct
      // spelling. Daraja ignores fields it does not know, so both are sent.
      RecieverIdentifierType: IDENTIFIER_OPERATOR,
      ReceiverIdentifierType: IDENTIFIER_OPERATOR,
      ResultURL: request.resultUrl,
      QueueTimeOutURL: request.queueTimeoutUrl ?? request.resultUrl,
      Remarks: request.remarks ?? DEFAULT_REMARKS.reversal,
      ...(request.occasion === undefined ? {} : { Occasion: request.occasion }),
    });
  }

  private securityCredential(credentials: MpesaCredentials): ProviderResult<string> {
    const answer = securityCredentialFor(credentials, this.certificates);
    if (answer.ok) return succeeded(answer.value);
    return failed({
      kind: 'rejected',
      providerCode: 'invalid_credentials',
      message: answer.reason,
      field: 'securityCredential',
    });
  }

  private async initiator(
    credentials: MpesaCredentials,
    path: string,
    mode: CallMode,
    originatorConversationId: string | undefined,
    payload: JsonObject,
  ): Promise<ProviderResult<InitiatorAccepted>> {
    const answer = await this.post(credentials, path, mode, payload);
    if (!answer.ok) return answer;
    const body = acknowledged(answer.value, mode, credentials);
    if (!body.ok) return body;
    const conversationId = text(field(body.value, 'ConversationID'));
    const originator = text(field(body.value, 'OriginatorConversationID')) ?? originatorConversationId;
    if (conversationId === undefined || originator === undefined) {
      return failed(unreadable(mode, 'no ConversationID'));
    }
    return succeeded({
      originatorConversationId: originator,
      conversationId,
      description: text(field(body.value, 'ResponseDescription')) ?? '',
    });
  }

  /**
   * One POST with a bearer token: the token refreshed once if refused, a safe call retried on
   * lost answers and 5xx, a money-moving call sent exactly once.
   */
  private async post(
    credentials: MpesaCredentials,
    path: string,
    mode: CallMode,
    payload: JsonObject,
    acceptEnvelope?: (envelope: DarajaEnvelope) => boolean,
  ): Promise<ProviderResult<Answer>> {
    // Credentials come from storage: a value outside the type is refused, not sent to "undefined".
    const environment: string = credentials.environment;
    if (environment !== 'sandbox' && environment !== 'production') {
      return failed({
        kind: 'rejected',
        providerCode: 'invalid_credentials',
        message: 'environment must be sandbox or production',
        field: 'environment',
      });
    }
    const baseUrl = this.baseUrls[credentials.environment];
    const cacheKey = DarajaTokenCache.key(baseUrl, credentials.consumerKey, credentials.consumerSecret);
    const body = JSON.stringify(payload);
    let refreshes = 0;
    let attempt = 0;
    for (;;) {
      attempt += 1;
      const token = await this.token(credentials, baseUrl, cacheKey);
      if (!token.ok) return token;
      const outcome = await sendHttp(this.fetchFunction, {
        method: 'POST',
        url: `${baseUrl}${path}`,
        headers: {
          authorization: `Bearer ${token.value}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body,
        timeoutMs: this.timeoutMs,
      });
      // The STK password is the passkey in base64, the security credential the initiator
      // password encrypted: as secret as what they are made of.
      const derived = [payload.Password, payload.SecurityCredential].filter(
        (item): item is string => typeof item === 'string',
      );
      const secrets = [...mpesaSecrets(credentials), token.value, ...derived];
      if (outcome.kind !== 'answered') {
        if (mode === 'query' && attempt < SAFE_CALL_ATTEMPTS_MAX) {
          await this.sleep(backoffMs(attempt, RETRY_BACKOFF_BASE_MS, RETRY_BACKOFF_CAP_MS));
          continue;
        }
        return failed(lostAnswer(outcome, mode, secrets));
      }
      const envelope = readEnvelope(outcome.json);
      const invalidToken = outcome.status === 401 || envelope?.errorCode === INVALID_TOKEN_CODE;
      if (invalidToken && refreshes < TOKEN_REFRESHES_PER_CALL_MAX) {
        // The gateway refused the request before doing anything: a fresh token, one more try.
        refreshes += 1;
        attempt -= 1;
        this.tokens.delete(cacheKey);
        continue;
      }
      if (envelope && acceptEnvelope?.(envelope))
        return succeeded({ status: outcome.status, body: outcome.json });
      const ok = outcome.status >= 200 && outcome.status < 300;
      if (ok && !envelope) return succeeded({ status: outcome.status, body: outcome.json });
      if (mode === 'query' && outcome.status >= 500 && attempt < SAFE_CALL_ATTEMPTS_MAX) {
        await this.sleep(backoffMs(attempt, RETRY_BACKOFF_BASE_MS, RETRY_BACKOFF_CAP_MS));
        continue;
      }
      return failed(errorAnswer(outcome.status, envelope, mode, secrets));
    }
  }

  private async token(
    credentials: MpesaCredentials,
    baseUrl: string,
    cacheKey: string,
  ): Promise<ProviderResult<string>> {
    const cached = this.tokens.get(cacheKey);
    if (cached !== undefined) return succeeded(cached);
    return this.tokens.singleFlight(cacheKey, () => this.fetchToken(credentials, baseUrl, cacheKey));
  }

  private async fetchToken(
    credentials: MpesaCredentials,
    baseUrl: string,
    cacheKey: string,
  ): Promise<ProviderResult<string>> {
    const authorization = basicAuthorization(credentials.consumerKey, credentials.consumerSecret);
    // The Basic credentials are the consumer secret in base64: scrub them as well.
    const secrets = [...mpesaSecrets(credentials), authorization.slice('Basic '.length)];
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await sendHttp(this.fetchFunction, {
        method: 'GET',
        url: `${baseUrl}/oauth/v1/generate?grant_type=client_credentials`,
        headers: {
          authorization,
          accept: 'application/json',
        },
        timeoutMs: this.timeoutMs,
      });
      const retryable = outcome.kind !== 'answered' || outcome.status >= 500 || outcome.status === 429;
      if (retryable && attempt < SAFE_CALL_ATTEMPTS_MAX) {
        await this.sleep(backoffMs(attempt, RETRY_BACKOFF_BASE_MS, RETRY_BACKOFF_CAP_MS));
        continue;
      }
      if (outcome.kind !== 'answered') {
        return failed({
          kind: 'unavailable',
          message: `OAuth: ${scrub(outcome.message, secrets)}`,
          mayHaveHappened: false,
        });
      }
      const envelope = readEnvelope(outcome.json);
      const token = isObject(outcome.json) ? text(field(outcome.json, 'access_token')) : undefined;
      if (outcome.status >= 200 && outcome.status < 300 && !envelope && token) {
        const expiresIn = Number(
          text(isObject(outcome.json) ? field(outcome.json, 'expires_in') : undefined),
        );
        const lifetimeS = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_TOKEN_LIFETIME_S;
        this.tokens.set(cacheKey, token, lifetimeS * 1000);
        return succeeded(token);
      }
      const failure = errorAnswer(outcome.status, envelope, 'query', secrets);
      // Every refusal of the OAuth call is about the credentials.
      if (failure.kind === 'rejected') {
        return failed({ kind: 'unauthorized', providerCode: failure.providerCode, message: failure.message });
      }
      if (failure.kind === 'unavailable') return failed({ ...failure, message: `OAuth: ${failure.message}` });
      return failed(failure);
    }
  }
}

function firstProblem(problems: readonly RequestProblem[]): ProviderFailure | undefined {
  const problem = problems[0];
  if (!problem) return undefined;
  return { kind: 'rejected', providerCode: 'invalid_request', message: problem.reason, field: problem.field };
}

/** A 2xx body whose `ResponseCode` is `"0"`; any other code is a refusal. */
function acknowledged(
  answer: Answer,
  mode: CallMode,
  credentials: MpesaCredentials,
): ProviderResult<JsonObject> {
  if (!isObject(answer.body)) return failed(unreadable(mode, 'the answer is not a JSON object'));
  const responseCode = text(field(answer.body, 'ResponseCode'));
  if (responseCode === undefined) return failed(unreadable(mode, 'no ResponseCode'));
  if (responseCode.trim() !== '0') {
    return failed({
      kind: 'rejected',
      providerCode: responseCode,
      message: scrub(text(field(answer.body, 'ResponseDescription')) ?? '', mpesaSecrets(credentials)),
      httpStatus: answer.status,
    });
  }
  return succeeded(answer.body);
}

function unreadable(mode: CallMode, why: string): ProviderFailure {
  return {
    kind: 'unavailable',
    message: `Daraja's answer could not be read: ${why}`,
    mayHaveHappened: mode === 'money',
  };
}

function lostAnswer(
  outcome: Exclude<HttpOutcome, { kind: 'answered' }>,
  mode: CallMode,
  secrets: readonly string[],
): ProviderFailure {
  return {
    kind: 'unavailable',
    message: `Daraja: ${scrub(outcome.message, secrets)}`,
    mayHaveHappened: mode === 'money' && outcome.kind === 'no_answer',
  };
}

function errorAnswer(
  status: number,
  envelope: DarajaEnvelope | undefined,
  mode: CallMode,
  secrets: readonly string[],
): ProviderFailure {
  const providerCode = envelope?.errorCode ?? `http_${status}`;
  const message = scrub(envelope?.errorMessage ?? `HTTP ${status}`, secrets);
  if (
    status === 401 ||
    status === 403 ||
    providerCode === INVALID_TOKEN_CODE ||
    providerCode.startsWith(INVALID_AUTHENTICATION_PREFIX)
  ) {
    return { kind: 'unauthorized', providerCode, message };
  }
  if (status === 429) return { kind: 'rate_limited', message };
  if (status >= 500 || status < 200) {
    return {
      kind: 'unavailable',
      message: `Daraja ${providerCode}: ${message}`,
      mayHaveHappened: mode === 'money',
    };
  }
  return { kind: 'rejected', providerCode, message, httpStatus: status };
}
