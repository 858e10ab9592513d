/**
 * One payout batch, sent and answered the same way whoever runs it: the caller's own request
 * (REST or MCP), the request a manager approved, or the background resumer picking up a batch
 * whose run died. Each payout keeps the id the batch gave it, so its ledger reservation
 * (transfer id) and its M-Pesa OriginatorConversationID are the same on every attempt, and its
 * stream records the provider request before M-Pesa is called: a payout is sent once at most.
 */
import type { Position } from '../../adapters/eventstore/port.js';
import { comparePositions } from '../../adapters/eventstore/position.js';
import { KES_SCALE } from '../../domain/payments/mpesaAmount.js';
import {
  markDispatched,
  payoutBatchDecider,
  type PayoutBatchCreatedData,
  type PayoutItem,
} from '../../domain/payments/payoutBatch.js';
import { streamName } from '../../domain/streamName.js';
import { executeOnStream } from '../aggregate.js';
import type { CommandContext } from '../context.js';
import { initiate, KES, submitPayout } from './mpesaFlows.js';
import { loadPayment, paymentStream } from './paymentStream.js';

export function batchStream(orgId: string, batchId: string): string {
  return streamName(orgId, 'payout_batch', batchId);
}

/** Each payout's description: the caller's remarks (batches stored before kept none). */
export function batchRemarks(batch: PayoutBatchCreatedData): string {
  return batch.remarks ?? `Payout batch ${batch.batchId}`;
}

/**
 * Initiates one payout of the batch (fraud-scored; the same intent again is a no-op) and,
 * when it may go, reserves and sends it. `resumed` marks the resumer's sends.
 */
export async function sendBatchPayout(
  context: CommandContext,
  orgId: string,
  batch: PayoutBatchCreatedData,
  item: PayoutItem,
  resumed: boolean,
): Promise<void> {
  const started = await initiate(
    context,
    {
      paymentId: item.paymentId,
      kind: 'mpesa_payout',
      provider: 'mpesa',
      customerId: null,
      amount: item.amount,
      currency: KES,
      scale: KES_SCALE,
      counterparty: item.phone,
      reference: item.reference,
      description: batchRemarks(batch),
      batchId: batch.batchId,
    },
    'payout',
  );
  if (started.status === 'initiated') await submitPayout(context, orgId, started.intent, { resumed });
}

/** Marks the batch fully handed on (nothing left to send); a no-op when done or cancelled. */
export async function markBatchDispatched(
  context: CommandContext,
  orgId: string,
  batchId: string,
  by: 'run' | 'resumer',
) {
  return executeOnStream(context, batchStream(orgId, batchId), payoutBatchDecider, (state) =>
    markDispatched(by, state),
  );
}

export interface BatchAnswer {
  readonly batchId: string;
  readonly total: string;
  readonly counts: Record<string, number>;
  readonly payouts: {
    paymentId: string;
    phone: string;
    amount: string;
    status: string;
    /** Why sending it failed in this run (the registry code and message only). */
    error?: { code: string; message: string };
  }[];
}

/**
 * The batch as it stands: each payout's status as its own stream says (cancelled ones never
 * initiated as cancelled, others never initiated as initiated), the counts, and the latest position the batch caused (read-your-writes).
 */
export async function answerBatch(
  context: CommandContext,
  orgId: string,
  batch: PayoutBatchCreatedData,
  notSent: ReadonlySet<string>,
  since: Position | null,
  errors: ReadonlyMap<string, { code: string; message: string }> = new Map(),
): Promise<{ output: BatchAnswer; position: Position | null }> {
  const payouts: BatchAnswer['payouts'] = [];
  const counts: Record<string, number> = {};
  for (const item of batch.items) {
    // The payout's own stream first: one sent after all (a resumer that raced the cancellation)
    // answers what M-Pesa made of it, never `cancelled`.
    const payment = await loadPayment(context, orgId, item.paymentId);
    const status = payment.intent
      ? (payment.status ?? 'initiated')
      : notSent.has(item.paymentId)
        ? 'cancelled'
        : 'initiated';
    counts[status] = (counts[status] ?? 0) + 1;
    const error = errors.get(item.paymentId);
    payouts.push({
      paymentId: item.paymentId,
      phone: item.phone,
      amount: item.amount,
      status,
      ...(error ? { error } : {}),
    });
  }
  let position = since;
  const streams = [
    batchStream(orgId, batch.batchId),
    ...batch.items.map((item) => paymentStream(orgId, item.paymentId)),
  ];
  for (const stream of streams) {
    const last = (
      await context.services.store.readStream(stream, { direction: 'backwards', maxCount: 1 })
    )[0];
    if (last && (!position || comparePositions(last.position, position) > 0)) position = last.position;
  }
  return { output: { batchId: batch.batchId, total: batch.total, counts, payouts }, position };
}
