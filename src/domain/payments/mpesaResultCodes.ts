/**
 * What a Daraja `ResultCode` means for a payment (PROVIDERS.md §1). `0` is the only success;
 * "still being processed" is pending, not failed; every other code is a final failure with a
 * reason the commands, the fraud rules ("repeated failures") and the user can act on.
 */

export type MpesaFailureReason =
  /** 1: the payer's (or, for B2C, the organization's) balance cannot cover the amount. */
  | 'insufficient_funds'
  /** 1032: the customer dismissed the STK prompt. */
  | 'cancelled_by_user'
  /** 1037: the phone could not be reached, or the customer did not answer in time. */
  | 'unreachable'
  /** 2001: wrong PIN on an STK push; bad initiator credential on the initiator APIs. */
  | 'wrong_pin'
  /** 1019: the request expired before the customer completed it. */
  | 'expired'
  /** 1001: the subscriber is busy with another M-Pesa session. */
  | 'subscriber_locked'
  /** 21: the initiator may not perform this operation. */
  | 'initiator_not_allowed'
  /** 1025, 9999: Safaricom could not send the prompt. */
  | 'push_failed'
  /** Any other non-zero code; the code and its text say more. */
  | 'unknown';

export type MpesaOutcome =
  | { readonly status: 'succeeded'; readonly resultCode: string; readonly description: string }
  | { readonly status: 'pending'; readonly resultCode: string; readonly description: string }
  | {
      readonly status: 'failed';
      readonly reason: MpesaFailureReason;
      readonly resultCode: string;
      readonly description: string;
    };

export const MPESA_RESULT_SUCCESS = '0';

/** Known failure codes. Keys are the decimal spelling Daraja uses, as text. */
export const MPESA_FAILURE_CODES: Readonly<Record<string, MpesaFailureReason>> = {
  '1': 'insufficient_funds',
  '21': 'initiator_not_allowed',
  '1001': 'subscriber_locked',
  '1019': 'expired',
  '1025': 'push_failed',
  '1032': 'cancelled_by_user',
  '1037': 'unreachable',
  '2001': 'wrong_pin',
  '9999': 'push_failed',
};

/** Codes that mean "not finished yet": 4999 "The transaction is still under processing" ⚠. */
const PENDING_CODES = new Set(['4999']);
const CODE = /^-?\d{1,10}$/;

/** Classifies a result code given as a number (callbacks) or a string (STK query). */
export function classifyMpesaResult(code: number | string, description = ''): MpesaOutcome {
  const text = typeof code === 'number' ? String(code) : code.trim();
  const resultCode = CODE.test(text) ? String(Number(text)) : text;
  if (resultCode === MPESA_RESULT_SUCCESS) return { status: 'succeeded', resultCode, description };
  if (PENDING_CODES.has(resultCode)) return { status: 'pending', resultCode, description };
  const reason = MPESA_FAILURE_CODES[resultCode] ?? 'unknown';
  return { status: 'failed', reason, resultCode, description };
}
