import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALERT_RESOLUTIONS,
  decidePayment,
  evolvePayment,
  initialPaymentState,
  receiptUnknown,
  reversibleUnits,
  type FraudVerdict,
  type PaymentCommand,
  type PaymentEvent,
  type PaymentIntent,
  type PaymentState,
} from '../../../src/domain/payments/payment.js';
import {
  decideCustomer,
  evolveCustomer,
  initialCustomerState,
} from '../../../src/domain/customers/customer.js';

const INTENT: PaymentIntent = {
  paymentId: 'pay_1',
  kind: 'mpesa_collection',
  provider: 'mpesa',
  customerId: 'cus_1',
  amount: '1000',
  currency: 'KES',
  scale: 2,
  counterparty: '254712345678',
  reference: 'INV-1',
  description: 'Invoice 1',
  batchId: null,
};
const CARD: PaymentIntent = {
  ...INTENT,
  kind: 'card_payment',
  provider: 'stripe',
  amount: '100.00',
  currency: 'USD',
  counterparty: 'pm_1',
};
const ALLOW: FraudVerdict = { score: 0, decision: 'allow', rules: [] };
const REVIEW: FraudVerdict = {
  score: 60,
  decision: 'review',
  rules: [{ rule: 'unusual_hour', points: 60, reason: 'late' }],
};
const BLOCK: FraudVerdict = {
  score: 90,
  decision: 'block',
  rules: [{ rule: 'repeated_failures', points: 90, reason: 'fails' }],
};

function given(events: readonly PaymentEvent[]): PaymentState {
  return events.reduce(evolvePayment, initialPaymentState);
}

function when(state: PaymentState, command: PaymentCommand) {
  const decision = decidePayment(command, state);
  if (!decision.ok) return { ok: false as const, code: decision.error.code, state };
  return {
    ok: true as const,
    events: decision.events,
    result: decision.result,
    state: decision.events.reduce(evolvePayment, state),
  };
}

function run(commands: readonly PaymentCommand[], start: PaymentState = initialPaymentState): PaymentState {
  return commands.reduce((state, command) => {
    const outcome = when(state, command);
    return outcome.state;
  }, start);
}

const initiate = (intent = INTENT, fraud = ALLOW): PaymentCommand => ({
  type: 'InitiatePayment',
  intent,
  fraud,
  alertId: 'fra_1',
});
const submit: PaymentCommand = { type: 'RecordSubmission', providerRef: 'ws_CO_1' };
const success: PaymentCommand = {
  type: 'Settle',
  via: 'callback',
  result: { outcome: 'succeeded', receipt: 'NLJ7RT61SV', transferId: 'pay_1:collect' },
};
const failure: PaymentCommand = {
  type: 'Settle',
  via: 'callback',
  result: { outcome: 'failed', resultCode: '1032', resultText: 'Request cancelled by user' },
};

