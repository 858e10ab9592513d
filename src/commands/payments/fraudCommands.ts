/**
 * Fraud (SPEC §5.5) on request: score any transaction without writing anything, and review a
 * held payment — released, it continues to its provider; rejected, it is cancelled and never
 * reaches the provider or the ledger.
 */
import { z } from 'zod';
import { LedgerlineError } from '../../domain/errors.js';
import { scoreTransaction, TRANSACTION_KINDS } from '../../domain/fraud/score.js';
import { isAmountProblem, KNOWN_SCALES, parseAmount } from '../../domain/ledger/money.js';
import { stripeCurrency, stripeExponent } from '../../domain/payments/cardAmount.js';
import { ValidationError } from '../../domain/errors.js';
import { defineCommand } from '../catalog.js';
import type { Services } from '../context.js';
import * as c from '../customers/schemas.js';
import * as l from '../ledger/schemas.js';
import { callerOf } from '../tenancy/organizationStream.js';
import { paymentOutput } from './cardsCommands.js';
import { fraudHistory } from './fraudHistory.js';
import { decideOnPayment, loadPayment } from './paymentStream.js';
import { loadPaymentView } from './paymentViews.js';
import { resumeReleasedPayment } from './resume.js';
import { loadPaymentSettings } from './settings.js';

const NOTES_LENGTH_MAX = 1_000;
const ruleOutput = z.object({ rule: z.string(), points: z.number(), reason: z.string() });

/** An asset's scale: the organization's ledger, the well-known list, or the card exponent. */
async function assetScale(
  services: Services,
  orgId: string,
  currency: string,
): Promise<{ asset: string; scale: number }> {
  const lower = stripeCurrency(currency);
  if (typeof lower !== 'string') throw new ValidationError('currency', lower.reason);
  const asset = lower.toUpperCase();
  const known = (await services.ledger.state(orgId)).assets.get(asset) ?? KNOWN_SCALES[asset];
  return { asset, scale: known ?? stripeExponent(lower) };
}

export const scanTransaction = defineCommand({
  name: 'scan_transaction',
  title: 'Score a transaction for fraud',
  description:
    'Scores a transaction you are about to make (kind, amount as a decimal string, currency, counterparty — a phone number, payment method id or account — and optionally the customer) with the organization’s fraud rules and its recent history: a score from 0 to 100, the decision the policy gives it (allow, review = it would be held, block = it would be refused) and every rule that fired with its reason. Writes nothing and moves nothing; payments are scored by themselves, so use this only to check before asking.',
  input: z.strictObject({
    kind: z.enum(TRANSACTION_KINDS),
    amount: l.amount,
    currency: z.string().regex(/^[A-Za-z]{3}$/, 'must be a 3-letter currency code such as KES'),
    counterparty: z.string().trim().min(1).max(100),
    customerId: c.customerId.optional(),
  }),
  output: z.object({
    score: z.number(),
    decision: z.enum(['allow', 'review', 'block']),
    rules: z.array(ruleOutput),
    reviewScore: z.number(),
    blockScore: z.number(),
  }),
  scope: 'fraud:read',
  minRole: 'any',
  audience: 'organization',
  annotations: { readOnlyHint: true, idempotentHint: true },
  rest: { method: 'POST', path: '/v1/fraud/scan' },
  async run(input, context) {
    const { orgId } = callerOf(context);
    const { services } = context;
    const { asset, scale } = await assetScale(services, orgId, input.currency);
    const units = parseAmount(input.amount, scale);
    if (isAmountProblem(units)) throw new ValidationError('amount', units.reason);
    const policy = (await loadPaymentSettings(services, orgId)).fraudPolicy;
    const history = await fraudHistory(services, {
      orgId,
      currency: asset,
      scale,
      counterparty: input.counterparty,
      customerId: input.customerId ?? null,
      now: context.now,
    });
    const verdict = scoreTransaction(
      {
        kind: input.kind,
        amount: units,
        scale,
        currency: asset,
        counterparty: input.counterparty,
        atMs: context.now.getTime(),
      },
      history,
      policy,
    );
    return {
      output: {
        score: verdict.score,
        decision: verdict.decision,
        rules: verdict.rules.map((rule) => ({ ...rule })),
        reviewScore: policy.reviewScore,
        blockScore: policy.blockScore,
      },
      stream: null,
      revision: null,
      position: null,
    };
  },
});

export const reviewFlaggedTransaction = defineCommand({
  name: 'review_flagged_transaction',
  title: 'Approve or reject a held payment',
  description:
    'Decides a payment the fraud rules held for review, named by its alert id (fra_…) or its payment id: approve releases it and it continues to its provider at once (a card is charged, an M-Pesa request sent); reject cancels it — nothing is charged and the ledger never sees it. Notes are kept with the review, and the reviewer is recorded. Managers and above; a payment can be reviewed once.',
  input: z
    .strictObject({
      alertId: c.alertId.optional(),
      paymentId: c.paymentId.optional(),
      decision: z.enum(['approve', 'reject']),
      notes: z.string().trim().min(1).max(NOTES_LENGTH_MAX),
    })
    .refine((input) => (input.alertId === undefined) !== (input.paymentId === undefined), {
      message: 'give exactly one of alertId and paymentId',
      path: ['alertId'],
    }),
  output: z.object({
    paymentId: z.string(),
    alertId: z.string(),
    outcome: z.enum(['released', 'cancelled']),
    status: z.string(),
    receipt: z.string().nullable(),
    failure: z.object({ code: z.string(), message: z.string() }).nullable(),
    message: z.string(),
  }),
  scope: 'fraud:review',
  minRole: 'manager',
  audience: 'organization',
  annotations: { destructiveHint: true, openWorldHint: true },
  rest: { method: 'POST', path: '/v1/fraud/reviews' },
  async run(input, context) {
    const principal = callerOf(context);
    const { orgId } = principal;
    const { services } = context;
    let paymentId = input.paymentId;
    if (input.alertId !== undefined) {
      const { rows } = await services.db.query<{ payment_id: string }>(
        'SELECT payment_id FROM rm_fraud_alerts WHERE org_id = $1 AND alert_id = $2',
        [orgId, input.alertId],
      );
      paymentId = rows[0]?.payment_id;
      if (paymentId === undefined) {
        throw new LedgerlineError('NOT_FOUND', 'No such fraud alert.', { alertId: input.alertId });
      }
    }
    if (paymentId === undefined) throw new ValidationError('paymentId', 'give alertId or paymentId');
    const state = await loadPayment(context, orgId, paymentId);
    const intent = state.intent;
    if (!intent) throw new LedgerlineError('NOT_FOUND', 'No such payment.', { paymentId });
    if (input.alertId !== undefined && state.alertId !== input.alertId) {
      throw new LedgerlineError('NOT_FOUND', 'No such fraud alert.', { alertId: input.alertId });
    }
    const outcome = input.decision === 'approve' ? 'released' : 'cancelled';
    const reviewed = await decideOnPayment(context, orgId, paymentId, {
      type: 'ReviewFraud',
      outcome,
      notes: input.notes,
      reviewerId: principal.memberId,
    });
    if (outcome === 'released') await resumeReleasedPayment(context, orgId, paymentId, intent.kind);
    const view = await loadPaymentView(services, orgId, paymentId);
    const answer = paymentOutput(view);
    return {
      output: {
        paymentId,
        alertId: view.state.alertId ?? '',
        outcome,
        status: answer.status,
        receipt: answer.receipt,
        failure: answer.failure,
        message: answer.message,
      },
      stream: reviewed.stream,
      revision: view.revision,
      position: view.position,
    };
  },
});
