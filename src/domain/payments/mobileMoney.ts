/**
 * The `MobileMoney` port (SPEC §5.1, §10): what the payments commands ask of M-Pesa, in domain
 * terms. Two implementations: the real Daraja HTTP adapter and the simulator (the embedded
 * default). Each call takes the organization's credentials from the vault — an adapter holds
 * nothing per organization except a cached OAuth token.
 *
 * Every call answers "accepted" or a failure; acceptance is not settlement. The result of an
 * STK push, payout, reversal, status or balance query arrives later, as an HTTP POST to the
 * URL given in the request, and is read with `parseMpesaCallback`. Money-moving calls
 * (`stkPush`, `b2cPayout`, `reversal`) are never retried by an adapter: when one answers
 * `unavailable` with `mayHaveHappened`, settle it with `stkQuery` / `transactionStatus` or wait
 * for the callback.
 */
import type { MpesaCredentials } from './credentials.js';
import type { MpesaAmount } from './mpesaAmount.js';
import type { MpesaOutcome } from './mpesaResultCodes.js';
import type { Msisdn } from './phone.js';
import type { ProviderResult } from './providerResult.js';

/** Daraja's limits on the free-text fields (longer text is refused before any call). */
export const ACCOUNT_REFERENCE_LENGTH_MAX = 12;
export const TRANSACTION_DESC_LENGTH_MAX = 13;
export const REMARKS_LENGTH_MAX = 100;
export const OCCASION_LENGTH_MAX = 100;
/** Our own bound on client-chosen ids such as `OriginatorConversationID`. */
export const CORRELATION_ID_LENGTH_MAX = 64;

export interface StkPushRequest {
  readonly phone: Msisdn;
  readonly amount: MpesaAmount;
  /** Shown to the customer and echoed in statements; 1–12 characters. */
  readonly accountReference: string;
  /** 1–13 characters. */
  readonly description: string;
  /** Where the result is posted (the organization's `/callbacks/mpesa/{orgId}/{secretToken}`). */
  readonly callbackUrl: string;
  /** Default `CustomerPayBillOnline`; `CustomerBuyGoodsOnline` for a till. */
  readonly transactionType?: 'CustomerPayBillOnline' | 'CustomerBuyGoodsOnline';
  /** The receiving shortcode or till; default the credentials' shortcode. */
  readonly partyB?: string;
}

/** The prompt was sent; the result comes to `callbackUrl`, keyed by `checkoutRequestId`. */
export interface StkPushAccepted {
  readonly merchantRequestId: string;
  readonly checkoutRequestId: string;
  readonly customerMessage: string;
}

export interface StkQueryRequest {
  readonly checkoutRequestId: string;
}

/** `pending` while Daraja is still processing ("The transaction is being processed"). */
export type StkQueryAnswer =
  | { readonly status: 'pending'; readonly description: string }
  | { readonly status: 'completed'; readonly outcome: MpesaOutcome; readonly merchantRequestId: string };

export type B2cCommandId = 'BusinessPayment' | 'SalaryPayment' | 'PromotionPayment';

export interface B2cPayoutRequest {
  /**
   * Client-chosen id (B2C v3's `OriginatorConversationID`), echoed in the result: make it
   * deterministic per payout (e.g. the payout id) so a callback finds its payout.
   */
  readonly originatorConversationId: string;
  readonly phone: Msisdn;
  readonly amount: MpesaAmount;
  /** Default `BusinessPayment`. */
  readonly commandId?: B2cCommandId;
  readonly remarks: string;
  readonly occasion?: string;
  /** Where the result is posted. */
  readonly resultUrl: string;
  /** Where a queue timeout is posted; default `resultUrl`. */
  readonly queueTimeoutUrl?: string;
}

/** The sync acknowledgement of the initiator APIs: accepted, result to follow. */
export interface InitiatorAccepted {
  readonly originatorConversationId: string;
  readonly conversationId: string;
  readonly description: string;
}

/** Asks about a transaction by its M-Pesa receipt, or a B2C v3 payout by its originator id ⚠. */
export interface TransactionStatusRequest {
  readonly transactionId?: string;
  readonly originatorConversationId?: string;
  readonly resultUrl: string;
  readonly queueTimeoutUrl?: string;
  readonly remarks?: string;
  readonly occasion?: string;
}

export interface AccountBalanceRequest {
  readonly resultUrl: string;
  readonly queueTimeoutUrl?: string;
  readonly remarks?: string;
}

export interface ReversalRequest {
  /** The M-Pesa receipt of the transaction to reverse. */
  readonly transactionId: string;
  readonly amount: MpesaAmount;
  readonly resultUrl: string;
  readonly queueTimeoutUrl?: string;
  readonly remarks?: string;
  readonly occasion?: string;
}

