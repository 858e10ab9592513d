/**
 * Reads what Daraja (or the simulator) posts to a callback URL into typed results: the STK
 * push callback (`Body.stkCallback`) and the initiator APIs' `Result` (B2C, reversal,
 * transaction status, account balance). Tolerant where Daraja varies (numbers or strings,
 * `ReferenceItem` as an object or a list, items without a `Value`), strict about what the
 * payments commands rely on: a malformed callback is refused with the reason, never guessed.
 * Pure: no I/O. The caller keeps the raw body for audit either way.
 */
import { isAmountProblem } from '../../../domain/ledger/money.js';
import { parseReportedAmount } from '../../../domain/payments/mpesaAmount.js';
import { classifyMpesaResult } from '../../../domain/payments/mpesaResultCodes.js';
import type {
  InitiatorResult,
  InitiatorResultType,
  MpesaAccountBalance,
  MpesaCallback,
  StkResult,
} from '../../../domain/payments/mpesaResults.js';
import { isPhoneProblem, normalizeKenyanPhone } from '../../../domain/payments/phone.js';
import { field, isObject, keyValues, text, type JsonObject } from './wire.js';

export type ParsedCallback =
  { readonly ok: true; readonly callback: MpesaCallback } | { readonly ok: false; readonly reason: string };

/** More accounts than any real shortcode has: a longer balance string is refused. */
export const BALANCE_ACCOUNTS_MAX = 32;
/** Ids longer than this are not Daraja's. */
const ID_LENGTH_MAX = 128;

class Malformed extends Error {
  override readonly name = 'Malformed';
}

/**
 * Parses a callback body (already JSON-parsed). `expected` says what the request was, when the
 * caller knows it (it correlated the ids); otherwise an initiator result's type is guessed
 * from its parameters, or `unknown` (a reversal result carries none to tell it by).
 */
export function parseMpesaCallback(body: unknown, expected?: InitiatorResultType): ParsedCallback {
  try {
    if (!isObject(body)) throw new Malformed('the callback is not a JSON object');
    const envelope = field(body, 'Body');
    if (isObject(envelope) && field(envelope, 'stkCallback') !== undefined) {
      return { ok: true, callback: parseStk(field(envelope, 'stkCallback')) };
    }
    const result = field(body, 'Result');
    if (result !== undefined) return { ok: true, callback: parseResult(result, expected) };
    throw new Malformed('neither Body.stkCallback nor Result is present');
  } catch (error) {
    if (error instanceof Malformed) return { ok: false, reason: error.message };
    throw error;
  }
}

function requiredId(object: JsonObject, key: string, where: string): string {
  const value = text(field(object, key));
  if (value === undefined || value.trim().length === 0) throw new Malformed(`${where}.${key} is missing`);
  if (value.length > ID_LENGTH_MAX) throw new Malformed(`${where}.${key} is too long`);
  return value;
}

function resultCode(object: JsonObject, where: string): string {
  const value = field(object, 'ResultCode');
  const code = text(value);
  if (code === undefined || !/^-?\d{1,10}$/.test(code.trim())) {
    throw new Malformed(`${where}.ResultCode is missing or not a number`);
  }
  return code.trim();
}

function amount(value: string | undefined, where: string): bigint | undefined {
  if (value === undefined || value === '') return undefined;
  const cents = parseReportedAmount(value);
  if (isAmountProblem(cents)) throw new Malformed(`${where} ${cents.reason}`);
  return cents;
}

function parseStk(raw: unknown): StkResult {
  const where = 'Body.stkCallback';
  if (!isObject(raw)) throw new Malformed(`${where} is not an object`);
  const checkoutRequestId = requiredId(raw, 'CheckoutRequestID', where);
  const merchantRequestId = text(field(raw, 'MerchantRequestID')) ?? '';
  const outcome = classifyMpesaResult(resultCode(raw, where), text(field(raw, 'ResultDesc')) ?? '');
  const base = { kind: 'stk' as const, merchantRequestId, checkoutRequestId, outcome };
  if (outcome.status !== 'succeeded') return base;
  const metadata = field(raw, 'CallbackMetadata');
  if (!isObject(metadata))
    throw new Malformed(`${where}.CallbackMetadata is missing on a successful payment`);
  const items = keyValues(field(metadata, 'Item'), 'Name');
  const paid = amount(items.Amount, `${where}.CallbackMetadata Amount`);
  if (paid === undefined || paid <= 0n) {
    throw new Malformed(`${where}.CallbackMetadata has no positive Amount on a successful payment`);
  }
  const receiptNumber = items.MpesaReceiptNumber;
  if (receiptNumber === undefined || receiptNumber === '') {
    throw new Malformed(`${where}.CallbackMetadata has no MpesaReceiptNumber on a successful payment`);
  }
  const reportedPhone = items.PhoneNumber ?? '';
  const phone = normalizeKenyanPhone(reportedPhone);
  const transactionDate = items.TransactionDate;
  return {
    ...base,
    payment: {
      amountMinor: paid,
      receiptNumber,
      phone: isPhoneProblem(phone) ? reportedPhone : phone,
      ...(transactionDate === undefined || transactionDate === '' ? {} : { transactionDate }),
    },
  };
}

