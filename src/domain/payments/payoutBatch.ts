/**
 * A bulk payout batch (`mpesa_bulk_payment`): its id is the caller's, unique in the
 * organization forever. The batch stream only fixes which payments the batch is made of; each
 * payout is then its own payment, reserved, sent and settled on its own stream. A caller who
 * cancels while the batch is being sent (MCP cancellation) stops it between payouts: the
 * payouts not sent by then are recorded as cancelled on the batch, and are never sent.
 *
 * Once every payout has been handed on (sent, refused, held for review or cancelled), the
 * batch is dispatched. A batch still not dispatched long after it was created was cut short
 * (its process died): the background resumer sends what was never sent (`planResume`).
 */
import { accept, refuse, type Decision } from '../decider.js';
import type { PaymentStatus } from './payment.js';

export interface PayoutItem {
  readonly paymentId: string;
  readonly phone: string;
  readonly amount: string;
  readonly reference: string;
}

export interface PayoutBatchCreatedData {
  batchId: string;
  currency: string;
  total: string;
  /** Canonical fingerprint of the request, so a retry is told apart from a reused id. */
  fingerprint: string;
  items: PayoutItem[];
  /** The caller's remarks, each payout's description (absent on batches stored before). */
  remarks?: string;
}

export type PayoutBatchEvent =
  | { readonly type: 'PayoutBatchCreated'; readonly data: PayoutBatchCreatedData }
  | {
      readonly type: 'PayoutBatchCancelled';
      readonly data: {
        batchId: string;
        /** The payments of the batch that were never sent, and never will be. */
        notSent: string[];
        reason: string;
      };
    }
  | {
      readonly type: 'PayoutBatchDispatched';
      readonly data: {
        batchId: string;
        /** `run`: the batch's own request; `resumer`: the background resumer, after the run died. */
        by: 'run' | 'resumer';
      };
    }
  | {
      readonly type: 'PayoutBatchResumeFailed';
      readonly data: {
        batchId: string;
        /** How many rounds of the resumer have failed on this batch, this one included. */
        attempt: number;
        /** The error's registry code (never its details: they may name anything). */
        reason: string;
        /** The last attempt: the batch is left for a person, the resumer looks at it no more. */
        abandoned: boolean;
      };
    };

export interface PayoutBatchState {
  readonly created: PayoutBatchCreatedData | null;
  /** Payment ids of the batch that were cancelled before they were sent. */
  readonly notSent: ReadonlySet<string>;
  /** Every payout was handed on: nothing of the batch is left to send. */
  readonly dispatched: boolean;
  /** Rounds of the resumer that failed on the batch; abandoned after the last one allowed. */
  readonly resumeFailures: number;
  readonly abandoned: boolean;
}

export const initialPayoutBatchState: PayoutBatchState = {
  created: null,
  notSent: new Set(),
  dispatched: false,
  resumeFailures: 0,
  abandoned: false,
};

export function evolvePayoutBatch(state: PayoutBatchState, event: PayoutBatchEvent): PayoutBatchState {
  switch (event.type) {
    case 'PayoutBatchCreated':
      return { ...state, created: event.data };
    case 'PayoutBatchCancelled':
      return { ...state, notSent: new Set([...state.notSent, ...event.data.notSent]) };
    case 'PayoutBatchDispatched':
      return { ...state, dispatched: true };
    case 'PayoutBatchResumeFailed':
      return { ...state, resumeFailures: event.data.attempt, abandoned: event.data.abandoned };
  }
}

export function decidePayoutBatch(
  batch: PayoutBatchCreatedData,
  state: PayoutBatchState,
): Decision<
  PayoutBatchEvent,
  { batch: PayoutBatchCreatedData; created: boolean; notSent: ReadonlySet<string> }
> {
  if (state.created) {
    if (state.created.fingerprint === batch.fingerprint)
      return accept([], { batch: state.created, created: false, notSent: state.notSent });
    return refuse('ID_REUSED', `Batch id ${batch.batchId} was already used for another batch.`, {
      batchId: batch.batchId,
    });
  }
  return accept([{ type: 'PayoutBatchCreated', data: batch }], { batch, created: true, notSent: new Set() });
}

/**
 * Records that these payments of the batch were not sent because the caller cancelled —
 * leaving out those `started` (a provider request recorded: a resumer sent it after all), so
 * a payout M-Pesa may pay is never answered as cancelled.
 */
export function cancelUnsentPayouts(
  notSent: readonly string[],
  reason: string,
  state: PayoutBatchState,
  started: ReadonlySet<string> = new Set(),
): Decision<PayoutBatchEvent, { notSent: ReadonlySet<string> }> {
  const batch = state.created;
  if (!batch) return refuse('NOT_FOUND', 'No such payout batch.');
  const members = new Set(batch.items.map((item) => item.paymentId));
  const stranger = notSent.find((paymentId) => !members.has(paymentId));
  if (stranger !== undefined) {
    return refuse('VALIDATION_FAILED', `Payment ${stranger} is not part of batch ${batch.batchId}.`, {
      paymentId: stranger,
    });
  }
  const fresh = notSent.filter((paymentId) => !state.notSent.has(paymentId) && !started.has(paymentId));
  if (fresh.length === 0) return accept([], { notSent: state.notSent });
  return accept(
    [{ type: 'PayoutBatchCancelled', data: { batchId: batch.batchId, notSent: fresh, reason } }],
    {
      notSent: new Set([...state.notSent, ...fresh]),
    },
  );
}

