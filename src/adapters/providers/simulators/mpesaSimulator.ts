/**
 * The M-Pesa simulator: the embedded default `MobileMoney` (SPEC §10). It answers like the
 * Daraja sandbox — at once, with the same acknowledgements and refusals — and posts the
 * result later over real HTTP to the URL in the request, with Daraja's callback JSON. Magic
 * phone numbers and amounts pick failures (see mpesaMagic.ts); a simulated float per shortcode
 * makes payouts fail with 1 when it runs dry. Any credentials with a non-empty consumer key and
 * secret are accepted.
 *
 * Everything it keeps is bounded: records per kind, callbacks scheduled or in flight.
 */
import { randomBytes } from 'node:crypto';
import type { MpesaCredentials } from '../../../domain/payments/credentials.js';
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
import { failed, succeeded, type ProviderResult } from '../../../domain/payments/providerResult.js';
import { nairobiTimestamp } from '../../../domain/payments/stkPassword.js';
import { DARAJA_REQUEST_TIMEOUT_MS } from '../daraja/darajaMobileMoney.js';
import type { FetchFunction } from '../http.js';
import { BoundedMap } from './boundedMap.js';
import { CallbackSender, type CallbackDelivery } from './callbackSender.js';
import { resultBody, stkCallbackBody } from './mpesaCallbackBodies.js';
import { magicBehaviour, RESULT_DESCRIPTIONS, type MagicBehaviour } from './mpesaMagic.js';
import { timerScheduler, type Scheduler } from './scheduler.js';

/** Roughly the time a customer takes to read the prompt and type the PIN. */
export const STK_CALLBACK_DELAY_MS = 3_000;
/** Roughly how long the sandbox takes to post an initiator result. */
export const RESULT_CALLBACK_DELAY_MS = 1_500;
/** A callback receiver that has not answered by then is given up on. */
export const CALLBACK_TIMEOUT_MS = 10_000;
/** Callbacks scheduled or in flight at once; beyond, new requests are refused as busy. */
export const PENDING_CALLBACKS_MAX = 1_000;
/** Pushes, payouts and transactions remembered (for queries, reversals, duplicates). */
export const SIMULATOR_RECORDS_MAX = 10_000;
/** Copies of one callback the duplicate fault may post. */
export const CALLBACK_COPIES_MAX = 5;
/** Each shortcode's float when first seen, in whole shillings. */
export const INITIAL_FLOAT_SHILLINGS = 1_000_000n;
/** Shortcodes whose float is tracked. */
const FLOATS_MAX = 10_000;

/**
 * Codes of the simulator's own for refusals Daraja reports with non-numeric or undocumented
 * codes ⚠: they classify as `unknown` failures.
 */
export const SIMULATOR_RESULT_CODES = {
  transactionNotFound: 404,
  alreadyReversed: 409,
  reversalTooLarge: 422,
} as const;

export interface MpesaSimulatorFaults {
  /** Posts every callback this many times (1 by default; at most `CALLBACK_COPIES_MAX`). */
  readonly callbackCopies?: number;
  /** Posts the callback, and waits for the receiver's answer, before answering the request. */
  readonly callbackBeforeAnswer?: boolean;
  /**
   * M-Pesa takes every money-moving request (STK push, B2C payout, reversal) and carries it
   * out, but its answer does not come in time: the caller gets what the Daraja adapter answers
   * when its request timeout fires (`unavailable`, `mayHaveHappened`). Queries answer as usual.
   */
  readonly answerTimeout?: boolean;
}

export interface MpesaSimulatorOptions {
  readonly scheduler?: Scheduler;
  readonly fetch?: FetchFunction;
  readonly stkCallbackDelayMs?: number;
  readonly resultCallbackDelayMs?: number;
  readonly callbackTimeoutMs?: number;
  readonly pendingCallbacksMax?: number;
  readonly initialFloatShillings?: bigint;
  /** Unix milliseconds, for timestamps in callbacks. */
  readonly now?: () => number;
  readonly faults?: MpesaSimulatorFaults;
  /** Told about every callback POST (kind, id, HTTP status or error; never the URL). */
  readonly onDelivery?: (delivery: CallbackDelivery) => void;
}

interface StkRecord {
  readonly merchantRequestId: string;
  state: 'pending' | 'completed';
  resultCode?: number;
  resultDesc?: string;
}

