/**
 * A bulk payout batch (`mpesa_bulk_payment`): its id is the caller's, unique in the
 * organization forever. The batch stream only fixes which payments the batch is made of; each
 * payout is then its own payment, reserved, sent and settled on its own stream. A caller who
 * cancels while the batch is being sent (MCP cancellation) stops it between payouts: the
 * payouts not sent by then are recorded as cancelled on the batch, and are never sent.
 */
import { accept, refuse, type Decision } from '../decider.js';

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
    };

export interface PayoutBatchState {
  readonly created: PayoutBatchCreatedData | null;
  /** Payment ids of the batch that were cancelled before they were sent. */
  readonly notSent: ReadonlySet<string>;
}

export const initialPayoutBatchState: PayoutBatchState = { created: null, notSent: new Set() };

export function evolvePayoutBatch(state: PayoutBatchState, event: PayoutBatchEvent): PayoutBatchState {
  switch (event.type) {
    case 'PayoutBatchCreated':
      return { ...state, created: event.data };
    case 'PayoutBatchCancelled':
      return { ...state, notSent: new Set([...state.notSent, ...event.data.notSent]) };
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

/** Records that these payments of the batch were not sent because the caller cancelled. */
export function cancelUnsentPayouts(
  notSent: readonly string[],
  reason: string,
  state: PayoutBatchState,
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
  const fresh = notSent.filter((paymentId) => !state.notSent.has(paymentId));
  if (fresh.length === 0) return accept([], { notSent: state.notSent });
  return accept(
    [{ type: 'PayoutBatchCancelled', data: { batchId: batch.batchId, notSent: fresh, reason } }],
    {
      notSent: new Set([...state.notSent, ...fresh]),
    },
  );
}

export const payoutBatchDecider = { initialState: initialPayoutBatchState, evolve: evolvePayoutBatch };
