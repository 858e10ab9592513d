import type { EventMetadata } from '../../adapters/eventstore/port.js';
import {
  decidePayment,
  paymentDecider,
  type PaymentCommand,
  type PaymentState,
} from '../../domain/payments/payment.js';
import { streamName } from '../../domain/streamName.js';
import { eventMetadata, executeOnStream, loadAggregate } from '../aggregate.js';
import type { CommandContext } from '../context.js';

export function paymentStream(orgId: string, paymentId: string): string {
  return streamName(orgId, 'payment', paymentId);
}

/** Decides one command on a payment's stream and appends what it decided. */
export function decideOnPayment(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  command: PaymentCommand,
  metadata: EventMetadata = eventMetadata(context),
) {
  return executeOnStream(
    context,
    paymentStream(orgId, paymentId),
    paymentDecider,
    (state) => decidePayment(command, state),
    metadata,
  );
}

export async function loadPayment(
  context: CommandContext,
  orgId: string,
  paymentId: string,
): Promise<PaymentState> {
  return (await loadAggregate(context, paymentStream(orgId, paymentId), paymentDecider)).state;
}