interface Transaction {
  readonly receipt: string;
  readonly kind: 'stk' | 'b2c';
  readonly shortcode: string;
  readonly cents: bigint;
  readonly phone: string;
  readonly originatorConversationId?: string;
  readonly completedAt: string;
  reversed: boolean;
}

interface PayoutRecord {
  state: 'pending' | 'completed';
  receipt?: string;
}

const CENTS = 100n;
/** Callback kinds of the requests that move money (the timeout fault loses their answers). */
const MONEY_MOVING: ReadonlySet<string> = new Set(['stk', 'b2c', 'reversal']);

export class MpesaSimulator implements MobileMoney {
  private readonly sender: CallbackSender;
  private readonly stkDelayMs: number;
  private readonly resultDelayMs: number;
  private readonly now: () => number;
  private readonly copies: number;
  private readonly callbackBeforeAnswer: boolean;
  private readonly answerTimeout: boolean;
  private readonly initialFloatCents: bigint;
  private readonly pushes = new BoundedMap<string, StkRecord>(SIMULATOR_RECORDS_MAX);
  private readonly payouts = new BoundedMap<string, PayoutRecord>(SIMULATOR_RECORDS_MAX);
  private readonly transactions = new BoundedMap<string, Transaction>(SIMULATOR_RECORDS_MAX);
  /** Callbacks a lost-callback magic value built and never sent, by request id. */
  private readonly withheld = new BoundedMap<string, unknown>(SIMULATOR_RECORDS_MAX);
  private readonly floats = new BoundedMap<string, bigint>(FLOATS_MAX);
  private sequence = 0;

  constructor(options: MpesaSimulatorOptions = {}) {
    this.sender = new CallbackSender(
      options.scheduler ?? timerScheduler,
      options.fetch ?? fetch,
      options.callbackTimeoutMs ?? CALLBACK_TIMEOUT_MS,
      options.pendingCallbacksMax ?? PENDING_CALLBACKS_MAX,
      options.onDelivery ?? (() => undefined),
    );
    this.stkDelayMs = options.stkCallbackDelayMs ?? STK_CALLBACK_DELAY_MS;
    this.resultDelayMs = options.resultCallbackDelayMs ?? RESULT_CALLBACK_DELAY_MS;
    this.now = options.now ?? Date.now;
    this.copies = Math.min(CALLBACK_COPIES_MAX, Math.max(1, options.faults?.callbackCopies ?? 1));
    this.callbackBeforeAnswer = options.faults?.callbackBeforeAnswer ?? false;
    this.answerTimeout = options.faults?.answerTimeout ?? false;
    this.initialFloatCents = (options.initialFloatShillings ?? INITIAL_FLOAT_SHILLINGS) * CENTS;
  }

  /** Callbacks scheduled or in flight. */
  get pendingCallbacks(): number {
    return this.sender.pending;
  }

  /** Resolves when every scheduled callback has been delivered (or failed). */
  idle(): Promise<void> {
    return this.sender.idle();
  }

  /** Cancels scheduled callbacks and waits for those in flight. */
  close(): Promise<void> {
    return this.sender.close();
  }

  /**
   * The callback a lost-callback magic value built and never sent (by CheckoutRequestID or
   * OriginatorConversationID), once the simulated transaction completed: what M-Pesa would
   * have said, for a test to deliver late.
   */
  withheldCallback(id: string): unknown {
    return this.withheld.get(id);
  }

  /** The simulated float of a shortcode, in KES cents. */
  floatOf(shortcode: string): bigint {
    return this.floats.get(shortcode) ?? this.initialFloatCents;
  }

