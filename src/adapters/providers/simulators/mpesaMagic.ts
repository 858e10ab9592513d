/**
 * The M-Pesa simulator's magic values: a phone number or an amount that picks the outcome, the
 * way a sandbox's test numbers do. Both use the same four-digit suffix:
 *
 * | phone (MSISDN)  | amount (KES) | outcome                                                     |
 * |-----------------|--------------|-------------------------------------------------------------|
 * | 254700000001    | 100001       | ResultCode 1, insufficient funds                            |
 * | 254700001032    | 101032       | ResultCode 1032, cancelled by user                          |
 * | 254700001037    | 101037       | ResultCode 1037, user unreachable                           |
 * | 254700002001    | 102001       | ResultCode 2001, wrong PIN / invalid initiator              |
 * | 254700001001    | 101001       | ResultCode 1001, subscriber locked                          |
 * | 254700001019    | 101019       | ResultCode 1019, transaction expired                        |
 * | 254700001025    | 101025       | ResultCode 1025, error sending the push                     |
 * | 254700009999    | 109999       | ResultCode 9999, error sending the push                     |
 * | 254700000021    | 100021       | ResultCode 21, initiator not allowed                        |
 * | 254700000404    | 100404       | accepted, but the callback never comes (query: pending)     |
 * | 254700000408    | 100408       | the HTTP answer is lost (timeout), the payment succeeds     |
 * | 254700000410    | 100410       | succeeds, but the callback is lost (query: completed)       |
 * | anything else   | anything else| success (ResultCode 0) with a receipt                       |
 *
 * The phone wins when both are magic. B2C payouts also fail with 1 when the simulated float of
 * the shortcode cannot cover them.
 */
import { MPESA_FAILURE_CODES } from '../../../domain/payments/mpesaResultCodes.js';

export type MagicBehaviour =
  | { readonly kind: 'succeed' }
  | { readonly kind: 'fail'; readonly resultCode: number; readonly description: string }
  | { readonly kind: 'never_call_back' }
  | { readonly kind: 'lose_answer' }
  | { readonly kind: 'lose_callback' };

/** Magic phones: `2547000` + `0` + the four-digit suffix. */
const MAGIC_PHONE = /^25470000(\d{4})$/;
/** Magic amounts: 100,000 + the suffix, in whole shillings. */
const MAGIC_AMOUNT_BASE_SHILLINGS = 100_000n;
const MAGIC_SUFFIX_MAX = 9_999n;
export const NEVER_CALLS_BACK_SUFFIX = 404;
export const LOSES_ANSWER_SUFFIX = 408;
/** HTTP 410 Gone: the transaction completes, its callback is never posted. */
export const LOSES_CALLBACK_SUFFIX = 410;

/** Daraja's texts for the codes the simulator produces. */
export const RESULT_DESCRIPTIONS: Readonly<Record<number, string>> = {
  0: 'The service request is processed successfully.',
  1: 'The balance is insufficient for the transaction.',
  21: 'The initiator is not allowed to initiate this request.',
  1001: 'Unable to lock subscriber, a transaction is already in process for the current subscriber.',
  1019: 'Transaction has expired.',
  1025: 'An error occurred while sending a push request.',
  1032: 'Request cancelled by user.',
  1037: 'DS timeout user cannot be reached.',
  2001: 'The initiator information is invalid.',
  9999: 'An error occurred while sending a push request.',
};

function fromSuffix(suffix: number): MagicBehaviour | undefined {
  if (suffix === NEVER_CALLS_BACK_SUFFIX) return { kind: 'never_call_back' };
  if (suffix === LOSES_ANSWER_SUFFIX) return { kind: 'lose_answer' };
  if (suffix === LOSES_CALLBACK_SUFFIX) return { kind: 'lose_callback' };
  if (String(suffix) in MPESA_FAILURE_CODES) {
    return { kind: 'fail', resultCode: suffix, description: RESULT_DESCRIPTIONS[suffix] ?? 'Failed.' };
  }
  return undefined;
}

/** What the simulator does for this phone and amount (whole shillings). */
export function magicBehaviour(phone: string, shillings: bigint): MagicBehaviour {
  const phoneMatch = MAGIC_PHONE.exec(phone);
  const byPhone = phoneMatch?.[1] === undefined ? undefined : fromSuffix(Number(phoneMatch[1]));
  if (byPhone) return byPhone;
  const offset = shillings - MAGIC_AMOUNT_BASE_SHILLINGS;
  const byAmount = offset > 0n && offset <= MAGIC_SUFFIX_MAX ? fromSuffix(Number(offset)) : undefined;
  return byAmount ?? { kind: 'succeed' };
}

/** The magic phone for a result code or special suffix (for tests and docs). */
export function magicPhone(suffix: number): string {
  return `25470000${String(suffix).padStart(4, '0')}`;
}

/** The magic amount in whole shillings for a result code or special suffix. */
export function magicShillings(suffix: number): bigint {
  return MAGIC_AMOUNT_BASE_SHILLINGS + BigInt(suffix);
}
