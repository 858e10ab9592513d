/**
 * Bulk payouts whose run died (a crash, a deploy, a lost node) between payouts: every
 * interval, the oldest few batches still not fully handed on, created more than a grace period
 * ago and with no payout initiated within it, are picked up and finished — as the system,
 * each event caused by the batch's creation. Safe on several nodes and after any restart:
 * - a payout never sent is sent with the id the batch gave it (its reservation's transfer id,
 *   its OriginatorConversationID), and only by the writer that records its provider request
 *   first (submitPayout), so two resumers, or a resumer and a slow run, send it once;
 * - a payout whose request was recorded but never answered may have reached M-Pesa: it is
 *   never sent again, only marked submitted, for the resolver's status query to settle;
 * - of a cancelled batch nothing more is sent: the payouts recorded as not sent are skipped,
 *   one a worker had initiated (perhaps reserved) but never sent is failed and its
 *   reservation voided, one it never initiated is recorded as not sent; a held payout waits
 *   for its fraud review;
 * - a batch older than the payout reservation's lifetime is never resumed (its caller has long
 *   had its answer, and may have paid another way): it is left for a person, an error logged.
 * A batch a manager approved (its creation caused by the approval) has the approval's outcome
 * recorded from the same answer the approve would have given, if the approve died too.
 * Bounded: batches per round, payouts acted on per round, one round at a time.
 */
import type { RecordedEvent } from '../../adapters/eventstore/port.js';
import { formatPosition } from '../../adapters/eventstore/position.js';
import { approvalDecider } from '../../domain/approvals/approval.js';
import { isLedgerlineError, LedgerlineError } from '../../domain/errors.js';
import {
  cancelUnsentPayouts,
  payoutBatchDecider,
  planResume,
  recordResumeFailure,
  type PayoutBatchCreatedData,
  type PayoutProgress,
} from '../../domain/payments/payoutBatch.js';
import { eventMetadata, executeOnStream, loadAggregate } from '../aggregate.js';
import { APPROVAL_ID, approvalStream, decideOnApproval } from '../approvals/stream.js';
import { asJson } from '../approvals/execute.js';
import type { CommandContext, Services } from '../context.js';
import { refStream } from './mpesaRefs.js';
import { answerBatch, batchStream, markBatchDispatched, sendBatchPayout } from './payoutBatchRun.js';
import { decideOnPayment, loadPayment } from './paymentStream.js';
import { PAYOUT_RESERVATION_SECONDS, submitPayout } from './mpesaFlows.js';
import { settleReservation } from './ledgerPosting.js';

export const RESUMER_INTERVAL_MS = 30_000;
/**
 * A batch is resumed once it is this old and no payout of it was initiated for this long: a
 * live run initiates its next payout well within it (provider calls time out far sooner).
 */
export const RESUME_GRACE_MS = 120_000;
/** Batches looked at per round, at most (oldest first). */
export const RESUMER_BATCHES_MAX = 10;
/** Payouts sent, initiated or marked in doubt per round, at most; the rest wait a round. */
export const RESUMER_PAYOUTS_MAX = 100;
/** Failed rounds per batch, at most; then it is left for a person (`stuck`) with an error logged. */
export const RESUME_ATTEMPTS_MAX = 20;
/**
 * A batch older than this is never resumed, only left for a person: the default is the payout
 * reservation's lifetime (LEDGERLINE_MPESA_PAYOUT_RESERVATION_SECONDS), past which the caller
 * has long had the batch's answer and may have paid the unsent payouts another way. It also
 * guards a read-model rebuild, which makes every batch stored without PayoutBatchDispatched
 * look unfinished again.
 */
export const RESUME_AGE_MAX_MS = PAYOUT_RESERVATION_SECONDS * 1000;
/** Events read from a payout's reference stream to find its recorded request, at most. */
const REF_EVENTS_MAX = 30;

export interface ResumerOptions {
  readonly intervalMs: number;
  readonly graceMs: number;
  readonly batchesMax: number;
  readonly payoutsMax: number;
  readonly attemptsMax: number;
  /** Batches older than this are left for a person, never resumed (RESUME_AGE_MAX_MS). */
  readonly maxAgeMs: number;
}

export const RESUMER_DEFAULTS: ResumerOptions = {
  intervalMs: RESUMER_INTERVAL_MS,
  graceMs: RESUME_GRACE_MS,
  batchesMax: RESUMER_BATCHES_MAX,
  payoutsMax: RESUMER_PAYOUTS_MAX,
  attemptsMax: RESUME_ATTEMPTS_MAX,
  maxAgeMs: RESUME_AGE_MAX_MS,
};