  async stkPush(
    credentials: MpesaCredentials,
    request: StkPushRequest,
  ): Promise<ProviderResult<StkPushAccepted>> {
    const refused = this.refuse(credentials, checkStkPush(request));
    if (refused) return refused;
    const behaviour = magicBehaviour(request.phone, BigInt(wholeShillings(request.amount)));
    const merchantRequestId = `${this.next()}-${randomDigits(8)}-1`;
    const checkoutRequestId = `ws_CO_${nairobiTimestamp(this.now())}${randomDigits(6)}${this.next()}`;
    const record: StkRecord = { merchantRequestId, state: 'pending' };
    this.pushes.set(checkoutRequestId, record);
    const accepted = succeeded<StkPushAccepted>({
      merchantRequestId,
      checkoutRequestId,
      customerMessage: 'Success. Request accepted for processing',
    });
    if (behaviour.kind === 'never_call_back') return accepted;
    const complete = (): unknown => {
      const paid = behaviour.kind === 'fail' ? undefined : this.collect(credentials.shortcode, request);
      const resultCode = behaviour.kind === 'fail' ? behaviour.resultCode : 0;
      const resultDesc = RESULT_DESCRIPTIONS[resultCode] ?? 'Failed.';
      record.state = 'completed';
      record.resultCode = resultCode;
      record.resultDesc = resultDesc;
      return stkCallbackBody({
        merchantRequestId,
        checkoutRequestId,
        resultCode,
        resultDesc,
        ...(paid
          ? {
              paid: {
                shillings: wholeShillings(request.amount),
                receipt: paid.receipt,
                transactionDate: Number(nairobiTimestamp(this.now())),
                phone: request.phone,
              },
            }
          : {}),
      });
    };
    return this.answer(behaviour, accepted, {
      kind: 'stk',
      id: checkoutRequestId,
      url: request.callbackUrl,
      body: complete,
      delayMs: this.stkDelayMs,
    });
  }

  stkQuery(credentials: MpesaCredentials, request: StkQueryRequest): Promise<ProviderResult<StkQueryAnswer>> {
    const refused = this.refuse(credentials, []);
    if (refused) return Promise.resolve(refused);
    const record = this.pushes.get(request.checkoutRequestId);
    if (!record) {
      return Promise.resolve(
        failed({
          kind: 'rejected',
          providerCode: '400.002.02',
          message: 'Bad Request - Invalid CheckoutRequestID',
          field: 'checkoutRequestId',
          httpStatus: 400,
        }),
      );
    }
    if (record.state === 'pending' || record.resultCode === undefined) {
      return Promise.resolve(
        succeeded({ status: 'pending', description: 'The transaction is being processed' }),
      );
    }
    return Promise.resolve(
      succeeded({
        status: 'completed',
        outcome: classifyMpesaResult(record.resultCode, record.resultDesc ?? ''),
        merchantRequestId: record.merchantRequestId,
      }),
    );
  }

  async b2cPayout(
    credentials: MpesaCredentials,
    request: B2cPayoutRequest,
  ): Promise<ProviderResult<InitiatorAccepted>> {
    const refused = this.refuse(credentials, checkB2cPayout(request));
    if (refused) return refused;
    if (this.payouts.has(request.originatorConversationId)) {
      // ⚠ Daraja's exact answer to a reused OriginatorConversationID is undocumented.
      return failed({
        kind: 'rejected',
        providerCode: '400.002.02',
        message: 'Bad Request - Duplicate OriginatorConversationID',
        field: 'originatorConversationId',
        httpStatus: 400,
      });
    }
    const record: PayoutRecord = { state: 'pending' };
    this.payouts.set(request.originatorConversationId, record);
    const behaviour = magicBehaviour(request.phone, BigInt(wholeShillings(request.amount)));
    const conversationId = this.conversationId();
    const accepted = this.accepted(request.originatorConversationId, conversationId);
    if (behaviour.kind === 'never_call_back') return accepted;
    const complete = (): unknown => {
      record.state = 'completed';
      const shortcode = credentials.shortcode;
      let resultCode = behaviour.kind === 'fail' ? behaviour.resultCode : 0;
      if (resultCode === 0 && this.floatOf(shortcode) < request.amount) resultCode = 1;
      if (resultCode !== 0) {
        return resultBody({
          resultCode,
          resultDesc: RESULT_DESCRIPTIONS[resultCode] ?? 'Failed.',
          originatorConversationId: request.originatorConversationId,
          conversationId,
          transactionId: randomReceipt(),
          queueTimeoutUrl: request.queueTimeoutUrl ?? request.resultUrl,
        });
      }
      const float = this.floatOf(shortcode) - request.amount;
      this.floats.set(shortcode, float);
      const transaction = this.record({
        kind: 'b2c',
        shortcode,
        cents: request.amount,
        phone: request.phone,
        originatorConversationId: request.originatorConversationId,
      });
      record.receipt = transaction.receipt;
      const funds = formatCents(float);
      return resultBody({
        resultCode: 0,
        resultDesc: 'The service request is processed successfully.',
        originatorConversationId: request.originatorConversationId,
        conversationId,
        transactionId: transaction.receipt,
        queueTimeoutUrl: request.queueTimeoutUrl ?? request.resultUrl,
        parameters: [
          { Key: 'TransactionAmount', Value: wholeShillings(request.amount) },
          { Key: 'TransactionReceipt', Value: transaction.receipt },
          { Key: 'B2CRecipientIsRegisteredCustomer', Value: 'Y' },
          { Key: 'B2CChargesPaidAccountAvailableFunds', Value: '0.00' },
          { Key: 'ReceiverPartyPublicName', Value: `${request.phone} - Simulated Customer` },
          { Key: 'TransactionCompletedDateTime', Value: transaction.completedAt },
          { Key: 'B2CUtilityAccountAvailableFunds', Value: funds },
          { Key: 'B2CWorkingAccountAvailableFunds', Value: funds },
        ],
      });
    };
    return this.answer(behaviour, accepted, {
      kind: 'b2c',
      id: request.originatorConversationId,
      url: request.resultUrl,
      body: complete,
      delayMs: this.resultDelayMs,
    });
  }

