/**
 * A held payment released in fraud review continues to its provider: card payments through
 * the card flow, M-Pesa collections and payouts through the M-Pesa flow.
 */
import type { PaymentKind } from '../../domain/payments/payment.js';
import type { CommandContext } from '../context.js';
import { submitCardPayment } from './cardsFlow.js';
import { resumeMpesaPayment } from './mpesaFlows.js';

export async function resumeReleasedPayment(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  kind: PaymentKind,
): Promise<void> {
  switch (kind) {
    case 'card_payment':
      await submitCardPayment(context, orgId, paymentId);
      return;
    case 'mpesa_collection':
    case 'mpesa_payout':
      await resumeMpesaPayment(context, orgId, paymentId);
      return;
  }
}