const ACTOR_ID = 'payout-resumer';

/** What one round did. */
export interface ResumeRound {
  readonly batches: number;
  /** Payouts sent (or initiated and sent) by this round. */
  readonly sent: number;
  /** Payouts left to the resolver's status query because their request may have reached M-Pesa. */
  readonly inDoubt: number;
  /** Batches marked fully handed on. */
  readonly dispatched: number;
  /** Payouts of cancelled batches failed (reservation voided) or recorded as not sent. */
  readonly cancelled: number;
  /** Batches left for a person because they are too old to resume. */
  readonly tooOld: number;
}

/**
 * The system acting for the organization, caused by the batch's creation: the principal's role
 * is the lowest that may send payouts (`user`), its actor the resumer — never a person's name.
 */
function resumerContext(services: Services, orgId: string, created: RecordedEvent): CommandContext {
  const requestId = services.newId('req');
  return {
    principal: {
      orgId,
      actor: { kind: 'system', id: ACTOR_ID },
      memberId: ACTOR_ID,
      role: 'user',
      scopes: [],
      channel: { kind: 'system' },
      sessionId: null,
      requestId,
    },
    services,
    now: services.clock(),
    requestId,
    idempotencyKey: null,
    clientAddress: 'system',
    channel: { kind: 'system' },
    causationId: created.eventId,
    correlationId: created.correlationId,
  };
}

/** One round at `now`. */
export async function resumeBatches(
  services: Services,
  now: Date,
  options: ResumerOptions = RESUMER_DEFAULTS,
): Promise<ResumeRound> {
  const before = new Date(now.getTime() - options.graceMs).toISOString();
  const { rows } = await services.db.query<{ org_id: string; batch_id: string }>(
    `SELECT b.org_id, b.batch_id FROM rm_payout_batches b
       JOIN rm_organizations o ON o.org_id = b.org_id AND o.status = 'active'
      WHERE b.state IN ('sending', 'cancelling') AND b.created_at < $1
        AND NOT EXISTS (SELECT 1 FROM rm_payments p
                         WHERE p.org_id = b.org_id AND p.batch_id = b.batch_id AND p.created_at >= $1)
      ORDER BY b.created_at, b.batch_id LIMIT $2`,
    [before, options.batchesMax],
  );
  let budget = options.payoutsMax;
  const round = { batches: 0, sent: 0, inDoubt: 0, dispatched: 0, cancelled: 0, tooOld: 0 };
  for (const row of rows) {
    if (budget <= 0) break;
    try {
      const done = await resumeBatch(services, row.org_id, row.batch_id, budget, now, options.maxAgeMs);
      if (!done) continue;
      if (done === 'tooOld') {
        round.tooOld += 1;
        continue;
      }
      round.batches += 1;
      round.sent += done.sent;
      round.inDoubt += done.inDoubt;
      round.cancelled += done.cancelled;
      round.dispatched += done.dispatched ? 1 : 0;
      budget -= done.sent + done.inDoubt + done.cancelled;
    } catch (error) {
      services.log.warn(
        { err: error, orgId: row.org_id, batchId: row.batch_id },
        'payout batch not resumed this round',
      );
      await recordFailure(services, row.org_id, row.batch_id, error, options.attemptsMax);
    }
  }
  return round;
}

async function progressOf(
  context: CommandContext,
  orgId: string,
  paymentId: string,
): Promise<PayoutProgress> {
  const state = await loadPayment(context, orgId, paymentId);
  if (!state.intent) return { status: 'absent', requestRecorded: false };
  const status = state.status ?? 'initiated';
  if (status !== 'initiated') return { status, requestRecorded: false };
  // A run from before provider requests were recorded on the payment linked the request
  // just before calling M-Pesa: the link alone means the call may have happened.
  const refs = await context.services.store.readStream(refStream(orgId, paymentId), {
    maxCount: REF_EVENTS_MAX,
  });
  const requestRecorded = refs.some(
    (event) =>
      event.type === 'MpesaRequestLinked' &&
      (event.data as { purpose?: string } | null)?.purpose === 'payout',
  );
  return { status, requestRecorded };
}

/** Counts a failed round on the batch; the last one allowed leaves it for a person. */
async function recordFailure(
  services: Services,
  orgId: string,
  batchId: string,
  error: unknown,
  attemptsMax: number,
): Promise<void> {
  try {
    const stream = batchStream(orgId, batchId);
    const created = (await services.store.readStream(stream, { maxCount: 1 }))[0];
    if (created?.type !== 'PayoutBatchCreated') return;
    const reason = isLedgerlineError(error) ? error.code : 'INTERNAL';
    const recorded = await executeOnStream(
      resumerContext(services, orgId, created),
      stream,
      payoutBatchDecider,
      (state) => recordResumeFailure(reason, attemptsMax, state),
    );
    if (recorded.output.abandoned) {
      services.log.error(
        { orgId, batchId, attempts: attemptsMax, reason },
        'payout batch could not be resumed; its unsent payouts are left for a person',
      );
    }
  } catch (failure) {
    services.log.warn({ err: failure, orgId, batchId }, 'failed resume of a payout batch not recorded');
  }
}