  async transactionStatus(
    credentials: MpesaCredentials,
    request: TransactionStatusRequest,
  ): Promise<ProviderResult<InitiatorAccepted>> {
    const refused = this.refuse(credentials, checkTransactionStatus(request));
    if (refused) return refused;
    const originatorConversationId = `${this.next()}-${randomDigits(8)}-1`;
    const conversationId = this.conversationId();
    const complete = (): unknown => {
      const receipt =
        request.transactionId ??
        (request.originatorConversationId === undefined
          ? undefined
          : this.payouts.get(request.originatorConversationId)?.receipt);
      const transaction = receipt === undefined ? undefined : this.transactions.get(receipt);
      const base = {
        originatorConversationId,
        conversationId,
        queueTimeoutUrl: request.queueTimeoutUrl ?? request.resultUrl,
      };
      if (!transaction || transaction.shortcode !== credentials.shortcode) {
        return resultBody({
          ...base,
          resultCode: SIMULATOR_RESULT_CODES.transactionNotFound,
          resultDesc: 'The transaction receipt number does not exist.',
          transactionId: receipt ?? '',
        });
      }
      const [debit, credit] =
        transaction.kind === 'stk'
          ? [`${transaction.phone} - Simulated Customer`, `${transaction.shortcode} - Simulated Business`]
          : [`${transaction.shortcode} - Simulated Business`, `${transaction.phone} - Simulated Customer`];
      return resultBody({
        ...base,
        resultCode: 0,
        resultDesc: 'The service request is processed successfully.',
        transactionId: transaction.receipt,
        parameters: [
          { Key: 'DebitPartyName', Value: debit },
          { Key: 'CreditPartyName', Value: credit },
          { Key: 'Originator Conversation ID', Value: transaction.originatorConversationId ?? '' },
          { Key: 'InitiatedTime', Value: Number(nairobiTimestamp(this.now())) },
          { Key: 'DebitAccountType', Value: 'Utility Account' },
          { Key: 'DebitPartyCharges' },
          { Key: 'TransactionReason' },
          {
            Key: 'ReasonType',
            Value: transaction.kind === 'stk' ? 'Pay Bill Online' : 'Business Payment to Customer via API',
          },
          { Key: 'TransactionStatus', Value: transaction.reversed ? 'Reversed' : 'Completed' },
          { Key: 'FinalisedTime', Value: Number(nairobiTimestamp(this.now())) },
          { Key: 'Amount', Value: formatCents(transaction.cents) },
          { Key: 'ConversationID', Value: conversationId },
          { Key: 'ReceiptNo', Value: transaction.receipt },
        ],
      });
    };
    return this.answer({ kind: 'succeed' }, this.accepted(originatorConversationId, conversationId), {
      kind: 'transaction_status',
      id: originatorConversationId,
      url: request.resultUrl,
      body: complete,
      delayMs: this.resultDelayMs,
    });
  }