describe('payment decider: given / when / then', () => {
  it('initiate → PaymentInitiated with the fraud verdict; the same request again writes nothing; another body is ID_REUSED', () => {
    const first = when(initialPaymentState, initiate());
    expect(first.ok && first.events.map((event) => event.type)).toEqual(['PaymentInitiated']);
    const again = when(first.state, initiate());
    expect(again.ok && again.events).toEqual([]);
    expect(when(first.state, initiate({ ...INTENT, amount: '2000' }))).toMatchObject({
      ok: false,
      code: 'ID_REUSED',
    });
  });

  it('a review verdict holds the payment with FraudAlertRaised; a block verdict records PaymentBlocked', () => {
    const held = when(initialPaymentState, initiate(INTENT, REVIEW));
    expect(held.ok && held.events.map((event) => event.type)).toEqual([
      'PaymentInitiated',
      'FraudAlertRaised',
    ]);
    expect(held.state.status).toBe('held');
    const blocked = when(initialPaymentState, initiate(INTENT, BLOCK));
    expect(blocked.ok && blocked.events.map((event) => event.type)).toEqual([
      'PaymentInitiated',
      'PaymentBlocked',
    ]);
    expect(blocked.state.status).toBe('blocked');
    expect(when(blocked.state, submit).state.status).toBe('blocked');
  });

  it('a held payment cannot settle; review releases it or cancels it, and only a held one can be reviewed', () => {
    const held = run([initiate(INTENT, REVIEW)]);
    expect(when(held, success)).toMatchObject({ ok: false, code: 'INVALID_STATE' });
    const released = when(held, {
      type: 'ReviewFraud',
      outcome: 'released',
      notes: 'known customer',
      reviewerId: 'usr_1',
    });
    expect(released.state.status).toBe('initiated');
    const cancelled = when(held, {
      type: 'ReviewFraud',
      outcome: 'cancelled',
      notes: 'stolen phone',
      reviewerId: 'usr_1',
    });
    expect(cancelled.ok && cancelled.events.map((event) => event.type)).toEqual([
      'FraudReviewed',
      'PaymentCancelled',
    ]);
    expect(
      when(released.state, { type: 'ReviewFraud', outcome: 'released', notes: 'x', reviewerId: 'usr_1' }),
    ).toMatchObject({
      ok: false,
      code: 'INVALID_STATE',
    });
  });

  it('submission → pending; the callback settles it once; a duplicate callback is recorded as a duplicate and changes nothing', () => {
    const pending = run([initiate(), submit]);
    expect(pending.status).toBe('pending');
    const settled = when(pending, success);
    expect(settled.ok && settled.result.changed).toBe(true);
    expect(settled.state.status).toBe('succeeded');
    const duplicate = when(settled.state, success);
    expect(duplicate.ok && duplicate.events).toEqual([]);
    const late = when(settled.state, failure);
    expect(late.ok && late.events).toEqual([]);
    expect(late.state.status).toBe('succeeded');
    const raw = when(settled.state, { type: 'RecordCallback', providerRef: 'ws_CO_1', body: { Body: {} } });
    expect(raw.ok && raw.events[0]).toMatchObject({
      type: 'ProviderCallbackReceived',
      data: { duplicate: true },
    });
  });

  it('a callback that arrives before the submission is recorded still settles the payment', () => {
    const state = run([initiate(), success]);
    expect(state.status).toBe('succeeded');
    expect(when(state, submit).state.status).toBe('succeeded');
  });

  it('an M-Pesa reversal happens at most once and only after success; its result is recorded once', () => {
    expect(
      when(run([initiate(), submit]), {
        type: 'RequestReversal',
        reversalId: 'rev_1',
        amount: null,
        reason: 'r',
        partialAllowed: false,
      }),
    ).toMatchObject({
      ok: false,
      code: 'INVALID_STATE',
    });
    const paid = run([initiate(), submit, success]);
    const reverse: PaymentCommand = {
      type: 'RequestReversal',
      reversalId: 'rev_1',
      amount: null,
      reason: 'duplicate charge',
      partialAllowed: false,
    };
    const first = when(paid, reverse);
    expect(first.ok && first.result.reversalAmount).toBe('1000.00');
    expect(when(first.state, reverse)).toMatchObject({ ok: true, events: [] });
    expect(when(first.state, { ...reverse, reversalId: 'rev_2' })).toMatchObject({
      ok: false,
      code: 'ALREADY_REVERSED',
    });
    expect(when(paid, { ...reverse, amount: '10' })).toMatchObject({ ok: false, code: 'VALIDATION_FAILED' });
    const done = when(first.state, {
      type: 'RecordReversalResult',
      reversalId: 'rev_1',
      result: { outcome: 'succeeded', transferId: 't', providerRef: null },
    });
    expect(done.ok && done.events.map((event) => event.type)).toEqual(['ReversalSucceeded']);
    expect(
      when(done.state, {
        type: 'RecordReversalResult',
        reversalId: 'rev_1',
        result: { outcome: 'failed', resultCode: '1', resultText: 'x' },
      }),
    ).toMatchObject({
      ok: true,
      events: [],
    });
    expect(
      when(done.state, {
        type: 'RecordReversalResult',
        reversalId: 'nope',
        result: { outcome: 'failed', resultCode: '1', resultText: 'x' },
      }),
    ).toMatchObject({
      ok: false,
      code: 'NOT_FOUND',
    });
  });

  it('a failed reversal can be tried again', () => {
    const paid = run([initiate(), submit, success]);
    const failed = run(
      [
        { type: 'RequestReversal', reversalId: 'rev_1', amount: null, reason: 'r', partialAllowed: false },
        {
          type: 'RecordReversalResult',
          reversalId: 'rev_1',
          result: { outcome: 'failed', resultCode: 'R000002', resultText: 'timeout' },
        },
      ],
      paid,
    );
    expect(
      when(failed, {
        type: 'RequestReversal',
        reversalId: 'rev_2',
        amount: null,
        reason: 'r',
        partialAllowed: false,
      }).ok,
    ).toBe(true);
  });

  it('card refunds are partial up to what remains, never more in total', () => {
    const paid = run([initiate(CARD), submit, success]);
    const refund = (reversalId: string, amount: string | null): PaymentCommand => ({
      type: 'RequestReversal',
      reversalId,
      amount,
      reason: 'customer asked',
      partialAllowed: true,
    });
    const first = when(paid, refund('re_1', '30.00'));
    expect(first.ok && first.result.reversalAmount).toBe('30.00');
    expect(when(first.state, refund('re_2', '70.01'))).toMatchObject({ ok: false, code: 'INVALID_STATE' });
    expect(when(first.state, refund('re_2', '0.001'))).toMatchObject({
      ok: false,
      code: 'VALIDATION_FAILED',
    });
    const rest = when(first.state, refund('re_2', null));
    expect(rest.ok && rest.result.reversalAmount).toBe('70.00');
    expect(when(rest.state, refund('re_3', null))).toMatchObject({ ok: false, code: 'ALREADY_REVERSED' });
  });

  it('asks about a reversal count on that reversal only; its unresolved alert is raised once, with its amount', () => {
    const paid = run([initiate(CARD), submit, success]);
    const refunded = run(
      [
        { type: 'RequestReversal', reversalId: 're_1', amount: '30.00', reason: 'r', partialAllowed: true },
        { type: 'RequestReversal', reversalId: 're_2', amount: '20.00', reason: 'r', partialAllowed: true },
      ],
      paid,
    );
    const ask = (reversalId?: string): PaymentCommand => ({
      type: 'RecordStatusQuery',
      ...(reversalId === undefined ? {} : { reversalId }),
      outcome: 'pending',
      resultCode: 'processing',
      resultText: 'x',
    });
    const asked = run([ask('re_1'), ask('re_1'), ask('re_2'), ask()], refunded);
    expect(asked.statusQueries).toBe(1);
    expect(asked.reversals.map((reversal) => reversal.statusQueries)).toEqual([2, 1]);
    expect(when(asked, ask('re_9'))).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    const alert = (reversalId?: string): PaymentCommand => ({
      type: 'RaiseReconciliationAlert',
      alertId: 'rca_1',
      kind: 'outcome_unresolved',
      ...(reversalId === undefined ? {} : { reversalId }),
      transferId: null,
      detail: 'd',
    });
    const first = when(asked, alert('re_1'));
    expect(first.ok && first.events.map((event) => event.data)).toEqual([
      expect.objectContaining({ reversalId: 're_1', amount: '30.00', kind: 'outcome_unresolved' }),
    ]);
    expect(when(first.state, alert('re_1'))).toMatchObject({ ok: true, events: [] });
    // Another reversal, and the payment itself, each get their own alert once.
    const second = when(first.state, alert('re_2'));
    expect(second.ok && second.events.map((event) => event.data)).toEqual([
      expect.objectContaining({ reversalId: 're_2', amount: '20.00' }),
    ]);
    const own = when(second.state, alert());
    expect(own.ok && own.events.map((event) => event.data)).toEqual([
      expect.not.objectContaining({ reversalId: expect.anything() as unknown }),
    ]);
    expect(when(own.state, alert())).toMatchObject({ ok: true, events: [] });
    expect(when(own.state, alert('re_9'))).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });

  it('commands on a payment that does not exist answer NOT_FOUND', () => {
    expect(when(initialPaymentState, success)).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });

  it('cancel works before the provider has the payment, not after', () => {
    expect(when(run([initiate()]), { type: 'Cancel', reason: 'no longer needed' }).state.status).toBe(
      'cancelled',
    );
    expect(when(run([initiate(), submit]), { type: 'Cancel', reason: 'x' })).toMatchObject({
      ok: false,
      code: 'INVALID_STATE',
    });
  });
});