export interface MobileMoney {
  /** Lipa na M-Pesa Online: prompts the phone for the PIN. Money-moving; never retried. */
  stkPush(credentials: MpesaCredentials, request: StkPushRequest): Promise<ProviderResult<StkPushAccepted>>;
  /** The state of an STK push. Safe to retry. */
  stkQuery(credentials: MpesaCredentials, request: StkQueryRequest): Promise<ProviderResult<StkQueryAnswer>>;
  /** B2C v3 payout to a phone. Money-moving; never retried. */
  b2cPayout(
    credentials: MpesaCredentials,
    request: B2cPayoutRequest,
  ): Promise<ProviderResult<InitiatorAccepted>>;
  /** Status of a transaction; the answer comes to `resultUrl`. Safe to retry. */
  transactionStatus(
    credentials: MpesaCredentials,
    request: TransactionStatusRequest,
  ): Promise<ProviderResult<InitiatorAccepted>>;
  /** The organization's M-Pesa balances; the answer comes to `resultUrl`. Safe to retry. */
  accountBalance(
    credentials: MpesaCredentials,
    request: AccountBalanceRequest,
  ): Promise<ProviderResult<InitiatorAccepted>>;
  /** Reverses a transaction. Money-moving; never retried. */
  reversal(
    credentials: MpesaCredentials,
    request: ReversalRequest,
  ): Promise<ProviderResult<InitiatorAccepted>>;
}

/** A request field that breaks Daraja's rules: the field and why. */
export interface RequestProblem {
  readonly field: string;
  readonly reason: string;
}

function text(field: string, value: string | undefined, max: number, required: boolean): RequestProblem[] {
  if (value === undefined) return required ? [{ field, reason: 'is required' }] : [];
  if (value.trim().length === 0) return [{ field, reason: 'must not be blank' }];
  if (value.length > max) return [{ field, reason: `must be at most ${max} characters` }];
  return [];
}

function url(field: string, value: string | undefined, required: boolean): RequestProblem[] {
  if (value === undefined) return required ? [{ field, reason: 'is required' }] : [];
  return /^https?:\/\/[^\s]+$/.test(value) ? [] : [{ field, reason: 'must be an http(s) URL' }];
}

/** Checks that adapters and the simulator share, so both refuse the same requests alike. */
export function checkStkPush(request: StkPushRequest): RequestProblem[] {
  return [
    ...text('accountReference', request.accountReference, ACCOUNT_REFERENCE_LENGTH_MAX, true),
    ...text('description', request.description, TRANSACTION_DESC_LENGTH_MAX, true),
    ...url('callbackUrl', request.callbackUrl, true),
  ];
}

export function checkB2cPayout(request: B2cPayoutRequest): RequestProblem[] {
  return [
    ...text('originatorConversationId', request.originatorConversationId, CORRELATION_ID_LENGTH_MAX, true),
    ...text('remarks', request.remarks, REMARKS_LENGTH_MAX, true),
    ...text('occasion', request.occasion, OCCASION_LENGTH_MAX, false),
    ...url('resultUrl', request.resultUrl, true),
    ...url('queueTimeoutUrl', request.queueTimeoutUrl, false),
  ];
}

export function checkTransactionStatus(request: TransactionStatusRequest): RequestProblem[] {
  const ids =
    request.transactionId === undefined && request.originatorConversationId === undefined
      ? [{ field: 'transactionId', reason: 'give transactionId or originatorConversationId' }]
      : [];
  return [
    ...ids,
    ...text('transactionId', request.transactionId, CORRELATION_ID_LENGTH_MAX, false),
    ...text('originatorConversationId', request.originatorConversationId, CORRELATION_ID_LENGTH_MAX, false),
    ...text('remarks', request.remarks, REMARKS_LENGTH_MAX, false),
    ...url('resultUrl', request.resultUrl, true),
    ...url('queueTimeoutUrl', request.queueTimeoutUrl, false),
  ];
}

export function checkAccountBalance(request: AccountBalanceRequest): RequestProblem[] {
  return [
    ...text('remarks', request.remarks, REMARKS_LENGTH_MAX, false),
    ...url('resultUrl', request.resultUrl, true),
    ...url('queueTimeoutUrl', request.queueTimeoutUrl, false),
  ];
}

export function checkReversal(request: ReversalRequest): RequestProblem[] {
  return [
    ...text('transactionId', request.transactionId, CORRELATION_ID_LENGTH_MAX, true),
    ...text('remarks', request.remarks, REMARKS_LENGTH_MAX, false),
    ...url('resultUrl', request.resultUrl, true),
    ...url('queueTimeoutUrl', request.queueTimeoutUrl, false),
  ];
}
