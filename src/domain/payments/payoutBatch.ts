/**
 * A bulk payout batch (`mpesa_bulk_payment`): its id is the caller's, unique in the
 * organization forever. The batch stream only fixes which payments the batch is made of; each
 * payout is then its own payment, reserved, sent and settled on its own stream.
 */
import { accept, refuse, type Decision } from '../decider.js';

export interface PayoutItem {
  readonly paymentId: string;
  readonly phone: string;
  readonly amount: string;
  readonly reference: string;
}

export type PayoutBatchEvent = {
  readonly type: 'PayoutBatchCreated';
  readonly data: {
    batchId: string;
    currency: string;
    total: string;
    /** Canonical fingerprint of the request, so a retry is told apart from a reused id. */
    fingerprint: string;
    items: PayoutItem[];
  };
};

export interface PayoutBatchState {
  readonly created: PayoutBatchEvent['data'] | null;
}

export const initialPayoutBatchState: PayoutBatchState = { created: null };

export function evolvePayoutBatch(_state: PayoutBatchState, event: PayoutBatchEvent): PayoutBatchState {
  return { created: event.data };
}

export function decidePayoutBatch(
  batch: PayoutBatchEvent['data'],
  state: PayoutBatchState,
): Decision<PayoutBatchEvent, { batch: PayoutBatchEvent['data']; created: boolean }> {
  if (state.created) {
    if (state.created.fingerprint === batch.fingerprint)
      return accept([], { batch: state.created, created: false });
    return refuse('ID_REUSED', `Batch id ${batch.batchId} was already used for another batch.`, {
      batchId: batch.batchId,
    });
  }
  return accept([{ type: 'PayoutBatchCreated', data: batch }], { batch, created: true });
}

export const payoutBatchDecider = { initialState: initialPayoutBatchState, evolve: evolvePayoutBatch };
