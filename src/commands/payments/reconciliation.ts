/**
 * Closing a reconciliation alert (where the books and the provider may disagree): a person
 * checks the provider's statement and says what it shows. REST only — never an MCP tool — and
 * a manager or above: the outcome of a reversal nobody could learn is a person's call.
 *
 * - `acknowledged`: any alert; handled outside (a payout posted by hand, a float funded).
 * - `reversal_failed`: an `outcome_unresolved` alert about a reversal or refund still
 *   requested; the provider returned nothing. The reversal is recorded failed, so the payment
 *   can be reversed again (an M-Pesa collection is otherwise blocked by it for good).
 * - `reversal_succeeded`: the same, but the money was returned: the ledger posts the opposite
 *   transfer (once: its id is the reversal's) and the reversal is recorded succeeded.
 */
import { z } from 'zod';
import type { EventMetadata } from '../../adapters/eventstore/port.js';
import { LedgerlineError } from '../../domain/errors.js';
import { formatAmount } from '../../domain/ledger/money.js';
import { ALERT_RESOLUTIONS, resolutionProblem, type PaymentState } from '../../domain/payments/payment.js';
import { eventMetadata } from '../aggregate.js';
import { defineCommand } from '../catalog.js';
import type { CommandContext } from '../context.js';
import * as s from '../schemas.js';
import { personOnly } from '../tenancy/organizationStream.js';
import { recordOnPayment, recordRefundOutcome } from './cardsFlow.js';
import { settleReversal } from './mpesaFlows.js';
import { loadPayment, paymentStream } from './paymentStream.js';

const alertId = z.string().regex(/^rca_[0-9A-Z]{26}$/, 'must be a reconciliation alert id (rca_…)');

/** The payment an alert of this organization belongs to; another organization's is missing. */
async function paymentOfAlert(context: CommandContext, orgId: string, id: string): Promise<string> {
  const { rows } = await context.services.db.query<{ payment_id: string }>(
    'SELECT payment_id FROM rm_reconciliation_alerts WHERE org_id = $1 AND alert_id = $2',
    [orgId, id],
  );
  const found = rows[0];
  if (!found) throw new LedgerlineError('NOT_FOUND', 'No such reconciliation alert.', { alertId: id });
  return found.payment_id;
}

/** Records the reversal's result the statement showed (nothing when it is recorded already). */
async function recordReversalOutcome(
  context: CommandContext,
  orgId: string,
  state: PaymentState,
  reversalId: string,
  succeeded: boolean,
  note: string,
  metadata: EventMetadata,
): Promise<void> {
  const intent = state.intent;
  const reversal = state.reversals.find((candidate) => candidate.reversalId === reversalId);
  if (!intent || !reversal) throw new LedgerlineError('NOT_FOUND', 'No such reversal.', { reversalId });
  const wanted = succeeded ? 'succeeded' : 'failed';
  if (reversal.status === wanted) return;
  if (reversal.status !== 'requested') {
    throw new LedgerlineError(
      'INVALID_STATE',
      `The reversal is already ${reversal.status}; the alert can only be acknowledged.`,
      { reversalId },
    );
  }
  if (intent.kind === 'mpesa_collection') {
    if (succeeded) await settleReversal(context, orgId, intent.paymentId, reversalId, null, metadata);
    else
      await recordOnPayment(
        context,
        orgId,
        intent.paymentId,
        {
          type: 'RecordReversalResult',
          reversalId,
          result: { outcome: 'failed', resultCode: 'RESOLVED_BY_PERSON', resultText: note },
        },
        metadata,
      );
    return;
  }
  await recordRefundOutcome(
    context,
    orgId,
    {
      paymentId: intent.paymentId,
      refundId: reversalId,
      amount: formatAmount(reversal.amount, intent.scale),
      saleTransferId: state.transferId,
    },
    // A person's word about the statement names no provider reference.
    succeeded
      ? { outcome: 'succeeded', providerRef: null }
      : { outcome: 'failed', code: 'RESOLVED_BY_PERSON', message: note },
    metadata,
  );
}

export const resolveReconciliationAlert = defineCommand({
  name: 'resolve_reconciliation_alert',
  title: 'Resolve a reconciliation alert',
  description:
    'Closes a reconciliation alert after checking the provider’s statement. acknowledged closes any alert (handled outside). For an outcome_unresolved alert about a reversal or refund still requested: reversal_failed records it failed (the payment can be reversed again), reversal_succeeded posts the opposite ledger transfer once and records it succeeded. Resolving again the same way changes nothing. Managers and above, over REST only.',
  input: z.strictObject({
    alertId,
    resolution: z.enum(ALERT_RESOLUTIONS),
    note: s.reason,
  }),
  output: z.object({
    alertId: z.string(),
    paymentId: z.string(),
    resolution: z.enum(ALERT_RESOLUTIONS),
    reversalStatus: z.string().nullable(),
  }),
  scope: 'payments:write',
  minRole: 'manager',
  audience: 'organization',
  restOnly: true,
  movesMoney: true,
  annotations: { destructiveHint: true, idempotentHint: true },
  rest: { method: 'POST', path: '/v1/reconciliation-alerts/:alertId/resolve' },
  async run(input, context) {
    const principal = personOnly(context, 'resolve_reconciliation_alert');
    const orgId = principal.orgId;
    const paymentId = await paymentOfAlert(context, orgId, input.alertId);
    const metadata = eventMetadata(context);
    const before = await loadPayment(context, orgId, paymentId);
    // Refused before anything is written: an unknown alert, another resolution, a wrong kind.
    const problem = resolutionProblem(before, input.alertId, input.resolution);
    if (problem) throw new LedgerlineError(problem.code, problem.message, { alertId: input.alertId });
    const alert = before.alerts.find((candidate) => candidate.alertId === input.alertId);
    if (alert?.reversalId && input.resolution !== 'acknowledged' && alert.resolution === null) {
      const succeeded = input.resolution === 'reversal_succeeded';
      await recordReversalOutcome(context, orgId, before, alert.reversalId, succeeded, input.note, metadata);
    }
    const resolved = await recordOnPayment(
      context,
      orgId,
      paymentId,
      {
        type: 'ResolveReconciliationAlert',
        alertId: input.alertId,
        resolution: input.resolution,
        note: input.note,
        resolvedBy: principal.memberId,
      },
      metadata,
    );
    const after = await loadPayment(context, orgId, paymentId);
    const reversal = after.reversals.find((candidate) => candidate.reversalId === alert?.reversalId);
    return {
      output: {
        alertId: input.alertId,
        paymentId,
        resolution: input.resolution,
        reversalStatus: reversal?.status ?? null,
      },
      stream: paymentStream(orgId, paymentId),
      revision: resolved.revision,
      position: resolved.position,
    };
  },
});