/**
 * Resumes one batch within `budget` payouts; null when it is not there (yet) to resume (or
 * abandoned: a person's now), `tooOld` when it was left for a person because of its age.
 */
async function resumeBatch(
  services: Services,
  orgId: string,
  batchId: string,
  budget: number,
  now: Date,
  maxAgeMs: number,
): Promise<{ sent: number; inDoubt: number; cancelled: number; dispatched: boolean } | 'tooOld' | null> {
  const stream = batchStream(orgId, batchId);
  const created = (await services.store.readStream(stream, { maxCount: 1 }))[0];
  if (created?.type !== 'PayoutBatchCreated') return null;
  const context = resumerContext(services, orgId, created);
  const loaded = await loadAggregate(context, stream, payoutBatchDecider);
  const batch = loaded.state.created;
  if (!batch || loaded.state.abandoned) return null;
  if (now.getTime() - created.occurredAt.getTime() > maxAgeMs) {
    await leaveTooOld(context, orgId, batchId, created, maxAgeMs);
    return 'tooOld';
  }
  const progress = new Map<string, PayoutProgress>();
  for (const item of batch.items)
    progress.set(item.paymentId, await progressOf(context, orgId, item.paymentId));
  const plan = planResume(
    loaded.state,
    (paymentId) => progress.get(paymentId) ?? { status: 'absent', requestRecorded: false },
  );
  const actions =
    plan.inDoubt.length + plan.send.length + plan.initiate.length + plan.fail.length + plan.unsent.length;
  // Looked at again before each payout: a cancellation recorded meanwhile (its run was alive
  // after all) stops the resumer before it sends anything the caller called off.
  const cancelled = async (): Promise<boolean> =>
    (await loadAggregate(context, stream, payoutBatchDecider)).state.notSent.size > 0;
  let used = 0;
  let inDoubt = 0;
  for (const paymentId of plan.inDoubt) {
    if (used >= budget) break;
    used += 1;
    // Never sent again: pending, so the resolver asks M-Pesa by its OriginatorConversationID.
    await decideOnPayment(context, orgId, paymentId, { type: 'RecordSubmission', providerRef: paymentId });
    inDoubt += 1;
    services.log.warn(
      { orgId, batchId, paymentId },
      'payout of a cut-short batch may have reached M-Pesa; left to the status query',
    );
  }
  // A cancelled batch: what its dead run's workers had taken is closed, never sent.
  let cancelledNow = 0;
  for (const paymentId of plan.fail) {
    if (used >= budget) break;
    used += 1;
    await failUnsent(context, orgId, paymentId);
    cancelledNow += 1;
  }
  const unsent = plan.unsent.slice(0, Math.max(0, budget - used));
  if (unsent.length > 0) {
    used += unsent.length;
    await executeOnStream(context, stream, payoutBatchDecider, (state) =>
      cancelUnsentPayouts(unsent, UNSENT_REASON, state),
    );
    cancelledNow += unsent.length;
  }
  let sent = 0;
  for (const paymentId of plan.send) {
    if (used >= budget || (await cancelled())) break;
    used += 1;
    const state = await loadPayment(context, orgId, paymentId);
    if (!state.intent) continue;
    await submitPayout(context, orgId, state.intent, { resumed: true });
    sent += 1;
  }
  for (const item of plan.initiate) {
    if (used >= budget || (await cancelled())) break;
    used += 1;
    await sendBatchPayout(context, orgId, batch, item, true);
    sent += 1;
  }
  if (sent + inDoubt > 0) {
    services.log.info({ orgId, batchId, sent, inDoubt }, 'resumed a payout batch whose run died');
  }
  if (used < actions) return { sent, inDoubt, cancelled: cancelledNow, dispatched: false };
  const dispatched = await markBatchDispatched(context, orgId, batchId, 'resumer');
  // Abandoned meanwhile (another node's round gave up on it): a person's, never reported done.
  if (dispatched.output.abandoned) return null;
  await reportApproval(context, orgId, created, batch);
  return { sent, inDoubt, cancelled: cancelledNow, dispatched: dispatched.output.changed };
}

const UNSENT_REASON = 'The caller cancelled the batch; its run died before sending this payout.';

