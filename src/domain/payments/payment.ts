/**
 * A payment (`pay_…`): one M-Pesa collection, one M-Pesa payout or one card payment, from
 * intent to settlement. One stream per payment, so a callback, a status query, a fraud review
 * and a reversal of the same payment are decided one after the other by one writer: a
 * duplicate callback finds the payment already settled, a second reversal finds the first.
 *
 * The provider is never called from here (DESIGN: the intent is stored first, the provider's
 * answer comes back as a new command), and the fraud score arrives already computed.
 */
import { accept, refuse, unreachable, type Decision } from '../decider.js';
import { canonicalJson } from '../canonicalJson.js';
import { formatAmount, isAmountProblem, parseAmount } from '../ledger/money.js';
import type { ErrorCode } from '../errors.js';

export const PAYMENT_KINDS = ['mpesa_collection', 'mpesa_payout', 'card_payment'] as const;
export type PaymentKind = (typeof PAYMENT_KINDS)[number];
export type PaymentProvider = 'mpesa' | 'stripe';

export const PAYMENT_STATUSES = [
  'held',
  'initiated',
  'pending',
  'succeeded',
  'failed',
  'cancelled',
  'blocked',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

const TERMINAL: ReadonlySet<PaymentStatus> = new Set(['succeeded', 'failed', 'cancelled', 'blocked']);

export interface PaymentIntent {
  readonly paymentId: string;
  readonly kind: PaymentKind;
  readonly provider: PaymentProvider;
  readonly customerId: string | null;
  /** A decimal string in `currency`, at most `scale` decimals. */
  readonly amount: string;
  readonly currency: string;
  readonly scale: number;
  /** The phone number (M-Pesa) or payment method id (cards) money comes from or goes to. */
  readonly counterparty: string;
  readonly reference: string;
  readonly description: string;
  /** The payout batch this payment belongs to, if any. */
  readonly batchId: string | null;
}

export interface FraudVerdict {
  readonly score: number;
  readonly decision: 'allow' | 'review' | 'block';
  readonly rules: readonly { readonly rule: string; readonly points: number; readonly reason: string }[];
}

export type SettlementResult =
  | {
      readonly outcome: 'succeeded';
      /** The provider's receipt (M-Pesa receipt number, card charge id). */
      readonly receipt: string;
      readonly transferId: string | null;
    }
  | { readonly outcome: 'failed'; readonly resultCode: string; readonly resultText: string };

export type PaymentEvent =
  | {
      readonly type: 'PaymentInitiated';
      readonly data: PaymentIntent & { fraud: FraudVerdict; status: PaymentStatus };
    }
  | {
      readonly type: 'FraudAlertRaised';
      readonly data: {
        paymentId: string;
        alertId: string;
        customerId: string | null;
        counterparty: string;
        score: number;
        rules: FraudVerdict['rules'];
      };
    }
  | { readonly type: 'PaymentBlocked'; readonly data: { paymentId: string; score: number; reason: string } }
  | {
      readonly type: 'FraudReviewed';
      readonly data: {
        paymentId: string;
        alertId: string;
        outcome: 'released' | 'cancelled';
        notes: string;
        reviewerId: string;
      };
    }
  | {
      readonly type: 'PaymentSubmitted';
      /**
       * `providerRef` is null when the provider's answer was lost and the request may have
       * happened (its reference is unknown); a later PaymentSubmitted names it once learned.
       */
      readonly data: { paymentId: string; providerRef: string | null };
    }
  | {
      /**
       * The provider is about to be asked to move the money (written before the call, so a
       * crash during the call leaves a record that it may have happened). One per payment: a
       * second writer (another node, a restart) finds it and never calls the provider again;
       * the outcome is then learnt from the answer, a callback or a status query.
       */
      readonly type: 'ProviderRequestStarted';
      readonly data: {
        paymentId: string;
        /** The id the provider deduplicates by (M-Pesa's OriginatorConversationID). */
        requestRef: string;
        /** True when the background resumer sends it after the process that started it died. */
        resumed: boolean;
      };
    }
  | {
      readonly type: 'PaymentSucceeded';
      readonly data: {
        paymentId: string;
        providerRef: string | null;
        receipt: string;
        amount: string;
        transferId: string | null;
      };
    }
  | {
      readonly type: 'PaymentFailed';
      readonly data: {
        paymentId: string;
        providerRef: string | null;
        resultCode: string;
        resultText: string;
      };
    }
  | { readonly type: 'PaymentCancelled'; readonly data: { paymentId: string; reason: string } }
  /**
   * M-Pesa's receipt for a collection settled before it was known (an STK status query names
   * none, so the checkout id stood in): a reversal is asked by this receipt.
   */
  | { readonly type: 'PaymentReceiptRecorded'; readonly data: { paymentId: string; receipt: string } }
  | {
      readonly type: 'ProviderCallbackReceived';
      readonly data: { paymentId: string; providerRef: string | null; duplicate: boolean; body: object };
    }
  | {
      readonly type: 'ProviderStatusQueried';
      readonly data: {
        paymentId: string;
        /** Set when the ask was about one of the payment's reversals or refunds, not the payment. */
        reversalId?: string;
        outcome: 'pending' | 'succeeded' | 'failed';
        resultCode: string;
        resultText: string;
      };
    }
  | {
      readonly type: 'ReversalRequested';
      readonly data: { paymentId: string; reversalId: string; amount: string; reason: string };
    }
  | {
      readonly type: 'ReversalSucceeded';
      readonly data: {
        paymentId: string;
        reversalId: string;
        amount: string;
        transferId: string | null;
        providerRef: string | null;
      };
    }
  | {
      readonly type: 'ReversalFailed';
      readonly data: { paymentId: string; reversalId: string; resultCode: string; resultText: string };
    }
  | {
      readonly type: 'ReconciliationAlertRaised';
      readonly data: {
        paymentId: string;
        alertId: string;
        kind: ReconciliationKind;
        /** Set when the alert is about one of the payment's reversals or refunds. */
        reversalId?: string;
        /** The payment's amount, or the reversal's when `reversalId` is set. */
        amount: string;
        currency: string;
        /** The ledger transfer that recorded the money late, when one could be posted. */
        transferId: string | null;
        detail: string;
      };
    }
  /**
   * A person looked into an alert and closed it: `acknowledged` (handled outside, e.g. posted
   * by hand), or, for an unanswered reversal, what the provider's statement showed — the
   * reversal's result is recorded just before (ReversalFailed / ReversalSucceeded).
   */
  | {
      readonly type: 'ReconciliationAlertResolved';
      readonly data: {
        paymentId: string;
        alertId: string;
        resolution: AlertResolution;
        note: string;
        resolvedBy: string;
      };
    };

/**
 * Where the books and the provider may disagree, for a person to check:
 * - `payout_settled_after_expiry`: the provider paid a payout after its reservation expired;
 *   the ledger recorded it late with a fresh transfer (`transferId`);
 * - `payout_unposted`: the provider paid it but the ledger could not record it (float short);
 * - `outcome_unresolved`: the provider was asked the bounded number of times and never said
 *   (about the payment, or with `reversalId` about one of its reversals or refunds);
 * - `card_succeeded_after_failure`: a card payment recorded failed was charged after all (its
 *   PaymentIntent confirmed again after a decline); the sale was posted then (`transferId`).
 */
export const RECONCILIATION_KINDS = [
  'payout_settled_after_expiry',
  'payout_unposted',
  'outcome_unresolved',
  'card_succeeded_after_failure',
] as const;
export type ReconciliationKind = (typeof RECONCILIATION_KINDS)[number];

/**
 * How a person closes a reconciliation alert: `acknowledged` for any; for an
 * `outcome_unresolved` alert about a reversal still requested, what the provider's statement
 * shows — `reversal_failed` (nothing was returned: the payment may be reversed again) or
 * `reversal_succeeded` (it was: the ledger posts the opposite transfer).
 */
export const ALERT_RESOLUTIONS = ['acknowledged', 'reversal_failed', 'reversal_succeeded'] as const;
export type AlertResolution = (typeof ALERT_RESOLUTIONS)[number];

export interface AlertState {
  readonly alertId: string;
  readonly kind: ReconciliationKind;
  readonly reversalId: string | null;
  readonly resolution: AlertResolution | null;
}

export type ReversalStatus = 'requested' | 'succeeded' | 'failed';

export interface ReversalState {
  readonly reversalId: string;
  /** Minor units. */
  readonly amount: bigint;
  readonly status: ReversalStatus;
  /** How many times the provider was asked about this reversal's outcome. */
  readonly statusQueries: number;
}

export interface PaymentState {
  readonly intent: PaymentIntent | null;
  readonly status: PaymentStatus | null;
  readonly fraud: FraudVerdict | null;
  readonly alertId: string | null;
  readonly providerRef: string | null;
  readonly receipt: string | null;
  readonly transferId: string | null;
  /** Reversals (M-Pesa: at most one) and refunds (cards: partial, up to what was captured). */
  readonly reversals: readonly ReversalState[];
  /**
   * Reconciliation alerts raised, by `reconciliationKey` (each kind at most once per payment,
   * and once per reversal for alerts about a reversal).
   */
  readonly reconciliation: readonly string[];
  /** The same alerts by id, with how each was resolved (null while open). */
  readonly alerts: readonly AlertState[];
  /** How many times the provider was asked about the payment's outcome. */
  readonly statusQueries: number;
  /**
   * The callbacks recorded (canonical JSON of their summaries): the request side and the
   * callback side may both apply the same callback when they race; it is recorded once.
   */
  readonly callbacks: readonly string[];
}

export const initialPaymentState: PaymentState = {
  intent: null,
  status: null,
  fraud: null,
  alertId: null,
  providerRef: null,
  receipt: null,
  transferId: null,
  reversals: [],
  reconciliation: [],
  alerts: [],
  statusQueries: 0,
  callbacks: [],
};

export type PaymentCommand =
  | {
      readonly type: 'InitiatePayment';
      readonly intent: PaymentIntent;
      readonly fraud: FraudVerdict;
      /** Used when the verdict holds the payment for review. */
      readonly alertId: string;
    }
  /** A null reference: the provider may have taken the request, but its answer was lost. */
  | { readonly type: 'RecordSubmission'; readonly providerRef: string | null }
  | { readonly type: 'StartProviderRequest'; readonly requestRef: string; readonly resumed: boolean }
  | { readonly type: 'RecordCallback'; readonly providerRef: string | null; readonly body: object }
  | {
      readonly type: 'Settle';
      readonly result: SettlementResult;
      /** `ledger`: the ledger refused the reservation before the provider was asked. */
      readonly via: 'callback' | 'query' | 'provider' | 'ledger';
      /**
       * The processor says a payment recorded failed succeeded after all: a card PaymentIntent
       * declined once and confirmed again. Money was taken, so the success stands over the
       * failure. Without it, every terminal status is final.
       */
      readonly afterFailure?: boolean;
    }
  /** A receipt M-Pesa named after the payment succeeded without one (see PaymentReceiptRecorded). */
  | { readonly type: 'RecordReceipt'; readonly receipt: string }
  | {
      readonly type: 'RecordStatusQuery';
      /** The reversal or refund asked about; absent for the payment itself. */
      readonly reversalId?: string;
      readonly outcome: 'pending' | 'succeeded' | 'failed';
      readonly resultCode: string;
      readonly resultText: string;
    }
  | {
      readonly type: 'ReviewFraud';
      readonly outcome: 'released' | 'cancelled';
      readonly notes: string;
      readonly reviewerId: string;
    }
  | { readonly type: 'Cancel'; readonly reason: string }
  | {
      readonly type: 'RaiseReconciliationAlert';
      readonly alertId: string;
      readonly kind: ReconciliationKind;
      /** The reversal or refund the alert is about; absent for the payment itself. */
      readonly reversalId?: string;
      readonly transferId: string | null;
      readonly detail: string;
    }
  | {
      readonly type: 'ResolveReconciliationAlert';
      readonly alertId: string;
      readonly resolution: AlertResolution;
      readonly note: string;
      /** The member who resolved it. */
      readonly resolvedBy: string;
    }
  | {
      readonly type: 'RequestReversal';
      readonly reversalId: string;
      /** Null for the whole (remaining) amount. */
      readonly amount: string | null;
      readonly reason: string;
      /** M-Pesa reversals happen at most once; card refunds may be partial, up to what remains. */
      readonly partialAllowed: boolean;
    }
  | {
      readonly type: 'RecordReversalResult';
      readonly reversalId: string;
      readonly result:
        | {
            readonly outcome: 'succeeded';
            readonly transferId: string | null;
            readonly providerRef: string | null;
          }
        | { readonly outcome: 'failed'; readonly resultCode: string; readonly resultText: string };
    };

export interface PaymentResult {
  readonly paymentId: string;
  readonly status: PaymentStatus;
  /** False when the command found its work already done (a duplicate callback, a retried request). */
  readonly changed: boolean;
  readonly reversalId?: string;
  readonly reversalAmount?: string;
}

type D = Decision<PaymentEvent, PaymentResult>;

function units(amount: string, scale: number): bigint {
  const parsed = parseAmount(amount, scale);
  // Amounts in events were checked before they were stored; a bad one here is a bug.
  if (isAmountProblem(parsed)) throw new Error(`stored amount ${amount} is invalid: ${parsed.reason}`);
  return parsed;
}

export function evolvePayment(state: PaymentState, event: PaymentEvent): PaymentState {
  switch (event.type) {
    case 'PaymentInitiated': {
      const { fraud, status, ...intent } = event.data;
      return { ...state, intent, fraud, status };
    }
    case 'FraudAlertRaised':
      return { ...state, alertId: event.data.alertId, status: 'held' };
    case 'PaymentBlocked':
      return { ...state, status: 'blocked' };
    case 'FraudReviewed':
      return { ...state, status: event.data.outcome === 'released' ? 'initiated' : state.status };
    case 'PaymentSubmitted':
      return { ...state, status: 'pending', providerRef: event.data.providerRef ?? state.providerRef };
    case 'ProviderRequestStarted':
      // In the provider's hands, maybe: from here only its answer or a status query settles it.
      return { ...state, status: 'pending' };
    case 'ReconciliationAlertRaised':
      return {
        ...state,
        reconciliation: [...state.reconciliation, reconciliationKey(event.data.kind, event.data.reversalId)],
        alerts: [
          ...state.alerts,
          {
            alertId: event.data.alertId,
            kind: event.data.kind,
            reversalId: event.data.reversalId ?? null,
            resolution: null,
          },
        ],
      };
    case 'ReconciliationAlertResolved':
      return {
        ...state,
        alerts: state.alerts.map((alert) =>
          alert.alertId === event.data.alertId ? { ...alert, resolution: event.data.resolution } : alert,
        ),
      };
    case 'PaymentSucceeded':
      return {
        ...state,
        status: 'succeeded',
        receipt: event.data.receipt,
        transferId: event.data.transferId,
        providerRef: event.data.providerRef ?? state.providerRef,
      };
    case 'PaymentFailed':
      return { ...state, status: 'failed', providerRef: event.data.providerRef ?? state.providerRef };
    case 'PaymentCancelled':
      return { ...state, status: 'cancelled' };
    case 'PaymentReceiptRecorded':
      return { ...state, receipt: event.data.receipt };
    case 'ProviderCallbackReceived':
      return {
        ...state,
        callbacks: [...state.callbacks, callbackKey(event.data.providerRef, event.data.body)],
      };
    case 'ProviderStatusQueried': {
      const reversalId = event.data.reversalId;
      if (reversalId === undefined) return { ...state, statusQueries: state.statusQueries + 1 };
      return {
        ...state,
        reversals: state.reversals.map((reversal) =>
          reversal.reversalId === reversalId
            ? { ...reversal, statusQueries: reversal.statusQueries + 1 }
            : reversal,
        ),
      };
    }
    case 'ReversalRequested': {
      const scale = state.intent?.scale ?? 0;
      return {
        ...state,
        reversals: [
          ...state.reversals,
          {
            reversalId: event.data.reversalId,
            amount: units(event.data.amount, scale),
            status: 'requested',
            statusQueries: 0,
          },
        ],
      };
    }
    case 'ReversalSucceeded':
    case 'ReversalFailed': {
      const status: ReversalStatus = event.type === 'ReversalSucceeded' ? 'succeeded' : 'failed';
      return {
        ...state,
        reversals: state.reversals.map((reversal) =>
          reversal.reversalId === event.data.reversalId ? { ...reversal, status } : reversal,
        ),
      };
    }
    default:
      return unreachable(event);
  }
}

/**
 * True while a succeeded payment's receipt is only the stand-in its provider reference gave (an
 * M-Pesa collection settled by a status query, which names no receipt), or none at all.
 */
export function receiptUnknown(state: PaymentState): boolean {
  return state.receipt === null || state.receipt === state.providerRef;
}

/** How a raised alert is remembered: its kind, and the reversal it is about when it is. */
export function reconciliationKey(kind: ReconciliationKind, reversalId: string | undefined): string {
  return reversalId === undefined ? kind : `${kind}:${reversalId}`;
}

function callbackKey(providerRef: string | null, body: object): string {
  return canonicalJson({ providerRef, body });
}

function sameIntent(a: PaymentIntent, b: PaymentIntent): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function result(
  state: PaymentState,
  status: PaymentStatus,
  changed: boolean,
  extra: Partial<PaymentResult> = {},
): PaymentResult {
  return { paymentId: state.intent?.paymentId ?? '', status, changed, ...extra };
}

/** What is left to reverse or refund: the amount less every reversal not known to have failed. */
export function reversibleUnits(state: PaymentState): bigint {
  if (!state.intent) return 0n;
  const taken = state.reversals
    .filter((reversal) => reversal.status !== 'failed')
    .reduce((sum, reversal) => sum + reversal.amount, 0n);
  return units(state.intent.amount, state.intent.scale) - taken;
}

function initiate(command: Extract<PaymentCommand, { type: 'InitiatePayment' }>, state: PaymentState): D {
  if (state.intent) {
    // The same request again answers as the first did; the same id for another payment is refused.
    if (sameIntent(state.intent, command.intent))
      return accept([], result(state, state.status ?? 'initiated', false));
    return refuse(
      'ID_REUSED',
      `Payment id ${command.intent.paymentId} was already used for another payment.`,
      {
        paymentId: command.intent.paymentId,
      },
    );
  }
  const intent = command.intent;
  const { fraud } = command;
  const status: PaymentStatus =
    fraud.decision === 'block' ? 'blocked' : fraud.decision === 'review' ? 'held' : 'initiated';
  const events: PaymentEvent[] = [
    { type: 'PaymentInitiated', data: { ...intent, fraud, status: 'initiated' } },
  ];
  if (status === 'held') {
    events.push({
      type: 'FraudAlertRaised',
      data: {
        paymentId: intent.paymentId,
        alertId: command.alertId,
        customerId: intent.customerId,
        counterparty: intent.counterparty,
        score: fraud.score,
        rules: fraud.rules,
      },
    });
  }
  if (status === 'blocked') {
    events.push({
      type: 'PaymentBlocked',
      data: {
        paymentId: intent.paymentId,
        score: fraud.score,
        reason: fraud.rules.map((rule) => rule.reason).join(' '),
      },
    });
  }
  return accept(events, { paymentId: intent.paymentId, status, changed: true });
}

/**
 * Only a succeeded payment still known by its stand-in (the provider's reference) learns its
 * receipt; a real receipt is never replaced, and the stand-in is not one.
 */
function recordReceipt(state: PaymentState, intent: PaymentIntent, receipt: string): D {
  if (
    state.status !== 'succeeded' ||
    !receiptUnknown(state) ||
    receipt === '' ||
    receipt === state.receipt ||
    receipt === state.providerRef
  )
    return accept([], result(state, state.status ?? 'initiated', false));
  return accept(
    [{ type: 'PaymentReceiptRecorded', data: { paymentId: intent.paymentId, receipt } }],
    result(state, 'succeeded', true),
  );
}

function settle(
  command: Extract<PaymentCommand, { type: 'Settle' }>,
  state: PaymentState,
  intent: PaymentIntent,
): D {
  const status = state.status ?? 'initiated';
  const overturnsFailure =
    status === 'failed' && command.afterFailure === true && command.result.outcome === 'succeeded';
  // A success that finds an M-Pesa collection succeeded already may still name its receipt: the
  // callback that raced the status query which settled it (a query names none). Nothing else
  // changes. (Card payments and payouts are known by their receipt from the first answer.)
  if (
    status === 'succeeded' &&
    command.result.outcome === 'succeeded' &&
    intent.kind === 'mpesa_collection'
  ) {
    return recordReceipt(state, intent, command.result.receipt);
  }
  // A second answer about a settled payment (a duplicate callback, a late query) changes nothing.
  if (TERMINAL.has(status) && !overturnsFailure) return accept([], result(state, status, false));
  // A refused reservation fails only a payment not sent yet: another writer may have sent it.
  if (command.via === 'ledger' && status !== 'initiated') return accept([], result(state, status, false));
  if (status === 'held') {
    return refuse(
      'INVALID_STATE',
      'The payment is held for fraud review and was never sent to the provider.',
    );
  }
  if (command.result.outcome === 'succeeded') {
    return accept(
      [
        {
          type: 'PaymentSucceeded',
          data: {
            paymentId: intent.paymentId,
            providerRef: state.providerRef,
            receipt: command.result.receipt,
            amount: intent.amount,
            transferId: command.result.transferId,
          },
        },
      ],
      result(state, 'succeeded', true),
    );
  }
  return accept(
    [
      {
        type: 'PaymentFailed',
        data: {
          paymentId: intent.paymentId,
          providerRef: state.providerRef,
          resultCode: command.result.resultCode,
          resultText: command.result.resultText,
        },
      },
    ],
    result(state, 'failed', true),
  );
}

/**
 * What `resolution` needs of the alert (see ALERT_RESOLUTIONS), and of its reversal: a result
 * the flow recorded just before, the same as the resolution says. Resolving again the same way
 * changes nothing; another way is refused.
 */
export function resolutionProblem(
  state: PaymentState,
  alertId: string,
  resolution: AlertResolution,
): { code: ErrorCode; message: string } | null {
  const alert = state.alerts.find((candidate) => candidate.alertId === alertId);
  if (!alert) return { code: 'NOT_FOUND', message: 'No such reconciliation alert.' };
  if (alert.resolution !== null && alert.resolution !== resolution)
    return { code: 'INVALID_STATE', message: `The alert is already resolved (${alert.resolution}).` };
  if (resolution === 'acknowledged') return null;
  const reversal = state.reversals.find((candidate) => candidate.reversalId === alert.reversalId);
  if (alert.kind !== 'outcome_unresolved' || !reversal)
    return {
      code: 'INVALID_STATE',
      message: `${resolution} closes an outcome_unresolved alert about a reversal; this one is ${alert.kind}${alert.reversalId === null ? ' about the payment' : ''}. Acknowledge it instead.`,
    };
  return null;
}

function resolveAlert(
  command: Extract<PaymentCommand, { type: 'ResolveReconciliationAlert' }>,
  state: PaymentState,
  intent: PaymentIntent,
): D {
  const status = state.status ?? 'initiated';
  const problem = resolutionProblem(state, command.alertId, command.resolution);
  if (problem) return refuse(problem.code, problem.message, { alertId: command.alertId });
  const alert = state.alerts.find((candidate) => candidate.alertId === command.alertId);
  if (alert?.resolution === command.resolution) return accept([], result(state, status, false));
  if (command.resolution !== 'acknowledged') {
    const wanted: ReversalStatus = command.resolution === 'reversal_failed' ? 'failed' : 'succeeded';
    const reversal = state.reversals.find((candidate) => candidate.reversalId === alert?.reversalId);
    if (reversal?.status !== wanted)
      return refuse('INVALID_STATE', `The reversal is ${String(reversal?.status)}, not ${wanted}.`, {
        alertId: command.alertId,
      });
  }
  return accept(
    [
      {
        type: 'ReconciliationAlertResolved',
        data: {
          paymentId: intent.paymentId,
          alertId: command.alertId,
          resolution: command.resolution,
          note: command.note,
          resolvedBy: command.resolvedBy,
        },
      },
    ],
    result(state, status, true),
  );
}

function requestReversal(
  command: Extract<PaymentCommand, { type: 'RequestReversal' }>,
  state: PaymentState,
  intent: PaymentIntent,
): D {
  const status = state.status ?? 'initiated';
  const earlier = state.reversals.find((reversal) => reversal.reversalId === command.reversalId);
  if (earlier) {
    return accept(
      [],
      result(state, status, false, {
        reversalId: earlier.reversalId,
        reversalAmount: formatAmount(earlier.amount, intent.scale),
      }),
    );
  }
  if (status !== 'succeeded') {
    return refuse('INVALID_STATE', `Only a succeeded payment can be reversed; this one is ${status}.`, {
      status,
    });
  }
  const live = state.reversals.filter((reversal) => reversal.status !== 'failed');
  if (!command.partialAllowed && live.length > 0) {
    return refuse('ALREADY_REVERSED', 'This payment has already been reversed.', {
      reversalId: live[0]?.reversalId ?? null,
    });
  }
  const remaining = reversibleUnits(state);
  if (remaining <= 0n) return refuse('ALREADY_REVERSED', 'Nothing of this payment is left to refund.');
  let amount = remaining;
  if (command.amount !== null) {
    const asked = parseAmount(command.amount, intent.scale);
    if (isAmountProblem(asked)) {
      return refuse('VALIDATION_FAILED', `amount ${asked.reason}`, { field: 'amount' });
    }
    if (asked > remaining) {
      return refuse(
        'INVALID_STATE',
        `Only ${formatAmount(remaining, intent.scale)} ${intent.currency} is left to refund.`,
        {
          remaining: formatAmount(remaining, intent.scale),
        },
      );
    }
    if (!command.partialAllowed && asked !== remaining) {
      return refuse('VALIDATION_FAILED', 'amount: this payment can only be reversed in full', {
        field: 'amount',
      });
    }
    amount = asked;
  }
  const text = formatAmount(amount, intent.scale);
  return accept(
    [
      {
        type: 'ReversalRequested',
        data: {
          paymentId: intent.paymentId,
          reversalId: command.reversalId,
          amount: text,
          reason: command.reason,
        },
      },
    ],
    result(state, status, true, { reversalId: command.reversalId, reversalAmount: text }),
  );
}

export function decidePayment(command: PaymentCommand, state: PaymentState): D {
  if (command.type === 'InitiatePayment') return initiate(command, state);
  const intent = state.intent;
  if (!intent) return refuse('NOT_FOUND', 'No such payment.');
  const status = state.status ?? 'initiated';
  switch (command.type) {
    case 'RecordSubmission': {
      // A pending payment whose reference was unknown (its answer was lost) learns it once.
      const learnsRef = status === 'pending' && state.providerRef === null && command.providerRef !== null;
      if (status !== 'initiated' && !learnsRef) return accept([], result(state, status, false));
      return accept(
        [
          {
            type: 'PaymentSubmitted',
            data: { paymentId: intent.paymentId, providerRef: command.providerRef },
          },
        ],
        result(state, 'pending', true),
      );
    }
    case 'StartProviderRequest':
      // Only an initiated payment is sent, once: anything else (already started, held, settled)
      // answers unchanged and the caller must not call the provider.
      if (status !== 'initiated') return accept([], result(state, status, false));
      return accept(
        [
          {
            type: 'ProviderRequestStarted',
            data: { paymentId: intent.paymentId, requestRef: command.requestRef, resumed: command.resumed },
          },
        ],
        result(state, 'pending', true),
      );
    case 'RaiseReconciliationAlert': {
      if (state.reconciliation.includes(reconciliationKey(command.kind, command.reversalId)))
        return accept([], result(state, status, false));
      const about =
        command.reversalId === undefined
          ? null
          : state.reversals.find((reversal) => reversal.reversalId === command.reversalId);
      if (about === undefined)
        return refuse('NOT_FOUND', 'No such reversal.', { reversalId: command.reversalId ?? null });
      return accept(
        [
          {
            type: 'ReconciliationAlertRaised',
            data: {
              paymentId: intent.paymentId,
              alertId: command.alertId,
              kind: command.kind,
              ...(about === null ? {} : { reversalId: about.reversalId }),
              amount: about === null ? intent.amount : formatAmount(about.amount, intent.scale),
              currency: intent.currency,
              transferId: command.transferId,
              detail: command.detail,
            },
          },
        ],
        result(state, status, true),
      );
    }
    case 'ResolveReconciliationAlert':
      return resolveAlert(command, state, intent);
    case 'RecordCallback':
      if (state.callbacks.includes(callbackKey(command.providerRef, command.body)))
        return accept([], result(state, status, false));
      return accept(
        [
          {
            type: 'ProviderCallbackReceived',
            data: {
              paymentId: intent.paymentId,
              providerRef: command.providerRef,
              duplicate: TERMINAL.has(status),
              body: command.body,
            },
          },
        ],
        result(state, status, true),
      );
    case 'Settle':
      return settle(command, state, intent);
    case 'RecordReceipt':
      return recordReceipt(state, intent, command.receipt);
    case 'RecordStatusQuery':
      if (
        command.reversalId !== undefined &&
        !state.reversals.some((reversal) => reversal.reversalId === command.reversalId)
      )
        return refuse('NOT_FOUND', 'No such reversal.', { reversalId: command.reversalId });
      return accept(
        [
          {
            type: 'ProviderStatusQueried',
            data: {
              paymentId: intent.paymentId,
              ...(command.reversalId === undefined ? {} : { reversalId: command.reversalId }),
              outcome: command.outcome,
              resultCode: command.resultCode,
              resultText: command.resultText,
            },
          },
        ],
        result(state, status, true),
      );
    case 'ReviewFraud':
      if (status !== 'held' || state.alertId === null) {
        return refuse('INVALID_STATE', `Only a held payment can be reviewed; this one is ${status}.`, {
          status,
        });
      }
      return accept(
        [
          {
            type: 'FraudReviewed',
            data: {
              paymentId: intent.paymentId,
              alertId: state.alertId,
              outcome: command.outcome,
              notes: command.notes,
              reviewerId: command.reviewerId,
            },
          },
          ...(command.outcome === 'cancelled'
            ? [
                {
                  type: 'PaymentCancelled' as const,
                  data: {
                    paymentId: intent.paymentId,
                    reason: `Cancelled in fraud review: ${command.notes}`,
                  },
                },
              ]
            : []),
        ],
        result(state, command.outcome === 'released' ? 'initiated' : 'cancelled', true),
      );
    case 'Cancel':
      if (TERMINAL.has(status)) return accept([], result(state, status, false));
      if (status === 'pending') {
        return refuse('INVALID_STATE', 'The provider already has this payment; wait for its result.');
      }
      return accept(
        [{ type: 'PaymentCancelled', data: { paymentId: intent.paymentId, reason: command.reason } }],
        result(state, 'cancelled', true),
      );
    case 'RequestReversal':
      return requestReversal(command, state, intent);
    case 'RecordReversalResult': {
      const reversal = state.reversals.find((candidate) => candidate.reversalId === command.reversalId);
      if (!reversal) return refuse('NOT_FOUND', 'No such reversal.', { reversalId: command.reversalId });
      if (reversal.status !== 'requested')
        return accept([], result(state, status, false, { reversalId: reversal.reversalId }));
      const amount = formatAmount(reversal.amount, intent.scale);
      const event: PaymentEvent =
        command.result.outcome === 'succeeded'
          ? {
              type: 'ReversalSucceeded',
              data: {
                paymentId: intent.paymentId,
                reversalId: reversal.reversalId,
                amount,
                transferId: command.result.transferId,
                providerRef: command.result.providerRef,
              },
            }
          : {
              type: 'ReversalFailed',
              data: {
                paymentId: intent.paymentId,
                reversalId: reversal.reversalId,
                resultCode: command.result.resultCode,
                resultText: command.result.resultText,
              },
            };
      return accept(
        [event],
        result(state, status, true, { reversalId: reversal.reversalId, reversalAmount: amount }),
      );
    }
    default:
      return unreachable(command);
  }
}

export const paymentDecider = { initialState: initialPaymentState, evolve: evolvePayment };
