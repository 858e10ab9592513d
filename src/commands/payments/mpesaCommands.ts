/**
 * The M-Pesa commands behind the MCP tools of SPEC §8: collect by STK push, pay out in bulk,
 * reverse, check a payment's status, check the float.
 */
import { z } from 'zod';
import { canonicalJson } from '../../domain/canonicalJson.js';
import { ERRORS, isLedgerlineError, LedgerlineError } from '../../domain/errors.js';
import {
  ACCOUNT_REFERENCE_LENGTH_MAX,
  TRANSACTION_DESC_LENGTH_MAX,
} from '../../domain/payments/mobileMoney.js';
import { KES_SCALE } from '../../domain/payments/mpesaAmount.js';
import {
  cancelUnsentPayouts,
  decidePayoutBatch,
  payoutBatchDecider,
  type PayoutItem,
} from '../../domain/payments/payoutBatch.js';
import { answerBatch, batchStream, markBatchDispatched, sendBatchPayout } from './payoutBatchRun.js';
import { formatAmount, parseAmount } from '../../domain/ledger/money.js';
import { streamName } from '../../domain/streamName.js';
import { executeOnStream } from '../aggregate.js';
import { defineCommand } from '../catalog.js';
import type { CommandContext } from '../context.js';
import { requestHash } from '../idempotency.js';
import * as s from '../schemas.js';
import * as c from '../customers/schemas.js';
import { callerOf } from '../tenancy/organizationStream.js';
import {
  ensureCustomer,
  floatBalance,
  floatStream,
  initiate,
  KES,
  type MpesaAnswer,
  mpesaCredentials,
  phoneOf,
  queryProvider,
  requestProviderBalance,
  shillingsOf,
  startReversal,
  submitCollection,
} from './mpesaFlows.js';
import { loadPayment } from './paymentStream.js';
import { alertSummary, alertSummaryFields, readAlerts } from './reconciliationQueries.js';

/** Payouts in one bulk request, at most. */
export const BULK_PAYOUTS_MAX = 500;
/** Payouts sent to M-Pesa at once while a batch runs. */
export const BULK_CONCURRENCY = 8;

const amount = z
  .string()
  .regex(/^[1-9]\d{0,8}(\.0{1,2})?$/, 'must be whole shillings as a decimal string, such as "1500"')
  .describe('Whole Kenyan shillings as a decimal string, such as "1500" (M-Pesa moves no cents).');
const phone = z
  .string()
  .max(20)
  .describe('A Kenyan mobile number: 07XXXXXXXX, 01XXXXXXXX, +2547XXXXXXXX or 2547XXXXXXXX.');
const fraud = z.object({
  score: z.number(),
  decision: z.string(),
  rules: z.array(z.record(z.string(), z.unknown())),
});
const paymentAnswer = z.object({
  paymentId: z.string(),
  status: z.string(),
  providerRef: z.string().nullable(),
  fraud,
  message: z.string(),
});

function message(status: string): string {
  switch (status) {
    case 'pending':
      return 'Sent to M-Pesa; the result arrives by callback. Check with mpesa_check_status.';
    case 'held':
      return 'Held for fraud review: a manager approves or rejects it with review_flagged_transaction.';
    case 'blocked':
      return 'Refused by the fraud rules; nothing was sent to M-Pesa.';
    case 'succeeded':
      return 'Paid.';
    case 'failed':
      return 'M-Pesa did not complete it; see resultCode and resultText with mpesa_check_status.';
    default:
      return `The payment is ${status}.`;
  }
}

async function answerOf(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  verdict: MpesaAnswer['fraud'],
) {
  const state = await loadPayment(context, orgId, paymentId);
  const status = state.status ?? 'initiated';
  const fraudAnswer = {
    score: verdict.score,
    decision: verdict.decision,
    rules: verdict.rules.map((rule): Record<string, unknown> => ({ ...rule })),
  };
  return { paymentId, status, providerRef: state.providerRef, fraud: fraudAnswer, message: message(status) };
}

