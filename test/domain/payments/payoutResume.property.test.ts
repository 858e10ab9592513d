/**
 * Resuming a cut-short payout batch (planResume), against the real payment decider: a batch
 * run dies at any point of any payout; the plan then sends exactly the payouts never sent,
 * never one whose provider request was recorded (those go to the status query), nothing of a
 * dispatched or abandoned batch; of a cancelled batch it skips exactly the payouts recorded as
 * not sent and sends nothing, failing those a worker had initiated and recording those it had
 * not as not sent — and however many resumers carry the plan out at once, each
 * payout's provider request is recorded once, after which nothing is left to resume.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decidePayment,
  evolvePayment,
  initialPaymentState,
  type FraudVerdict,
  type PaymentCommand,
  type PaymentEvent,
  type PaymentIntent,
  type PaymentState,
} from '../../../src/domain/payments/payment.js';
import {
  evolvePayoutBatch,
  initialPayoutBatchState,
  planResume,
  type PayoutBatchCreatedData,
  type PayoutBatchState,
  type PayoutProgress,
} from '../../../src/domain/payments/payoutBatch.js';

/** How far a payout got before its run died. */
const STEPS = [
  'absent',
  'initiated',
  'held',
  'blocked',
  'legacy_linked',
  'request_started',
  'submitted',
  'succeeded',
  'failed',
] as const;
type Step = (typeof STEPS)[number];

const ALLOW: FraudVerdict = { score: 0, decision: 'allow', rules: [] };

function intentOf(paymentId: string): PaymentIntent {
  return {
    paymentId,
    kind: 'mpesa_payout',
    provider: 'mpesa',
    customerId: null,
    amount: '100.00',
    currency: 'KES',
    scale: 2,
    counterparty: '254711000000',
    reference: paymentId,
    description: 'Payout',
    batchId: 'b-1',
  };
}

interface Payout {
  state: PaymentState;
  /** A provider request linked to its reference (what runs before the marker wrote). */
  linked: boolean;
  started: number;
}

function run(payout: Payout, command: PaymentCommand): boolean {
  const decision = decidePayment(command, payout.state);
  if (!decision.ok) return false;
  payout.state = decision.events.reduce<PaymentState>(evolvePayment, payout.state);
  payout.started += decision.events.filter(
    (event: PaymentEvent) => event.type === 'ProviderRequestStarted',
  ).length;
  return decision.events.length > 0;
}

function reach(paymentId: string, step: Step): Payout {
  const payout: Payout = { state: initialPaymentState, linked: false, started: 0 };
  if (step === 'absent') return payout;
  const decision: FraudVerdict['decision'] =
    step === 'held' ? 'review' : step === 'blocked' ? 'block' : 'allow';
  run(payout, {
    type: 'InitiatePayment',
    intent: intentOf(paymentId),
    fraud: { ...ALLOW, decision },
    alertId: `fra_${paymentId}`,
  });
  if (step === 'legacy_linked') payout.linked = true;
  if (step === 'request_started' || step === 'submitted' || step === 'succeeded' || step === 'failed') {
    run(payout, { type: 'StartProviderRequest', requestRef: paymentId, resumed: false });
  }
  if (step === 'submitted') run(payout, { type: 'RecordSubmission', providerRef: `conv_${paymentId}` });
  if (step === 'succeeded' || step === 'failed') {
    run(payout, {
      type: 'Settle',
      via: 'callback',
      result:
        step === 'succeeded'
          ? { outcome: 'succeeded', receipt: 'R1', transferId: paymentId }
          : { outcome: 'failed', resultCode: '1', resultText: 'refused' },
    });
  }
  return payout;
}

function progressOf(payout: Payout | undefined): PayoutProgress {
  if (!payout?.state.intent) return { status: 'absent', requestRecorded: false };
  return { status: payout.state.status ?? 'initiated', requestRecorded: payout.linked };
}

/** What a resumer does with the plan, on the payments' own decider. */
function carryOut(payouts: Map<string, Payout>, plan: ReturnType<typeof planResume>): void {
  for (const paymentId of plan.inDoubt) {
    const payout = payouts.get(paymentId);
    if (payout) run(payout, { type: 'RecordSubmission', providerRef: paymentId });
  }
  for (const item of plan.initiate) {
    const payout = payouts.get(item.paymentId) ?? { state: initialPaymentState, linked: false, started: 0 };
    payouts.set(item.paymentId, payout);
    run(payout, {
      type: 'InitiatePayment',
      intent: intentOf(item.paymentId),
      fraud: ALLOW,
      alertId: `fra_${item.paymentId}`,
    });
  }
  for (const paymentId of plan.fail) {
    const payout = payouts.get(paymentId);
    const failed = { outcome: 'failed', resultCode: 'CANCELLED', resultText: 'cancelled' } as const;
    if (payout) run(payout, { type: 'Settle', via: 'ledger', result: failed });
  }
  for (const paymentId of [...plan.send, ...plan.initiate.map((item) => item.paymentId)]) {
    const payout = payouts.get(paymentId);
    if (payout) run(payout, { type: 'StartProviderRequest', requestRef: paymentId, resumed: true });
  }
}