  async accountBalance(
    credentials: MpesaCredentials,
    request: AccountBalanceRequest,
  ): Promise<ProviderResult<InitiatorAccepted>> {
    const refused = this.refuse(credentials, checkAccountBalance(request));
    if (refused) return refused;
    const originatorConversationId = `${this.next()}-${randomDigits(8)}-1`;
    const conversationId = this.conversationId();
    const complete = (): unknown => {
      const float = formatCents(this.floatOf(credentials.shortcode));
      return resultBody({
        resultCode: 0,
        resultDesc: 'The service request is processed successfully.',
        originatorConversationId,
        conversationId,
        transactionId: randomReceipt(),
        queueTimeoutUrl: request.queueTimeoutUrl ?? request.resultUrl,
        parameters: [
          {
            Key: 'AccountBalance',
            Value: `Working Account|KES|${float}|${float}|0.00|0.00&Float Account|KES|0.00|0.00|0.00|0.00&Utility Account|KES|${float}|${float}|0.00|0.00&Charges Paid Account|KES|0.00|0.00|0.00|0.00`,
          },
          { Key: 'BOCompletedTime', Value: Number(nairobiTimestamp(this.now())) },
        ],
      });
    };
    return this.answer({ kind: 'succeed' }, this.accepted(originatorConversationId, conversationId), {
      kind: 'account_balance',
      id: originatorConversationId,
      url: request.resultUrl,
      body: complete,
      delayMs: this.resultDelayMs,
    });
  }

  async reversal(
    credentials: MpesaCredentials,
    request: ReversalRequest,
  ): Promise<ProviderResult<InitiatorAccepted>> {
    const refused = this.refuse(credentials, checkReversal(request));
    if (refused) return refused;
    const behaviour = magicBehaviour('', BigInt(wholeShillings(request.amount)));
    const originatorConversationId = `${this.next()}-${randomDigits(8)}-1`;
    const conversationId = this.conversationId();
    const accepted = this.accepted(originatorConversationId, conversationId);
    if (behaviour.kind === 'never_call_back') return accepted;
    const complete = (): unknown => {
      const transaction = this.transactions.get(request.transactionId);
      let resultCode = behaviour.kind === 'fail' ? behaviour.resultCode : 0;
      let resultDesc = RESULT_DESCRIPTIONS[resultCode] ?? 'Failed.';
      const shortcode = credentials.shortcode;
      if (resultCode === 0) {
        if (!transaction || transaction.shortcode !== shortcode) {
          resultCode = SIMULATOR_RESULT_CODES.transactionNotFound;
          resultDesc = 'The transaction receipt number does not exist.';
        } else if (transaction.reversed) {
          resultCode = SIMULATOR_RESULT_CODES.alreadyReversed;
          resultDesc = 'The transaction has already been reversed.';
        } else if (request.amount > transaction.cents) {
          resultCode = SIMULATOR_RESULT_CODES.reversalTooLarge;
          resultDesc = 'The reversal amount is more than the transaction amount.';
        } else if (transaction.kind === 'stk' && this.floatOf(shortcode) < request.amount) {
          resultCode = 1;
          resultDesc = RESULT_DESCRIPTIONS[1] ?? '';
        }
      }
      if (resultCode === 0 && transaction) {
        transaction.reversed = true;
        const delta = transaction.kind === 'stk' ? 0n - request.amount : request.amount;
        this.floats.set(shortcode, this.floatOf(shortcode) + delta);
      }
      return resultBody({
        resultCode,
        resultDesc,
        originatorConversationId,
        conversationId,
        transactionId: resultCode === 0 ? randomReceipt() : request.transactionId,
        queueTimeoutUrl: request.queueTimeoutUrl ?? request.resultUrl,
      });
    };
    return this.answer(behaviour, accepted, {
      kind: 'reversal',
      id: originatorConversationId,
      url: request.resultUrl,
      body: complete,
      delayMs: this.resultDelayMs,
    });
  }

  /** A collection that succeeded: money into the shortcode's float, a receipt to reverse or query. */
  private collect(shortcode: string, request: StkPushRequest): Transaction {
    this.floats.set(shortcode, this.floatOf(shortcode) + request.amount);
    return this.record({ kind: 'stk', shortcode, cents: request.amount, phone: request.phone });
  }

  private record(fields: Omit<Transaction, 'receipt' | 'reversed' | 'completedAt'>): Transaction {
    const stamp = nairobiTimestamp(this.now());
    const completedAt = `${stamp.slice(6, 8)}.${stamp.slice(4, 6)}.${stamp.slice(0, 4)} ${stamp.slice(8, 10)}:${stamp.slice(10, 12)}:${stamp.slice(12, 14)}`;
    const transaction: Transaction = { ...fields, receipt: randomReceipt(), reversed: false, completedAt };
    this.transactions.set(transaction.receipt, transaction);
    return transaction;
  }