export const mpesaStkPush = defineCommand({
  name: 'mpesa_stk_push',
  title: 'Collect a payment by M-Pesa (STK push)',
  description:
    'Asks a customer’s phone to pay the organization by M-Pesa: the phone shows a PIN prompt; the result arrives later by callback and, when paid, the collection is posted to the ledger (float debited, collections credited). Amount in whole shillings (1 to 250000). The payment is fraud-scored first: above the review threshold it is held for a manager, above the block threshold it is refused. Answers at once with status pending (or held / blocked / failed); poll mpesa_check_status or read payments://{payment_id}/status. Moves real money on live credentials. Needs the organization’s M-Pesa credentials (set_provider_credentials).',
  input: z.strictObject({
    phone,
    amount,
    accountReference: z.string().trim().min(1).max(ACCOUNT_REFERENCE_LENGTH_MAX),
    description: z.string().trim().min(1).max(TRANSACTION_DESC_LENGTH_MAX),
    customerId: c.customerId.optional(),
  }),
  output: paymentAnswer,
  scope: 'payments:write',
  minRole: 'user',
  audience: 'organization',
  annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: true },
  movesMoney: true,
  callsProvider: true,
  approval: { kind: 'transfer', moves: (input) => [{ amount: input.amount, asset: KES }] },
  rest: { method: 'POST', path: '/v1/mpesa/stk-push', status: 201 },
  async run(input, context) {
    const orgId = callerOf(context).orgId;
    const msisdn = phoneOf(input.phone);
    const money = shillingsOf(input.amount);
    await ensureCustomer(context.services, orgId, input.customerId ?? null);
    await mpesaCredentials(context.services, orgId);
    const started = await initiate(
      context,
      {
        kind: 'mpesa_collection',
        provider: 'mpesa',
        customerId: input.customerId ?? null,
        amount: money.text,
        currency: KES,
        scale: KES_SCALE,
        counterparty: msisdn,
        reference: input.accountReference,
        description: input.description,
        batchId: null,
      },
      'collection',
    );
    const outcome =
      started.status === 'initiated'
        ? await submitCollection(context, orgId, started.intent)
        : started.position;
    return { ...outcome, output: await answerOf(context, orgId, started.intent.paymentId, started.fraud) };
  },
});

const bulkItem = z.strictObject({
  phone,
  amount,
  reference: z.string().trim().min(1).max(100),
});