describe('customer decider', () => {
  it('creates once, updates only what changed, refuses an unknown customer', () => {
    const profile = { name: 'Wanjiku', email: null, phone: '254712345678', externalRef: null, metadata: {} };
    const created = decideCustomer(
      { type: 'CreateCustomer', customerId: 'cus_1', profile },
      initialCustomerState,
    );
    expect(created.ok).toBe(true);
    const state = created.ok
      ? created.events.reduce(evolveCustomer, initialCustomerState)
      : initialCustomerState;
    expect(decideCustomer({ type: 'CreateCustomer', customerId: 'cus_1', profile }, state)).toMatchObject({
      ok: false,
    });
    const same = decideCustomer(
      { type: 'UpdateCustomer', customerId: 'cus_1', changes: { name: 'Wanjiku' } },
      state,
    );
    expect(same.ok && same.events).toEqual([]);
    const changed = decideCustomer(
      { type: 'UpdateCustomer', customerId: 'cus_1', changes: { name: 'W. Kamau', email: 'w@example.com' } },
      state,
    );
    expect(changed.ok && changed.events[0]?.data).toEqual({
      customerId: 'cus_1',
      name: 'W. Kamau',
      email: 'w@example.com',
    });
    expect(
      decideCustomer(
        { type: 'UpdateCustomer', customerId: 'cus_2', changes: { name: 'x' } },
        initialCustomerState,
      ),
    ).toMatchObject({ ok: false });
  });
});