const arbitraryRun = fc.record({
  steps: fc.array(fc.constantFrom(...STEPS), { minLength: 1, maxLength: 12 }),
  ending: fc.constantFrom('died', 'cancelled', 'dispatched', 'abandoned'),
  /** How many of the never-initiated payouts (from the end) the cancellation recorded. */
  cancelledTail: fc.nat({ max: 12 }),
  resumers: fc.integer({ min: 1, max: 3 }),
});

function batchOf(
  count: number,
  ending: 'died' | 'cancelled' | 'dispatched' | 'abandoned',
  unsent: string[],
): PayoutBatchState {
  const items = Array.from({ length: count }, (_, index) => ({
    paymentId: `pay_${index}`,
    phone: '254711000000',
    amount: '100.00',
    reference: `r-${index}`,
  }));
  const created: PayoutBatchCreatedData = {
    batchId: 'b-1',
    currency: 'KES',
    total: `${count * 100}.00`,
    fingerprint: 'f',
    items,
    remarks: 'Payout',
  };
  let state = evolvePayoutBatch(initialPayoutBatchState, { type: 'PayoutBatchCreated', data: created });
  if (ending === 'cancelled' && unsent.length > 0) {
    state = evolvePayoutBatch(state, {
      type: 'PayoutBatchCancelled',
      data: { batchId: 'b-1', notSent: unsent, reason: 'cancelled' },
    });
  }
  if (ending === 'abandoned') {
    state = evolvePayoutBatch(state, {
      type: 'PayoutBatchResumeFailed',
      data: { batchId: 'b-1', attempt: 1, reason: 'INTERNAL', abandoned: true },
    });
  }
  if (ending === 'dispatched') {
    state = evolvePayoutBatch(state, { type: 'PayoutBatchDispatched', data: { batchId: 'b-1', by: 'run' } });
  }
  return state;
}

describe('resuming a cut-short payout batch', () => {
  it('sends exactly the payouts never sent, each once however many resumers, and then nothing', () => {
    fc.assert(
      fc.property(arbitraryRun, ({ steps, ending, resumers, cancelledTail }) => {
        const payouts = new Map<string, Payout>();
        steps.forEach((step, index) => {
          if (step !== 'absent') payouts.set(`pay_${index}`, reach(`pay_${index}`, step));
        });
        // The cancellation names only payouts never taken; workers may have taken others (any
        // step, never initiated included) when the run died.
        const absent = steps.flatMap((step, index) => (step === 'absent' ? [`pay_${index}`] : []));
        const unsent = absent.slice(absent.length - Math.min(cancelledTail, absent.length));
        const batch = batchOf(steps.length, ending, unsent);
        const isCancelled = ending === 'cancelled' && unsent.length > 0;
        const startedBefore = new Map([...payouts].map(([id, payout]) => [id, payout.started]));
        const plan = planResume(batch, (id) => progressOf(payouts.get(id)));

        const planned = [...plan.initiate.map((item) => item.paymentId), ...plan.send, ...plan.inDoubt];
        expect(new Set(planned).size).toBe(planned.length);
        if (ending === 'dispatched' || ending === 'abandoned') {
          // A dispatched or abandoned batch resumes nothing.
          expect([...planned, ...plan.fail, ...plan.unsent]).toEqual([]);
          return;
        }
        if (isCancelled) {
          // Nothing of a cancelled batch is sent or initiated.
          expect([...plan.initiate, ...plan.send]).toEqual([]);
        } else {
          expect([...plan.fail, ...plan.unsent]).toEqual([]);
        }
        steps.forEach((step, index) => {
          const id = `pay_${index}`;
          const expected =
            unsent.includes(id) && isCancelled
              ? 'none'
              : step === 'absent'
                ? isCancelled
                  ? 'unsent'
                  : 'initiate'
                : step === 'initiated'
                  ? isCancelled
                    ? 'fail'
                    : 'send'
                  : step === 'legacy_linked'
                    ? 'inDoubt'
                    : 'none';
          const actual = plan.initiate.some((item) => item.paymentId === id)
            ? 'initiate'
            : plan.send.includes(id)
              ? 'send'
              : plan.inDoubt.includes(id)
                ? 'inDoubt'
                : plan.fail.includes(id)
                  ? 'fail'
                  : plan.unsent.includes(id)
                    ? 'unsent'
                    : 'none';
          expect(actual, `${id} after ${step}`).toBe(expected);
        });

        // Several resumers carry out the same plan (two nodes, a restart): one request each.
        for (let resumer = 0; resumer < resumers; resumer += 1) carryOut(payouts, plan);
        const after = isCancelled
          ? evolvePayoutBatch(batch, {
              type: 'PayoutBatchCancelled',
              data: { batchId: 'b-1', notSent: [...plan.unsent], reason: 'resumer' },
            })
          : batch;
        steps.forEach((step, index) => {
          const id = `pay_${index}`;
          const started = payouts.get(id)?.started ?? 0;
          const fresh = !isCancelled && (step === 'absent' || step === 'initiated') ? 1 : 0;
          // Recorded before (or possibly sent by a run that linked it): never a second request.
          expect(started, `${id} after ${step}`).toBe((startedBefore.get(id) ?? 0) + fresh);
        });
        expect(planResume(after, (id) => progressOf(payouts.get(id)))).toEqual({
          initiate: [],
          send: [],
          inDoubt: [],
          fail: [],
          unsent: [],
        });
      }),
      { numRuns: 300 },
    );
  });
});