  /** Sandbox-like refusals: empty credentials, bad fields, too many callbacks waiting. */
  private refuse(
    credentials: MpesaCredentials,
    problems: readonly RequestProblem[],
  ): ProviderResult<never> | undefined {
    if (credentials.consumerKey.length === 0 || credentials.consumerSecret.length === 0) {
      return failed({
        kind: 'unauthorized',
        providerCode: '400.008.01',
        message: 'Invalid Authentication passed',
      });
    }
    if (credentials.shortcode.length === 0) {
      return failed({
        kind: 'rejected',
        providerCode: '400.002.02',
        message: 'Bad Request - Invalid BusinessShortCode',
        field: 'shortcode',
      });
    }
    const problem = problems[0];
    if (problem) {
      return failed({
        kind: 'rejected',
        providerCode: 'invalid_request',
        message: problem.reason,
        field: problem.field,
      });
    }
    if (!this.sender.hasRoom(this.copies)) {
      return failed({
        kind: 'unavailable',
        message: 'The simulator has too many callbacks pending',
        mayHaveHappened: false,
      });
    }
    return undefined;
  }

  /** Schedules (or, with the fault, first delivers) the callback, then answers. */
  private async answer<Value>(
    behaviour: MagicBehaviour,
    accepted: ProviderResult<Value>,
    job: { kind: string; id: string; url: string; body: () => unknown; delayMs: number },
  ): Promise<ProviderResult<Value>> {
    // A lost callback still completes the transaction (the body is built), but is never posted;
    // it is kept, so a chaos test can deliver it late (withheldCallback).
    const lost = behaviour.kind === 'lose_callback';
    const copies = lost ? 0 : this.copies;
    const body = lost
      ? (): unknown => {
          const built = job.body();
          this.withheld.set(job.id, built);
          return built;
        }
      : job.body;
    const callback = { kind: job.kind, id: job.id, url: job.url, body, copies };
    if (this.callbackBeforeAnswer) await this.sender.deliverNow(callback);
    else this.sender.schedule(job.delayMs, callback);
    if (this.answerTimeout && MONEY_MOVING.has(job.kind)) {
      return failed({
        kind: 'unavailable',
        message: `Daraja: no answer within ${String(DARAJA_REQUEST_TIMEOUT_MS)} ms (simulated timeout)`,
        mayHaveHappened: true,
      });
    }
    if (behaviour.kind === 'lose_answer') {
      return failed({
        kind: 'unavailable',
        message: 'Daraja: no answer (simulated timeout)',
        mayHaveHappened: true,
      });
    }
    return accepted;
  }

  private accepted(
    originatorConversationId: string,
    conversationId: string,
  ): ProviderResult<InitiatorAccepted> {
    return succeeded({
      originatorConversationId,
      conversationId,
      description: 'Accept the service request successfully.',
    });
  }

  private conversationId(): string {
    return `AG_${nairobiTimestamp(this.now()).slice(0, 8)}_${randomBytes(10).toString('hex')}`;
  }

  private next(): number {
    this.sequence += 1;
    return this.sequence;
  }
}

const RECEIPT_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const RECEIPT_LENGTH = 10;

/** A receipt shaped like Safaricom's (`LGR7OWQX0R`): ten upper-case letters and digits. */
function randomReceipt(): string {
  const bytes = randomBytes(RECEIPT_LENGTH);
  let receipt = 'S';
  for (let index = 1; index < RECEIPT_LENGTH; index += 1) {
    receipt += RECEIPT_ALPHABET[(bytes[index] ?? 0) % RECEIPT_ALPHABET.length] ?? 'X';
  }
  return receipt;
}

function randomDigits(count: number): string {
  const bytes = randomBytes(count);
  let digits = '';
  for (let index = 0; index < count; index += 1) digits += String((bytes[index] ?? 0) % 10);
  return digits;
}

function formatCents(cents: bigint): string {
  const negative = cents < 0n;
  const absolute = negative ? -cents : cents;
  return `${negative ? '-' : ''}${absolute / CENTS}.${String(absolute % CENTS).padStart(2, '0')}`;
}