export const mpesaBulkPayment = defineCommand({
  name: 'mpesa_bulk_payment',
  title: 'Pay out to many phones (M-Pesa B2C)',
  description: `Sends up to ${BULK_PAYOUTS_MAX} M-Pesa payouts in one batch. The batch id is yours and unique in the organization forever: the same batch again answers what the first did; another batch under the same id is refused (ID_REUSED). Each payout is fraud-scored, then reserves its amount on the M-Pesa float (a pending ledger transfer) so the float can never be overspent; payouts the float cannot cover fail with INSUFFICIENT_FUNDS and are not sent. Each reservation is posted or voided when M-Pesa’s result arrives. Moves real money on live credentials; long batches report progress over MCP (one step per payout sent). Cancelling the call (MCP notifications/cancelled) stops the batch between payouts: those under way finish, the rest are recorded as cancelled and never sent; sending the same batch again answers each payout's status. A payout that could not be sent because of a fault is answered with its own error (the others are still sent) and finished in the background under the same id: send the same batch again to see it, never the same payouts under another batch id.`,
  input: z.strictObject({
    batchId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -'),
    remarks: z.string().trim().min(1).max(100),
    payouts: z.array(bulkItem).min(1).max(BULK_PAYOUTS_MAX),
  }),
  output: z.object({
    batchId: z.string(),
    total: z.string(),
    counts: z.record(z.string(), z.number()),
    payouts: z.array(
      z.object({
        paymentId: z.string(),
        phone: z.string(),
        amount: z.string(),
        status: z.string(),
        error: z.object({ code: z.string(), message: z.string() }).optional(),
      }),
    ),
  }),
  scope: 'payments:write',
  minRole: 'user',
  audience: 'organization',
  annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: true },
  movesMoney: true,
  callsProvider: true,
  approval: {
    kind: 'payout',
    moves: (input) => input.payouts.map((payout) => ({ amount: payout.amount, asset: KES })),
  },
  rest: { method: 'POST', path: '/v1/mpesa/bulk-payments', status: 201 },
  async run(input, context) {
    const orgId = callerOf(context).orgId;
    const items: PayoutItem[] = input.payouts.map((item, index) => {
      const msisdn = phoneOf(item.phone, `payouts[${index}].phone`);
      const money = shillingsOf(item.amount, `payouts[${index}].amount`);
      return {
        paymentId: context.services.newId('pay'),
        phone: msisdn,
        amount: money.text,
        reference: item.reference,
      };
    });
    await mpesaCredentials(context.services, orgId);
    const total = items.reduce((sum, item) => sum + (parseAmount(item.amount, KES_SCALE) as bigint), 0n);
    const fingerprint = requestHash('mpesa_bulk_payment', canonicalJson(input)).slice(0, 32);
    const stream = batchStream(orgId, input.batchId);
    const created = await executeOnStream(context, stream, payoutBatchDecider, (state) =>
      decidePayoutBatch(
        {
          batchId: input.batchId,
          currency: KES,
          total: formatAmount(total, KES_SCALE),
          fingerprint,
          items,
          remarks: input.remarks,
        },
        state,
      ),
    );
    const batch = created.output.batch;
    const count = batch.items.length;
    let last = created;
    let notSent = created.output.notSent;
    // Payouts whose sending failed in this run (error code only): answered per payout, never as
    // the batch's failure while other payouts were being sent.
    const errors = new Map<string, { code: string; message: string }>();
    if (created.output.created) {
      let next = 0;
      let sent = 0;
      const cancel = async (unsent: readonly string[]) => {
        // A payout another writer (the resumer) already sent is not cancelled: it may be paid.
        const started = new Set<string>();
        for (const paymentId of unsent) {
          const payment = await loadPayment(context, orgId, paymentId);
          if (payment.intent && payment.status !== 'initiated' && payment.status !== 'held')
            started.add(paymentId);
        }
        return executeOnStream(context, stream, payoutBatchDecider, (state) =>
          cancelUnsentPayouts(
            unsent,
            'The caller cancelled the request while the batch was being sent.',
            state,
            started,
          ),
        );
      };
      // The cancellation is recorded the moment it arrives, not once the payouts under way have
      // finished: should this process die in between, the resumer finds the batch cancelled and
      // sends none of what the caller called off. No worker takes a payout after the abort, so
      // the payouts not taken by then are exactly those never sent.
      const early: { write: Promise<unknown> | null } = { write: null };
      const onAbort = (): void => {
        const unsent = batch.items.slice(next).map((item) => item.paymentId);
        if (unsent.length > 0) early.write = cancel(unsent).catch(() => undefined);
      };
      context.signal?.addEventListener('abort', onAbort, { once: true });
      context.progress?.(0, count, `${count} payouts to send`);
      let workerFailed = false;
      const worker = async () => {
        for (;;) {
          // A cancelled call sends no further payout (those under way finish): one payout is the step.
          if (context.signal?.aborted) return;
          const index = next;
          next += 1;
          const item = batch.items[index];
          if (!item) return;
          try {
            await sendBatchPayout(context, orgId, batch, item, false);
          } catch (error) {
            // This payout only: the others go on. Left as its stream says (never initiated,
            // initiated, or in M-Pesa's hands) for the resumer or the resolver to finish, under
            // the same id — so the caller must not send it again under another batch.
            const code = isLedgerlineError(error) ? error.code : 'INTERNAL';
            errors.set(item.paymentId, { code, message: ERRORS[code].message });
            context.services.log.warn(
              { err: error, orgId, batchId: batch.batchId, paymentId: item.paymentId },
              'a payout of a batch failed to send; the others go on',
            );
          }
          sent += 1;
          context.progress?.(sent, count, `${sent} of ${count} payouts sent`);
        }
      };
      try {
        // Every worker settles before the batch is answered: a rejected one never answers for
        // the batch while the others are still sending.
        const settled = await Promise.allSettled(
          Array.from({ length: Math.min(BULK_CONCURRENCY, count) }, worker),
        );
        for (const outcome of settled) {
          if (outcome.status === 'rejected') {
            workerFailed = true;
            context.services.log.error({ err: outcome.reason, orgId }, 'a payout batch worker failed');
          }
        }
      } finally {
        context.signal?.removeEventListener('abort', onAbort);
      }
      const unsent = batch.items.slice(next).map((item) => item.paymentId);
      // Only a cancellation leaves payouts untaken on purpose; any other untaken payout (every
      // worker failed) is left for the resumer, never recorded as cancelled.
      if (unsent.length > 0 && context.signal?.aborted) {
        await early.write;
        // Recorded already (nothing new), or now if the early write failed.
        const cancelled = await cancel(unsent);
        notSent = cancelled.output.notSent;
        last = { ...cancelled, output: created.output };
      }
      // Every payout not cancelled handed on (the workers under way finished): the resumer has
      // nothing to look for here. Until this is recorded it would finish a cancelled batch's
      // payouts under way, should this process die.
      // A payout whose sending failed is not handed on: the resumer finishes it after its grace.
      if (errors.size === 0 && !workerFailed) {
        const dispatched = await markBatchDispatched(context, orgId, batch.batchId, 'run');
        if (dispatched.output.changed) last = { ...dispatched, output: created.output };
      }
    }
    const answer = await answerBatch(context, orgId, batch, notSent, last.position, errors);
    return { output: answer.output, stream, revision: last.revision, position: answer.position };
  },
});