const commandArbitrary: fc.Arbitrary<PaymentCommand> = fc.oneof(
  fc.constantFrom<FraudVerdict>(ALLOW, REVIEW, BLOCK).map((fraud) => initiate(CARD, fraud)),
  fc.constant(submit),
  fc.constant(success),
  fc.constant(failure),
  // The processor charged a payment recorded failed after all (a PaymentIntent confirmed again).
  fc.constant<PaymentCommand>({ ...success, afterFailure: true }),
  fc.constant<PaymentCommand>({ type: 'Cancel', reason: 'x' }),
  fc
    .boolean()
    .map((resumed): PaymentCommand => ({ type: 'StartProviderRequest', requestRef: 'pay_1', resumed })),
  fc.constant<PaymentCommand>({
    type: 'Settle',
    via: 'ledger',
    result: { outcome: 'failed', resultCode: 'INSUFFICIENT_FUNDS', resultText: 'x' },
  }),
  fc
    .constantFrom<'released' | 'cancelled'>('released', 'cancelled')
    .map((outcome): PaymentCommand => ({ type: 'ReviewFraud', outcome, notes: 'n', reviewerId: 'usr_1' })),
  fc
    .record({
      id: fc.integer({ min: 1, max: 4 }),
      amount: fc.option(fc.integer({ min: 1, max: 12_000 })),
      partial: fc.boolean(),
    })
    .map(({ id, amount, partial }): PaymentCommand => ({
      type: 'RequestReversal',
      reversalId: `re_${id}`,
      amount: amount === null ? null : (amount / 100).toFixed(2),
      reason: 'r',
      partialAllowed: partial,
    })),
  fc.record({ id: fc.integer({ min: 1, max: 4 }), ok: fc.boolean() }).map(({ id, ok }): PaymentCommand => ({
    type: 'RecordReversalResult',
    reversalId: `re_${id}`,
    result: ok
      ? { outcome: 'succeeded', transferId: null, providerRef: null }
      : { outcome: 'failed', resultCode: '1', resultText: 'x' },
  })),
  fc.option(fc.integer({ min: 1, max: 4 })).map((id): PaymentCommand => ({
    type: 'RecordStatusQuery',
    ...(id === null ? {} : { reversalId: `re_${id}` }),
    outcome: 'pending',
    resultCode: 'processing',
    resultText: 'x',
  })),
  fc.constantFrom(...ALERT_RESOLUTIONS).map((resolution): PaymentCommand => ({
    type: 'ResolveReconciliationAlert',
    alertId: 'rca_1',
    resolution,
    note: 'n',
    resolvedBy: 'usr_1',
  })),
  fc.option(fc.integer({ min: 1, max: 4 })).map((id): PaymentCommand => ({
    type: 'RaiseReconciliationAlert',
    alertId: 'rca_1',
    kind: 'outcome_unresolved',
    ...(id === null ? {} : { reversalId: `re_${id}` }),
    transferId: null,
    detail: 'd',
  })),
);