/**
 * A payout of a cancelled batch that was initiated (perhaps reserved) and never sent: failed
 * through the ledger path — which fails only a payment nobody has started sending, so a slow
 * run that recorded its request first keeps it — then its reservation, if any, voided.
 * Repeatable: a failed payment whose reservation is still pending is voided again.
 */
async function failUnsent(context: CommandContext, orgId: string, paymentId: string): Promise<void> {
  const settled = await decideOnPayment(context, orgId, paymentId, {
    type: 'Settle',
    via: 'ledger',
    result: {
      outcome: 'failed',
      resultCode: 'CANCELLED',
      resultText: 'The batch was cancelled before this payout was sent; it never was.',
    },
  });
  if (settled.output.status !== 'failed') return;
  const services = context.services;
  const transfer = (await services.ledger.state(orgId)).transfers.get(paymentId);
  if (transfer?.status !== 'pending') return;
  const voided = await settleReservation(
    services,
    orgId,
    paymentId,
    'void',
    eventMetadata(context),
    context.now,
  );
  if (!voided.ok) {
    throw new LedgerlineError('INTERNAL', 'The reservation of a cancelled payout was not voided.', {
      paymentId,
    });
  }
}

/**
 * A batch past the resumer's maximum age: never resumed. When nothing of it is left to do
 * (every payout handed on by a run from before dispatch was recorded) it is closed quietly;
 * otherwise it is abandoned (`stuck`) with an error logged, for a person to decide.
 */
async function leaveTooOld(
  context: CommandContext,
  orgId: string,
  batchId: string,
  created: RecordedEvent,
  maxAgeMs: number,
): Promise<void> {
  const services = context.services;
  const stream = batchStream(orgId, batchId);
  const loaded = await loadAggregate(context, stream, payoutBatchDecider);
  const batch = loaded.state.created;
  if (!batch) return;
  const progress = new Map<string, PayoutProgress>();
  for (const item of batch.items)
    progress.set(item.paymentId, await progressOf(context, orgId, item.paymentId));
  const plan = planResume(
    loaded.state,
    (paymentId) => progress.get(paymentId) ?? { status: 'absent', requestRecorded: false },
  );
  const left =
    plan.inDoubt.length + plan.send.length + plan.initiate.length + plan.fail.length + plan.unsent.length;
  if (left === 0) {
    await markBatchDispatched(context, orgId, batchId, 'resumer');
    return;
  }
  await executeOnStream(context, stream, payoutBatchDecider, (state) =>
    recordResumeFailure(TOO_OLD_REASON, 1, state),
  );
  services.log.error(
    {
      orgId,
      batchId,
      createdAt: created.occurredAt.toISOString(),
      maxAgeMs,
      unsent: left,
      reason: TOO_OLD_REASON,
    },
    'payout batch too old to resume; its unsent payouts are left for a person, never sent',
  );
}

/** The reason recorded on a batch left because of its age: its reservations' lifetime passed. */
const TOO_OLD_REASON = 'PENDING_EXPIRED';

/**
 * A batch run by an approval whose approve died with it: the approval still says approved
 * and never got its outcome. It is recorded now, the answer built as the approve builds it.
 */
async function reportApproval(
  context: CommandContext,
  orgId: string,
  created: RecordedEvent,
  batch: PayoutBatchCreatedData,
): Promise<void> {
  const approvalId = created.causationId;
  if (!APPROVAL_ID.test(approvalId)) return;
  const approval = await loadAggregate(context, approvalStream(orgId, approvalId), approvalDecider);
  if (approval.state.status !== 'approved' || approval.state.request?.command !== 'mpesa_bulk_payment')
    return;
  const loaded = await loadAggregate(context, batchStream(orgId, batch.batchId), payoutBatchDecider);
  const answer = await answerBatch(context, orgId, batch, loaded.state.notSent, loaded.position);
  await decideOnApproval(context, orgId, approvalId, {
    type: 'RecordOutcome',
    outcome: {
      ok: true,
      answer: asJson({
        ...answer.output,
        revision: loaded.revision === null ? null : loaded.revision.toString(),
        position: answer.position === null ? null : formatPosition(answer.position),
      }),
      position: answer.position === null ? null : formatPosition(answer.position),
    },
  });
}

export function startPayoutResumer(
  services: Services,
  options: ResumerOptions = RESUMER_DEFAULTS,
): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = resumeBatches(services, services.clock(), options)
      .then(() => undefined)
      .catch((error: unknown) => {
        services.log.error({ err: error }, 'payout resumer round failed; retrying next round');
      })
      .finally(() => {
        running = null;
      });
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
