/**
 * A held payment released in fraud review continues to its provider: card payments through
 * the card flow, M-Pesa collections and payouts through the M-Pesa flow.
 */
import { LedgerlineError } from '../../domain/errors.js';
import type { PaymentKind } from '../../domain/payments/payment.js';
import type { CommandContext } from '../context.js';
import { submitCardPayment } from './cardsFlow.js';

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
      // Until the M-Pesa flow exports resumeMpesaPayment: the payment stays released (initiated).
      throw new LedgerlineError(
        'INVALID_STATE',
        'Released M-Pesa payments are not yet sent on from fraud review; the payment stays initiated.',
        { paymentId, kind },
      );
  }
}