describe('payment decider: properties', () => {
  it('after any sequence: a settled outcome never changes (but a failure the processor overturns), the refunded total never passes the amount, and at most one non-partial reversal lives', () => {
    fc.assert(
      fc.property(fc.array(commandArbitrary, { maxLength: 25 }), (commands) => {
        let state = initialPaymentState;
        let settled: string | null = null;
        for (const command of commands) {
          state = when(state, command).state;
          const overturned =
            settled === 'failed' &&
            command.type === 'Settle' &&
            command.afterFailure === true &&
            state.status === 'succeeded';
          if (settled !== null && ['succeeded', 'failed', 'cancelled', 'blocked'].includes(settled)) {
            if (!overturned) expect(state.status).toBe(settled);
          }
          settled = state.status;
          expect(reversibleUnits(state)).toBeGreaterThanOrEqual(0n);
          if (state.status !== 'succeeded') expect(state.reversals).toEqual([]);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('raises each unresolved alert at most once per payment and per reversal, and counts asks where they were asked', () => {
    fc.assert(
      fc.property(fc.array(commandArbitrary, { maxLength: 25 }), (commands) => {
        let state = initialPaymentState;
        const raised: string[] = [];
        let paymentAsks = 0;
        for (const command of commands) {
          const outcome = when(state, command);
          for (const event of outcome.ok ? outcome.events : []) {
            if (event.type === 'ReconciliationAlertRaised')
              raised.push(`${event.data.kind}:${event.data.reversalId ?? ''}`);
            if (event.type === 'ProviderStatusQueried' && event.data.reversalId === undefined)
              paymentAsks += 1;
          }
          state = outcome.state;
        }
        expect(new Set(raised).size).toBe(raised.length);
        expect(state.statusQueries).toBe(paymentAsks);
      }),
      { numRuns: 1_000 },
    );
  });

  it('records a provider request at most once, only for an initiated payment, and a refused reservation never fails one already requested', () => {
    fc.assert(
      fc.property(fc.array(commandArbitrary, { maxLength: 25 }), (commands) => {
        let state = initialPaymentState;
        let requested = 0;
        for (const command of commands) {
          const before = state.status;
          const outcome = when(state, command);
          const started = outcome.ok
            ? outcome.events.filter((event) => event.type === 'ProviderRequestStarted').length
            : 0;
          if (started > 0) expect(before).toBe('initiated');
          requested += started;
          if (command.type === 'Settle' && command.via === 'ledger' && before !== 'initiated') {
            expect(outcome.state.status).toBe(before);
          }
          state = outcome.state;
        }
        expect(requested).toBeLessThanOrEqual(1);
      }),
      { numRuns: 1_000 },
    );
  });

  it('replaying the events of any sequence gives the state the decider built', () => {
    fc.assert(
      fc.property(fc.array(commandArbitrary, { maxLength: 25 }), (commands) => {
        let state = initialPaymentState;
        const log: PaymentEvent[] = [];
        for (const command of commands) {
          const outcome = when(state, command);
          if (outcome.ok) log.push(...outcome.events);
          state = outcome.state;
        }
        expect(given(log)).toEqual(state);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('payment decider: a failure the processor overturns', () => {
  const failed = run([initiate(CARD), submit, failure]);
  const charged: PaymentCommand = { ...success, via: 'provider', afterFailure: true };

  it('a failed card payment charged after all succeeds, once', () => {
    expect(failed.status).toBe('failed');
    const outcome = when(failed, charged);
    expect(outcome.ok && outcome.events.map((event) => event.type)).toEqual(['PaymentSucceeded']);
    expect(outcome.state.status).toBe('succeeded');
    const again = when(outcome.state, charged);
    expect(again.ok && again.events).toEqual([]);
  });

  it('a success without afterFailure, and any other settled status, stays as it was', () => {
    expect(when(failed, { ...success, via: 'provider' }).state.status).toBe('failed');
    const cancelled = run([initiate(CARD), { type: 'Cancel', reason: 'x' }]);
    expect(when(cancelled, charged).state.status).toBe(cancelled.status);
    const overturnFailure: PaymentCommand = { ...failure, afterFailure: true };
    const succeeded = run([initiate(CARD), submit, success]);
    expect(when(succeeded, overturnFailure).state.status).toBe('succeeded');
  });
});

describe('payment decider: a receipt M-Pesa names after the payment succeeded', () => {
  // Settled by a status query: the provider's reference stands in for the receipt.
  const queried = run([
    initiate(INTENT),
    submit,
    {
      type: 'Settle',
      via: 'query',
      result: { outcome: 'succeeded', receipt: 'ws_CO_1', transferId: 'pay_1' },
    },
  ]);

  it('is recorded once, for a succeeded payment still known by its stand-in', () => {
    expect(queried.status).toBe('succeeded');
    expect(receiptUnknown(queried)).toBe(true);
    const outcome = when(queried, { type: 'RecordReceipt', receipt: 'NLJ7RT61SV' });
    expect(outcome.ok && outcome.events.map((event) => event.type)).toEqual(['PaymentReceiptRecorded']);
    expect(outcome.state.receipt).toBe('NLJ7RT61SV');
    expect(receiptUnknown(outcome.state)).toBe(false);
    const again = when(outcome.state, { type: 'RecordReceipt', receipt: 'OTHER00001' });
    expect(again.ok && again.events).toEqual([]);
    expect(again.state.receipt).toBe('NLJ7RT61SV');
  });

  it('is recorded by the callback that lost the race to the status query', () => {
    // The callback read the payment before the query settled it; decided again on the fresh
    // state, its success finds the payment succeeded and still brings the receipt.
    const outcome = when(queried, success);
    expect(outcome.ok && outcome.events.map((event) => event.type)).toEqual(['PaymentReceiptRecorded']);
    expect(outcome.state.receipt).toBe('NLJ7RT61SV');
    expect(outcome.state.status).toBe('succeeded');
    const again = when(outcome.state, success);
    expect(again.ok && again.events).toEqual([]);
    const other = when(outcome.state, {
      ...success,
      result: { outcome: 'succeeded', receipt: 'OTHER00001', transferId: 'pay_1' },
    });
    expect(other.ok && other.events).toEqual([]);
  });

  it('takes neither a stand-in nor a failure for a receipt', () => {
    const standIn = when(queried, {
      type: 'Settle',
      via: 'query',
      result: { outcome: 'succeeded', receipt: 'ws_CO_1', transferId: 'pay_1' },
    });
    expect(standIn.ok && standIn.events).toEqual([]);
    const recorded = when(queried, { type: 'RecordReceipt', receipt: 'ws_CO_1' });
    expect(recorded.ok && recorded.events).toEqual([]);
    const failed = when(queried, failure);
    expect(failed.ok && failed.events).toEqual([]);
    expect(failed.state.status).toBe('succeeded');
  });

  it('never replaces a real receipt, and records nothing on a payment not succeeded', () => {
    const called = run([initiate(INTENT), submit, success]);
    expect(when(called, { type: 'RecordReceipt', receipt: 'OTHER00001' }).state.receipt).toBe('NLJ7RT61SV');
    const waiting = run([initiate(INTENT), submit]);
    const outcome = when(waiting, { type: 'RecordReceipt', receipt: 'OTHER00001' });
    expect(outcome.ok && outcome.events).toEqual([]);
  });
});

describe('payment decider: resolving a reconciliation alert', () => {
  const reversalFailed: PaymentCommand = {
    type: 'RecordReversalResult',
    reversalId: 're_1',
    result: { outcome: 'failed', resultCode: 'RESOLVED_BY_PERSON', resultText: 'n' },
  };
  const resolve = (resolution: (typeof ALERT_RESOLUTIONS)[number]): PaymentCommand => ({
    type: 'ResolveReconciliationAlert',
    alertId: 'rca_1',
    resolution,
    note: 'statement checked',
    resolvedBy: 'usr_1',
  });
  const unresolved = run([
    initiate(INTENT),
    submit,
    success,
    { type: 'RequestReversal', reversalId: 're_1', amount: null, reason: 'r', partialAllowed: false },
    {
      type: 'RaiseReconciliationAlert',
      alertId: 'rca_1',
      kind: 'outcome_unresolved',
      reversalId: 're_1',
      transferId: null,
      detail: 'd',
    },
  ]);

  it('records reversal_failed once the reversal is recorded failed, and once only', () => {
    const refused = when(unresolved, resolve('reversal_failed'));
    expect(refused.ok).toBe(false);
    const failed = run([reversalFailed], unresolved);
    const outcome = when(failed, resolve('reversal_failed'));
    expect(outcome.ok && outcome.events.map((event) => event.type)).toEqual(['ReconciliationAlertResolved']);
    expect(outcome.state.alerts).toEqual([
      { alertId: 'rca_1', kind: 'outcome_unresolved', reversalId: 're_1', resolution: 'reversal_failed' },
    ]);
    const again = when(outcome.state, resolve('reversal_failed'));
    expect(again.ok && again.events).toEqual([]);
    expect(when(outcome.state, resolve('acknowledged')).ok).toBe(false);
  });

  it('acknowledges any alert; an unknown alert is NOT_FOUND', () => {
    const outcome = when(unresolved, resolve('acknowledged'));
    expect(outcome.ok && outcome.events.map((event) => event.type)).toEqual(['ReconciliationAlertResolved']);
    const unknown = when(run([initiate(INTENT), submit, success]), resolve('acknowledged'));
    expect(unknown.ok ? null : unknown.code).toBe('NOT_FOUND');
  });
});
