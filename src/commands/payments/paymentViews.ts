/**
 * A payment as its own stream tells it (authoritative, no projection lag): the decider's state
 * plus what a reader wants and the decider does not keep — why it failed, each refund with its
 * reason and processor reference, and when it started and last changed.
 */
import type { Position } from '../../adapters/eventstore/port.js';
import { READ_PAGE_MAX } from '../../adapters/eventstore/port.js';
import { LedgerlineError } from '../../domain/errors.js';
import { formatAmount } from '../../domain/ledger/money.js';
import {
  evolvePayment,
  initialPaymentState,
  type PaymentEvent,
  type PaymentState,
} from '../../domain/payments/payment.js';
import type { Services } from '../context.js';
import { paymentStream } from './paymentStream.js';

/** Pages of one payment's stream read at most (a payment has a handful of events). */
const PAYMENT_PAGES_MAX = 16;

export interface RefundView {
  readonly refundId: string;
  readonly amount: string;
  readonly status: 'requested' | 'succeeded' | 'failed';
  readonly reason: string;
  readonly providerRef: string | null;
  readonly failure: string | null;
  readonly requestedAt: string;
}

export interface PaymentView {
  readonly state: PaymentState;
  readonly failure: { code: string; message: string } | null;
  readonly refunds: readonly RefundView[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly revision: bigint | null;
  readonly position: Position | null;
}

/** The payment, or NOT_FOUND (another organization's payment is not in this one's streams). */
export async function loadPaymentView(
  services: Services,
  orgId: string,
  paymentId: string,
): Promise<PaymentView> {
  let state = initialPaymentState;
  let failure: PaymentView['failure'] = null;
  const refunds = new Map<string, RefundView>();
  let createdAt = '';
  let updatedAt = '';
  let revision: bigint | null = null;
  let position: Position | null = null;
  const stream = paymentStream(orgId, paymentId);
  let from = 0n;
  for (let page = 0; page < PAYMENT_PAGES_MAX; page += 1) {
    const events = await services.store.readStream(stream, { from, maxCount: READ_PAGE_MAX });
    for (const recorded of events) {
      const event = { type: recorded.type, data: recorded.data } as unknown as PaymentEvent;
      const at = recorded.occurredAt.toISOString();
      state = evolvePayment(state, event);
      if (createdAt === '') createdAt = at;
      updatedAt = at;
      revision = recorded.revision;
      position = recorded.position;
      switch (event.type) {
        case 'PaymentFailed':
          failure = { code: event.data.resultCode, message: event.data.resultText };
          break;
        case 'PaymentBlocked':
          failure = { code: 'blocked', message: event.data.reason };
          break;
        case 'PaymentCancelled':
          failure = { code: 'cancelled', message: event.data.reason };
          break;
        case 'ReversalRequested':
          refunds.set(event.data.reversalId, {
            refundId: event.data.reversalId,
            amount: event.data.amount,
            status: 'requested',
            reason: event.data.reason,
            providerRef: null,
            failure: null,
            requestedAt: at,
          });
          break;
        case 'ReversalSucceeded':
        case 'ReversalFailed': {
          const known = refunds.get(event.data.reversalId);
          if (!known) break;
          refunds.set(
            known.refundId,
            event.type === 'ReversalSucceeded'
              ? { ...known, status: 'succeeded', providerRef: event.data.providerRef }
              : { ...known, status: 'failed', failure: `${event.data.resultCode}: ${event.data.resultText}` },
          );
          break;
        }
        default:
          break;
      }
    }
    if (events.length < READ_PAGE_MAX) break;
    from = (revision ?? -1n) + 1n;
  }
  if (!state.intent) throw new LedgerlineError('NOT_FOUND', 'No such payment.', { paymentId });
  return { state, failure, refunds: [...refunds.values()], createdAt, updatedAt, revision, position };
}

export function verdictOutput(state: PaymentState): {
  score: number;
  decision: string;
  rules: { rule: string; points: number; reason: string }[];
} {
  const fraud = state.fraud;
  return {
    score: fraud?.score ?? 0,
    decision: fraud?.decision ?? 'allow',
    rules: (fraud?.rules ?? []).map((rule) => ({
      rule: rule.rule,
      points: rule.points,
      reason: rule.reason,
    })),
  };
}

export function refundedAmount(view: PaymentView): string {
  const scale = view.state.intent?.scale ?? 0;
  const units = view.state.reversals
    .filter((reversal) => reversal.status === 'succeeded')
    .reduce((sum, reversal) => sum + reversal.amount, 0n);
  return formatAmount(units, scale);
}
