/**
 * The asynchronous answers Daraja (or the simulator) posts to an organization's callback URL,
 * in domain terms. `parseMpesaCallback` (src/adapters/providers/daraja/callbacks.ts) turns the
 * raw JSON into these; the payments commands correlate them with what they initiated by
 * `checkoutRequestId` (STK) or `originatorConversationId` / `conversationId` (initiator APIs).
 */
import type { MpesaOutcome } from './mpesaResultCodes.js';
import type { Msisdn } from './phone.js';

/** The result of an STK push (`Body.stkCallback`). */
export interface StkResult {
  readonly kind: 'stk';
  readonly merchantRequestId: string;
  readonly checkoutRequestId: string;
  readonly outcome: MpesaOutcome;
  /** Present when the payment succeeded. */
  readonly payment?: {
    /** KES cents actually paid. */
    readonly amountMinor: bigint;
    readonly receiptNumber: string;
    /** The payer, normalized when it is a Kenyan mobile number, else as reported. */
    readonly phone: Msisdn | string;
    /** `YYYYMMDDHHmmss` Nairobi time, as reported. */
    readonly transactionDate?: string;
  };
}

/** What an initiator-API result (`Result`) is about; the caller knows, the parser may guess. */
export type InitiatorResultType = 'b2c' | 'reversal' | 'transaction_status' | 'account_balance';

/** One account line of an account-balance result (`Name|KES|46713.00|46713.00|0.00|0.00`). */
export interface MpesaAccountBalance {
  readonly name: string;
  readonly currency: string;
  /** The first amount column, in cents: the available balance. */
  readonly availableMinor: bigint;
  /** Every amount column, in cents, in order (the meaning of the last three ⚠ is unconfirmed). */
  readonly columnsMinor: readonly bigint[];
}

/** The result of a B2C payout, reversal, transaction status query or account balance query. */
export interface InitiatorResult {
  readonly kind: 'result';
  /** What the parser was told or could tell from the fields; `unknown` when neither. */
  readonly type: InitiatorResultType | 'unknown';
  readonly originatorConversationId: string;
  readonly conversationId: string;
  /** The M-Pesa receipt (B2C) or reversal transaction id, when given. */
  readonly transactionId?: string;
  readonly outcome: MpesaOutcome;
  /** Every `ResultParameter` as text, by key (keys may contain spaces). */
  readonly parameters: Readonly<Record<string, string>>;
  /** B2C: what was paid. */
  readonly payout?: {
    readonly amountMinor?: bigint;
    readonly receipt?: string;
    readonly receiverName?: string;
    readonly recipientIsRegistered?: boolean;
    readonly workingAccountAvailableMinor?: bigint;
    readonly utilityAccountAvailableMinor?: bigint;
    readonly completedAt?: string;
  };
  /** Transaction status: the transaction asked about. */
  readonly status?: {
    readonly receiptNumber?: string;
    readonly transactionStatus?: string;
    readonly amountMinor?: bigint;
    readonly originatorConversationId?: string;
    readonly finalisedTime?: string;
    readonly debitPartyName?: string;
    readonly creditPartyName?: string;
  };
  /** Account balance: the organization's accounts. */
  readonly balance?: { readonly accounts: readonly MpesaAccountBalance[]; readonly completedAt?: string };
}

export type MpesaCallback = StkResult | InitiatorResult;