export const mpesaReverseTransaction = defineCommand({
  name: 'mpesa_reverse_transaction',
  title: 'Reverse an M-Pesa collection',
  description:
    'Asks M-Pesa to return a succeeded collection to the payer, in full, at most once: a second request answers ALREADY_REVERSED. The result arrives by callback; when it succeeds the ledger posts the exact opposite of the collection. Managers and above. Moves real money on live credentials.',
  input: z.strictObject({ paymentId: c.paymentId, reason: s.reason }),
  output: z.object({ paymentId: z.string(), reversalId: z.string(), status: z.string() }),
  scope: 'payments:write',
  minRole: 'manager',
  audience: 'organization',
  annotations: { destructiveHint: true, openWorldHint: true },
  movesMoney: true,
  callsProvider: true,
  approval: { kind: 'reversal' },
  rest: { method: 'POST', path: '/v1/mpesa/payments/:paymentId/reverse' },
  async run(input, context) {
    const orgId = callerOf(context).orgId;
    const { requested, reversalId } = await startReversal(context, orgId, input.paymentId, input.reason);
    const state = await loadPayment(context, orgId, input.paymentId);
    const reversal = state.reversals.find((candidate) => candidate.reversalId === reversalId);
    return {
      ...requested,
      output: { paymentId: input.paymentId, reversalId, status: reversal?.status ?? 'requested' },
    };
  },
});

const statusOutput = z.object({
  paymentId: z.string(),
  kind: z.string(),
  status: z.string(),
  amount: z.string(),
  currency: z.string(),
  phone: z.string(),
  providerRef: z.string().nullable(),
  receipt: z.string().nullable(),
  reversals: z.array(z.object({ reversalId: z.string(), amount: z.string(), status: z.string() })),
  asked: z.boolean(),
});