function guessType(parameters: Readonly<Record<string, string>>): InitiatorResultType | 'unknown' {
  if ('AccountBalance' in parameters) return 'account_balance';
  if ('TransactionReceipt' in parameters || 'B2CWorkingAccountAvailableFunds' in parameters) return 'b2c';
  if ('ReceiptNo' in parameters || 'TransactionStatus' in parameters) return 'transaction_status';
  return 'unknown';
}

function parseResult(raw: unknown, expected: InitiatorResultType | undefined): InitiatorResult {
  const where = 'Result';
  if (!isObject(raw)) throw new Malformed(`${where} is not an object`);
  const code = resultCode(raw, where);
  const outcome = classifyMpesaResult(code, text(field(raw, 'ResultDesc')) ?? '');
  const originatorConversationId = requiredId(raw, 'OriginatorConversationID', where);
  const conversationId = requiredId(raw, 'ConversationID', where);
  const transactionId = text(field(raw, 'TransactionID'));
  const resultParameters = field(raw, 'ResultParameters');
  const parameters = isObject(resultParameters)
    ? keyValues(field(resultParameters, 'ResultParameter'), 'Key')
    : {};
  const type = expected ?? guessType(parameters);
  const base: InitiatorResult = {
    kind: 'result',
    type,
    originatorConversationId,
    conversationId,
    ...(transactionId === undefined || transactionId === '' ? {} : { transactionId }),
    outcome,
    parameters,
  };
  if (outcome.status !== 'succeeded') return base;
  switch (type) {
    case 'b2c':
      return { ...base, payout: readPayout(parameters) };
    case 'transaction_status':
      return { ...base, status: readStatus(parameters) };
    case 'account_balance':
      return { ...base, balance: readBalance(parameters) };
    case 'reversal':
    case 'unknown':
      return base;
  }
}

function optional<Key extends string, Value>(key: Key, value: Value | undefined): { [K in Key]?: Value } {
  return (value === undefined || value === '' ? {} : { [key]: value }) as { [K in Key]?: Value };
}

function readPayout(parameters: Readonly<Record<string, string>>): NonNullable<InitiatorResult['payout']> {
  const where = 'Result.ResultParameters';
  const registered = parameters.B2CRecipientIsRegisteredCustomer;
  return {
    ...optional('amountMinor', amount(parameters.TransactionAmount, `${where} TransactionAmount`)),
    ...optional('receipt', parameters.TransactionReceipt),
    ...optional('receiverName', parameters.ReceiverPartyPublicName),
    ...(registered === undefined || registered === '' ? {} : { recipientIsRegistered: registered === 'Y' }),
    ...optional(
      'workingAccountAvailableMinor',
      amount(parameters.B2CWorkingAccountAvailableFunds, `${where} B2CWorkingAccountAvailableFunds`),
    ),
    ...optional(
      'utilityAccountAvailableMinor',
      amount(parameters.B2CUtilityAccountAvailableFunds, `${where} B2CUtilityAccountAvailableFunds`),
    ),
    ...optional('completedAt', parameters.TransactionCompletedDateTime),
  };
}

function readStatus(parameters: Readonly<Record<string, string>>): NonNullable<InitiatorResult['status']> {
  return {
    ...optional('receiptNumber', parameters.ReceiptNo),
    ...optional('transactionStatus', parameters.TransactionStatus),
    ...optional('amountMinor', amount(parameters.Amount, 'Result.ResultParameters Amount')),
    ...optional('originatorConversationId', parameters['Originator Conversation ID']),
    ...optional('finalisedTime', parameters.FinalisedTime),
    ...optional('debitPartyName', parameters.DebitPartyName),
    ...optional('creditPartyName', parameters.CreditPartyName),
  };
}

/** `Name|KES|46713.00|46713.00|0.00|0.00&Name2|…` into accounts. */
export function parseAccountBalances(value: string): MpesaAccountBalance[] {
  const lines = value.split('&').filter((line) => line.trim().length > 0);
  if (lines.length > BALANCE_ACCOUNTS_MAX)
    throw new Malformed(`AccountBalance lists more than ${BALANCE_ACCOUNTS_MAX} accounts`);
  return lines.map((line, index) => {
    const [name, currency, ...columns] = line.split('|');
    if (name === undefined || currency === undefined || columns.length === 0) {
      throw new Malformed(`AccountBalance account ${index + 1} is not Name|Currency|amount…`);
    }
    const columnsMinor = columns.map((column, at) => {
      const cents = amount(column, `AccountBalance account ${index + 1} column ${at + 3}`);
      if (cents === undefined)
        throw new Malformed(`AccountBalance account ${index + 1} column ${at + 3} is empty`);
      return cents;
    });
    return {
      name: name.trim(),
      currency: currency.trim(),
      availableMinor: columnsMinor[0] ?? 0n,
      columnsMinor,
    };
  });
}

function readBalance(parameters: Readonly<Record<string, string>>): NonNullable<InitiatorResult['balance']> {
  const accounts = parameters.AccountBalance;
  if (accounts === undefined || accounts === '')
    throw new Malformed('Result.ResultParameters has no AccountBalance');
  return { accounts: parseAccountBalances(accounts), ...optional('completedAt', parameters.BOCompletedTime) };
}
