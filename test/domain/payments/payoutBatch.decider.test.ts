/**
 * The payout batch: created once per id, and — when its caller cancels while it is being sent —
 * the payouts not sent recorded as cancelled, only payouts of the batch, each once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cancelUnsentPayouts,
  decidePayoutBatch,
  evolvePayoutBatch,
  initialPayoutBatchState,
  markDispatched,
  recordResumeFailure,
  type PayoutBatchCreatedData,
  type PayoutBatchEvent,
  type PayoutBatchState,
} from '../../../src/domain/payments/payoutBatch.js';

const ITEMS = ['pay_1', 'pay_2', 'pay_3', 'pay_4'].map((paymentId, index) => ({
  paymentId,
  phone: `25471100000${index}`,
  amount: '100',
  reference: `r-${index}`,
}));
const BATCH: PayoutBatchCreatedData = {
  batchId: 'b-1',
  currency: 'KES',
  total: '400.00',
  fingerprint: 'f-1',
  items: ITEMS,
};

function apply(state: PayoutBatchState, events: readonly PayoutBatchEvent[]): PayoutBatchState {
  return events.reduce(evolvePayoutBatch, state);
}

function created(): PayoutBatchState {
  const decision = decidePayoutBatch(BATCH, initialPayoutBatchState);
  if (!decision.ok) throw decision.error;
  return apply(initialPayoutBatchState, decision.events);
}

describe('payout batch', () => {
  it('refuses to cancel payouts of a batch that does not exist, or that are not the batch’s', () => {
    const none = cancelUnsentPayouts(['pay_1'], 'cancelled', initialPayoutBatchState);
    expect(none.ok ? null : none.error.code).toBe('NOT_FOUND');
    const stranger = cancelUnsentPayouts(['pay_1', 'pay_9'], 'cancelled', created());
    expect(stranger.ok ? null : stranger.error.code).toBe('VALIDATION_FAILED');
  });

  it('records the unsent payouts once, and a retry of the batch answers them', () => {
    const state = created();
    const first = cancelUnsentPayouts(['pay_3', 'pay_4'], 'the caller cancelled', state);
    expect(first.ok && first.events).toEqual([
      {
        type: 'PayoutBatchCancelled',
        data: { batchId: 'b-1', notSent: ['pay_3', 'pay_4'], reason: 'the caller cancelled' },
      },
    ]);
    const after = apply(state, first.ok ? first.events : []);
    const again = cancelUnsentPayouts(['pay_4'], 'again', after);
    expect(again.ok && again.events).toEqual([]);
    const retry = decidePayoutBatch(BATCH, after);
    expect(retry.ok && retry.events).toEqual([]);
    expect(retry.ok && [...retry.result.notSent].sort()).toEqual(['pay_3', 'pay_4']);
    expect(retry.ok && retry.result.created).toBe(false);
  });

  it('ends with exactly the union of what was cancelled, whatever the order of cancellations', () => {
    fc.assert(
      fc.property(fc.array(fc.subarray(ITEMS.map((item) => item.paymentId)), { maxLength: 5 }), (rounds) => {
        let state = created();
        for (const round of rounds) {
          const decision = cancelUnsentPayouts(round, 'cancelled', state);
          expect(decision.ok).toBe(true);
          if (decision.ok) state = apply(state, decision.events);
        }
        expect([...state.notSent].sort()).toEqual([...new Set(rounds.flat())].sort());
        expect(state.created).toEqual(BATCH);
      }),
    );
  });
});

describe('dispatching a batch', () => {
  it('never dispatches an abandoned batch, whoever asks, and dispatches a cancelled one once', () => {
    // A round that loaded the batch before another node's round abandoned it.
    const abandoned = recordResumeFailure('INTERNAL', 1, created());
    if (!abandoned.ok) throw abandoned.error;
    const stuck = apply(created(), abandoned.events);
    expect(stuck.abandoned).toBe(true);
    for (const by of ['run', 'resumer'] as const) {
      const decision = markDispatched(by, stuck);
      if (!decision.ok) throw decision.error;
      expect(decision.events).toEqual([]);
      expect(decision.result).toEqual({ changed: false, abandoned: true });
    }
    // A cancelled batch is dispatched once its payouts under way are handed on.
    const cancelled = cancelUnsentPayouts(['pay_3', 'pay_4'], 'cancelled', created());
    if (!cancelled.ok) throw cancelled.error;
    const state = apply(created(), cancelled.events);
    const first = markDispatched('run', state);
    if (!first.ok) throw first.error;
    expect(first.events.map((event) => event.type)).toEqual(['PayoutBatchDispatched']);
    const again = markDispatched('resumer', apply(state, first.events));
    if (!again.ok) throw again.error;
    expect(again.events).toEqual([]);
  });
});

describe('cancelling a batch a resumer is sending', () => {
  it('never records as not sent a payout whose provider request was already recorded', () => {
    fc.assert(
      fc.property(
        fc.subarray(ITEMS.map((item) => item.paymentId)),
        fc.subarray(ITEMS.map((item) => item.paymentId)),
        (unsent, started) => {
          const decision = cancelUnsentPayouts(unsent, 'cancelled', created(), new Set(started));
          if (!decision.ok) throw decision.error;
          const state = apply(created(), decision.events);
          expect([...state.notSent].sort()).toEqual(unsent.filter((id) => !started.includes(id)).sort());
        },
      ),
    );
  });
});