export const mpesaCheckStatus = defineCommand({
  name: 'mpesa_check_status',
  title: 'The status of an M-Pesa payment',
  description:
    'The current status of an M-Pesa collection or payout. With refresh (the default), a payment still waiting for its result asks M-Pesa (STK query, or a transaction status query whose answer comes by callback) and records the answer as an event. Writes only the provider’s answer; safe to repeat.',
  input: z.strictObject({ paymentId: c.paymentId, refresh: z.boolean().default(true) }),
  output: statusOutput,
  scope: 'payments:read',
  minRole: 'viewer',
  audience: 'organization',
  annotations: { idempotentHint: true, openWorldHint: true },
  callsProvider: true,
  rest: { method: 'POST', path: '/v1/mpesa/payments/:paymentId/status' },
  async run(input, context) {
    const orgId = callerOf(context).orgId;
    const before = await loadPayment(context, orgId, input.paymentId);
    if (!before.intent?.kind.startsWith('mpesa_')) {
      throw new LedgerlineError('NOT_FOUND', 'No such M-Pesa payment.', { paymentId: input.paymentId });
    }
    const asked = input.refresh ? await queryProvider(context, orgId, input.paymentId) : false;
    const state = await loadPayment(context, orgId, input.paymentId);
    const intent = state.intent ?? before.intent;
    const events = await context.services.store.readStream(streamName(orgId, 'payment', input.paymentId), {
      direction: 'backwards',
      maxCount: 1,
    });
    const last = events[0];
    return {
      output: {
        paymentId: intent.paymentId,
        kind: intent.kind,
        status: state.status ?? 'initiated',
        amount: intent.amount,
        currency: intent.currency,
        phone: intent.counterparty,
        providerRef: state.providerRef,
        receipt: state.receipt,
        reversals: state.reversals.map((reversal) => ({
          reversalId: reversal.reversalId,
          amount: formatAmount(reversal.amount, intent.scale),
          status: reversal.status,
        })),
        asked,
      },
      stream: streamName(orgId, 'payment', input.paymentId),
      revision: last?.revision ?? null,
      position: last?.position ?? null,
    };
  },
});

export const mpesaCheckBalance = defineCommand({
  name: 'mpesa_check_balance',
  title: 'The M-Pesa float: ledger balance and reconciliation',
  description:
    'The balance of the organization’s M-Pesa float in the ledger, the last balance M-Pesa reported with the difference, and the latest reconciliation alerts (a payout M-Pesa paid after its reservation expired, one it paid that the float could not cover, a payment M-Pesa never told the outcome of). With askProvider, also asks M-Pesa for its balance now; the answer arrives by callback and is recorded as an event (MpesaBalanceReported) with the difference — read it again a few seconds later.',
  input: z.strictObject({ askProvider: z.boolean().default(false) }),
  output: z.object({
    ledgerBalance: z.string(),
    currency: z.string(),
    lastReported: z
      .object({
        providerAvailable: z.string().nullable(),
        ledgerBalance: z.string(),
        difference: z.string().nullable(),
        reportedAt: z.string(),
      })
      .nullable(),
    providerQuery: z.string().nullable(),
    reconciliationAlerts: z.array(z.object(alertSummaryFields)),
  }),
  scope: 'payments:read',
  minRole: 'viewer',
  audience: 'organization',
  annotations: { openWorldHint: true },
  callsProvider: true,
  rest: { method: 'POST', path: '/v1/mpesa/balance' },
  async run(input, context) {
    const orgId = callerOf(context).orgId;
    const providerQuery = input.askProvider ? await requestProviderBalance(context, orgId) : null;
    const reports = await context.services.store.readStream(floatStream(orgId), {
      direction: 'backwards',
      maxCount: 1,
    });
    const report = reports[0];
    const data = report?.data as
      { providerAvailable: string | null; ledgerBalance: string; difference: string | null } | undefined;
    return {
      output: {
        ledgerBalance: await floatBalance(context.services, orgId),
        currency: KES,
        lastReported:
          report && data
            ? {
                providerAvailable: data.providerAvailable,
                ledgerBalance: data.ledgerBalance,
                difference: data.difference,
                reportedAt: report.occurredAt.toISOString(),
              }
            : null,
        providerQuery,
        reconciliationAlerts: await reconciliationAlerts(context.services, orgId),
      },
      stream: report ? floatStream(orgId) : null,
      revision: report?.revision ?? null,
      position: report?.position ?? null,
    };
  },
});

/** Reconciliation alerts shown with the balance, newest first, at most. */
export const RECONCILIATION_ALERTS_SHOWN_MAX = 50;

/** The newest alerts, as the balance shows them. */
async function reconciliationAlerts(services: CommandContext['services'], orgId: string) {
  const alerts = await readAlerts(services, orgId, { limit: RECONCILIATION_ALERTS_SHOWN_MAX });
  return alerts.map(alertSummary);
}