/**
 * Records that the batch is fully handed on, once: every payout not cancelled was sent,
 * refused, held or settled (a cancelled batch too: its payouts under way must still be
 * handed on or failed). An abandoned batch is a person's now: it is never dispatched, even by
 * a round that loaded it before it was abandoned (this decision runs on the latest state).
 */
export function markDispatched(
  by: 'run' | 'resumer',
  state: PayoutBatchState,
): Decision<PayoutBatchEvent, { changed: boolean; abandoned: boolean }> {
  const batch = state.created;
  if (!batch) return refuse('NOT_FOUND', 'No such payout batch.');
  if (state.abandoned) return accept([], { changed: false, abandoned: true });
  if (state.dispatched) return accept([], { changed: false, abandoned: false });
  return accept([{ type: 'PayoutBatchDispatched', data: { batchId: batch.batchId, by } }], {
    changed: true,
    abandoned: false,
  });
}

/**
 * Records a failed round of the resumer on the batch; the `attemptsMax`-th abandons it (left
 * for a person), so a batch that can never be resumed (its credentials gone, say) does not
 * take a place in every round forever.
 */
export function recordResumeFailure(
  reason: string,
  attemptsMax: number,
  state: PayoutBatchState,
): Decision<PayoutBatchEvent, { abandoned: boolean }> {
  const batch = state.created;
  if (!batch) return refuse('NOT_FOUND', 'No such payout batch.');
  if (state.dispatched || state.abandoned) {
    return accept([], { abandoned: state.abandoned });
  }
  const attempt = state.resumeFailures + 1;
  const abandoned = attempt >= attemptsMax;
  return accept(
    [{ type: 'PayoutBatchResumeFailed', data: { batchId: batch.batchId, attempt, reason, abandoned } }],
    {
      abandoned,
    },
  );
}

/**
 * Where one payout of the batch stands, as its own stream and its provider reference say:
 * `absent` (never initiated), its status, and whether a provider request is recorded for it
 * (a request linked to its reference: written just before the provider is called).
 */
export interface PayoutProgress {
  readonly status: 'absent' | PaymentStatus;
  readonly requestRecorded: boolean;
}

export interface ResumePlan {
  /** Never initiated: initiate (fraud-scored), then send. */
  readonly initiate: readonly PayoutItem[];
  /** Initiated and never sent: send. */
  readonly send: readonly string[];
  /**
   * Initiated, with a provider request recorded but no answer: it may have reached the
   * provider, so it is never sent again — it is marked as submitted and settled by the
   * status query of the resolver.
   */
  readonly inDoubt: readonly string[];
  /**
   * Of a cancelled batch, initiated (perhaps reserved) and never sent — a worker had taken it
   * when the run died: failed and its reservation voided, never sent after the cancellation.
   */
  readonly fail: readonly string[];
  /** Of a cancelled batch, taken by a worker and never initiated: recorded as not sent. */
  readonly unsent: readonly string[];
}

export const EMPTY_PLAN: ResumePlan = { initiate: [], send: [], inDoubt: [], fail: [], unsent: [] };

/**
 * What resuming a cut-short batch does, payout by payout. A dispatched or abandoned batch
 * resumes nothing. Of a cancelled batch, the payouts recorded as not sent are skipped, and
 * nothing more is sent: those a worker had taken are failed (initiated) or recorded as not
 * sent (never initiated), those whose request may have reached M-Pesa go to the status query
 * as in any batch. Held payouts wait for their fraud review; pending and settled ones are
 * past the point of sending (their outcome comes from the provider or the resolver).
 */
export function planResume(
  state: PayoutBatchState,
  progress: (paymentId: string) => PayoutProgress,
): ResumePlan {
  const batch = state.created;
  if (!batch || state.dispatched || state.abandoned) return EMPTY_PLAN;
  const cancelled = state.notSent.size > 0;
  const initiate: PayoutItem[] = [];
  const send: string[] = [];
  const inDoubt: string[] = [];
  const fail: string[] = [];
  const unsent: string[] = [];
  for (const item of batch.items) {
    if (state.notSent.has(item.paymentId)) continue;
    const payout = progress(item.paymentId);
    if (payout.status === 'absent') {
      if (cancelled) unsent.push(item.paymentId);
      else initiate.push(item);
    } else if (payout.status !== 'initiated') continue;
    else if (payout.requestRecorded) inDoubt.push(item.paymentId);
    else (cancelled ? fail : send).push(item.paymentId);
  }
  return { initiate, send, inDoubt, fail, unsent };
}

export const payoutBatchDecider = { initialState: initialPayoutBatchState, evolve: evolvePayoutBatch };
