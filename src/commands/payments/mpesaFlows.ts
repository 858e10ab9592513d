/**
 * M-Pesa money movements, from request to settlement (SPEC §5.1). Every step is an event on
 * the payment's stream first; the provider is called after the intent is stored; its answer —
 * now, or later by callback — comes back as a new command on the same stream. Ledger
 * transfers take their ids from the payment, so whichever path settles a payment (the
 * callback, a duplicate of it, a status query) posts once.
 */
import type { EventMetadata } from '../../adapters/eventstore/port.js';
import { parseMpesaCallback } from '../../adapters/providers/daraja/callbacks.js';
import { LedgerlineError, ValidationError } from '../../domain/errors.js';
import { scoreTransaction } from '../../domain/fraud/score.js';
import { formatAmount, isAmountProblem, parseAmount } from '../../domain/ledger/money.js';
import type { MpesaCredentials } from '../../domain/payments/credentials.js';
import {
  isMpesaAmount,
  KES_SCALE,
  toMpesaAmount,
  type MpesaAmount,
} from '../../domain/payments/mpesaAmount.js';
import type { MpesaCallback } from '../../domain/payments/mpesaResults.js';
import {
  receiptUnknown,
  type PaymentIntent,
  type PaymentKind,
  type PaymentState,
  type ReconciliationKind,
} from '../../domain/payments/payment.js';
import { isPhoneProblem, normalizeKenyanPhone, type Msisdn } from '../../domain/payments/phone.js';
import { mappedAddress, type LedgerMapping } from '../../domain/payments/settings.js';
import type { ProviderFailure } from '../../domain/payments/providerResult.js';
import { streamName } from '../../domain/streamName.js';
import { eventMetadata } from '../aggregate.js';
import type { CommandContext, Services } from '../context.js';
import { callerOf } from '../tenancy/organizationStream.js';
import { fraudHistory } from './fraudHistory.js';
import {
  ensureAccounts,
  postTransfer,
  reverseTransfer,
  settleReservation,
  type AccountSpec,
} from './ledgerPosting.js';
import { linkRef, recordCallback, type MpesaLink } from './mpesaRefs.js';
import { decideOnPayment, loadPayment } from './paymentStream.js';
import { loadPaymentSettings } from './settings.js';

export const KES = 'KES';
/** A payout's reservation outlives any plausible B2C result delay; expiry releases it if none comes. */
export const PAYOUT_RESERVATION_SECONDS = 24 * 60 * 60;

export interface MpesaAnswer {
  readonly paymentId: string;
  readonly status: string;
  readonly providerRef: string | null;
  readonly fraud: { readonly score: number; readonly decision: string; readonly rules: readonly object[] };
  readonly message: string;
}

/** The provider's side of the log: who acted, through which channel. */
export function providerMetadata(requestId: string): EventMetadata {
  return {
    actor: { kind: 'provider', id: 'mpesa' },
    channel: { kind: 'callback' },
    correlationId: requestId,
    causationId: requestId,
    requestId,
    idempotencyKey: null,
  };
}

/** A context for work the platform does on its own (callbacks, the resolver). */
export function systemContext(
  services: Services,
  requestId: string,
  channel: 'callback' | 'system',
): CommandContext {
  return {
    principal: null,
    services,
    now: services.clock(),
    requestId,
    idempotencyKey: null,
    clientAddress: '127.0.0.1',
    channel: { kind: channel },
  };
}

export function phoneOf(value: string, field = 'phone'): Msisdn {
  const phone = normalizeKenyanPhone(value);
  if (isPhoneProblem(phone)) throw new ValidationError(field, phone.reason);
  return phone;
}

/** Whole shillings only (M-Pesa moves no cents), as the decimal string the ledger takes. */
export function shillingsOf(value: string, field = 'amount'): { amount: MpesaAmount; text: string } {
  const cents = parseAmount(value, KES_SCALE);
  if (isAmountProblem(cents)) throw new ValidationError(field, cents.reason);
  const amount = toMpesaAmount(cents);
  if (!isMpesaAmount(amount)) throw new ValidationError(field, amount.reason);
  return { amount, text: formatAmount(cents, KES_SCALE) };
}

function mpesaAccounts(mapping: LedgerMapping): {
  float: AccountSpec;
  collections: AccountSpec;
  payouts: AccountSpec;
} {
  const spec = (address: string, type: AccountSpec['type'], neverNegative: boolean): AccountSpec => ({
    address: mappedAddress(address, KES),
    asset: KES,
    scale: KES_SCALE,
    type,
    neverNegative,
  });
  return {
    float: spec(mapping.mpesaFloat, 'asset', true),
    collections: spec(mapping.mpesaCollections, 'revenue', false),
    payouts: spec(mapping.mpesaPayouts, 'expense', false),
  };
}

async function accountsFor(services: Services, orgId: string, metadata: EventMetadata, now: Date) {
  const settings = await loadPaymentSettings(services, orgId);
  const accounts = mpesaAccounts(settings.ledgerMapping);
  await ensureAccounts(
    services,
    orgId,
    [accounts.float, accounts.collections, accounts.payouts],
    metadata,
    now,
  );
  return accounts;
}

export async function mpesaCredentials(services: Services, orgId: string): Promise<MpesaCredentials> {
  return services.vault.credentials(orgId, 'mpesa');
}

export async function ensureCustomer(
  services: Services,
  orgId: string,
  customerId: string | null,
): Promise<void> {
  if (customerId === null) return;
  const { rows } = await services.db.query(
    'SELECT 1 FROM rm_customers WHERE org_id = $1 AND customer_id = $2',
    [orgId, customerId],
  );
  if (rows.length === 0) throw new LedgerlineError('NOT_FOUND', 'No such customer.', { customerId });
}

function failureText(failure: ProviderFailure): { resultCode: string; resultText: string } {
  const code = 'providerCode' in failure ? failure.providerCode : failure.kind;
  return { resultCode: code || failure.kind, resultText: `${failure.kind}: ${failure.message}` };
}

/** Scores, then records the intent; answers the state the payment is in after that. */
export async function initiate(
  context: CommandContext,
  intent: Omit<PaymentIntent, 'paymentId'> & { paymentId?: string },
  scoredKind: 'collection' | 'payout',
): Promise<{
  intent: PaymentIntent;
  status: string;
  fraud: MpesaAnswer['fraud'];
  position: CommandOutcomePosition;
}> {
  const principal = callerOf(context);
  const orgId = principal.orgId;
  const settings = await loadPaymentSettings(context.services, orgId);
  const cents = parseAmount(intent.amount, intent.scale) as bigint;
  const history = await fraudHistory(context.services, {
    orgId,
    currency: intent.currency,
    scale: intent.scale,
    counterparty: intent.counterparty,
    customerId: intent.customerId,
    now: context.now,
  });
  const verdict = scoreTransaction(
    {
      kind: scoredKind,
      amount: cents,
      scale: intent.scale,
      currency: intent.currency,
      counterparty: intent.counterparty,
      atMs: context.now.getTime(),
    },
    history,
    settings.fraudPolicy,
  );
  const full: PaymentIntent = { ...intent, paymentId: intent.paymentId ?? context.services.newId('pay') };
  const outcome = await decideOnPayment(context, orgId, full.paymentId, {
    type: 'InitiatePayment',
    intent: full,
    fraud: verdict,
    alertId: context.services.newId('fra'),
  });
  return { intent: full, status: outcome.output.status, fraud: verdict, position: outcome };
}

type CommandOutcomePosition = Pick<
  Awaited<ReturnType<typeof decideOnPayment>>,
  'stream' | 'revision' | 'position'
>;

/** Sends an initiated collection to M-Pesa (STK push); answers the payment's status after. */
export async function submitCollection(context: CommandContext, orgId: string, intent: PaymentIntent) {
  const services = context.services;
  const credentials = await mpesaCredentials(services, orgId);
  const answer = await services.payments.providers.mobileMoney.stkPush(credentials, {
    phone: phoneOf(intent.counterparty),
    amount: shillingsOf(intent.amount).amount,
    accountReference: intent.reference,
    description: intent.description,
    callbackUrl: services.payments.callbacks.mpesaCallbackUrl(orgId, intent.paymentId),
  });
  if (!answer.ok && answer.failure.kind === 'unavailable' && answer.failure.mayHaveHappened) {
    // No answer in time: the customer may be typing the PIN right now. The payment stays
    // pending with no reference; its callback names the payment in its URL and settles it
    // (handleMpesaCallback), and the resolver keeps an eye on it within its bound.
    return decideOnPayment(context, orgId, intent.paymentId, { type: 'RecordSubmission', providerRef: null });
  }
  if (!answer.ok) {
    // A definite refusal: nothing happened at M-Pesa.
    return decideOnPayment(context, orgId, intent.paymentId, {
      type: 'Settle',
      via: 'provider',
      result: { outcome: 'failed', ...failureText(answer.failure) },
    });
  }
  const ref = answer.value.checkoutRequestId;
  const submitted = await decideOnPayment(context, orgId, intent.paymentId, {
    type: 'RecordSubmission',
    providerRef: ref,
  });
  const early = await linkRef(
    services,
    orgId,
    { ref, purpose: 'collection', paymentId: intent.paymentId, reversalId: null },
    eventMetadata(context),
  );
  let last = submitted;
  for (const body of early)
    last =
      (await applyCallbackBody(
        context,
        orgId,
        { ref, purpose: 'collection', paymentId: intent.paymentId, reversalId: null },
        body,
      )) ?? last;
  return last;
}

/**
 * Reserves the payout on the float, then sends it (B2C); a float that cannot cover it fails it.
 * Safe to run again for the same payout (a resumed batch, another node): the reservation is
 * the payout's own transfer id, and the request is recorded on the payment's stream before
 * M-Pesa is called (ProviderRequestStarted, exact revision) — only the writer that records it
 * calls M-Pesa, so a payout is never sent twice; the others answer the payment as it is.
 */
export async function submitPayout(
  context: CommandContext,
  orgId: string,
  intent: PaymentIntent,
  options: { readonly resumed?: boolean } = {},
) {
  const services = context.services;
  const metadata = eventMetadata(context);
  const credentials = await mpesaCredentials(services, orgId);
  const accounts = await accountsFor(services, orgId, metadata, context.now);
  const reserved = await postTransfer(
    services,
    orgId,
    {
      transferId: intent.paymentId,
      debitAccount: accounts.payouts.address,
      creditAccount: accounts.float.address,
      amount: intent.amount,
      code: 'payout',
      reference: intent.reference,
      metadata: { payment_id: intent.paymentId, ...(intent.batchId ? { batch_id: intent.batchId } : {}) },
      pendingTimeoutAt: new Date(
        context.now.getTime() +
          (services.payments.payoutReservationSeconds ?? PAYOUT_RESERVATION_SECONDS) * 1000,
      ).toISOString(),
    },
    metadata,
    context.now,
  );
  if (!reserved.ok && !(await reservationHeld(services, orgId, intent.paymentId))) {
    // Refused before anything was sent; `ledger` fails only a payment no one has sent yet.
    return decideOnPayment(context, orgId, intent.paymentId, {
      type: 'Settle',
      via: 'ledger',
      result: { outcome: 'failed', resultCode: reserved.error.code, resultText: reserved.error.message },
    });
  }
  const claimed = await decideOnPayment(context, orgId, intent.paymentId, {
    type: 'StartProviderRequest',
    requestRef: intent.paymentId,
    resumed: options.resumed ?? false,
  });
  if (!claimed.output.changed) return claimed;
  const link: MpesaLink = {
    ref: intent.paymentId,
    purpose: 'payout',
    paymentId: intent.paymentId,
    reversalId: null,
  };
  const early = await linkRef(services, orgId, link, metadata);
  const answer = await services.payments.providers.mobileMoney.b2cPayout(credentials, {
    originatorConversationId: intent.paymentId,
    phone: phoneOf(intent.counterparty),
    amount: shillingsOf(intent.amount).amount,
    remarks: intent.description,
    occasion: intent.reference,
    resultUrl: services.payments.callbacks.mpesaCallbackUrl(orgId),
  });
  if (!answer.ok) {
    if (answer.failure.kind === 'unavailable' && answer.failure.mayHaveHappened) {
      // Unknown outcome: the reservation stays, the resolver asks M-Pesa by our originator id.
      return decideOnPayment(context, orgId, intent.paymentId, {
        type: 'RecordSubmission',
        providerRef: intent.paymentId,
      });
    }
    await settleReservation(services, orgId, intent.paymentId, 'void', metadata, context.now);
    return decideOnPayment(context, orgId, intent.paymentId, {
      type: 'Settle',
      via: 'provider',
      result: { outcome: 'failed', ...failureText(answer.failure) },
    });
  }
  let last = await decideOnPayment(context, orgId, intent.paymentId, {
    type: 'RecordSubmission',
    providerRef: answer.value.conversationId || intent.paymentId,
  });
  for (const body of early) last = (await applyCallbackBody(context, orgId, link, body)) ?? last;
  return last;
}

/**
 * Whether this collection is on the ledger already, posted by the other answer about it (its
 * callback, or the status query it raced) under the payment's id with that answer's receipt in
 * the metadata, which is why posting it again is ID_REUSED. Transfer ids are the client's to
 * choose, so the transfer found must be this collection's, not merely share its id.
 */
async function collectionPosted(
  services: Services,
  orgId: string,
  intent: PaymentIntent,
  float: string,
  collections: string,
): Promise<boolean> {
  const found = (await services.ledger.state(orgId)).transfers.get(intent.paymentId);
  if (!found) return false;
  const { record } = found;
  // Compared in minor units: the ledger writes the amount at its asset's scale.
  const amount = parseAmount(intent.amount, intent.scale);
  return (
    found.status === 'posted' &&
    record.debitAccount === float &&
    record.creditAccount === collections &&
    !isAmountProblem(amount) &&
    found.amount === amount &&
    record.metadata['payment_id'] === intent.paymentId
  );
}

/**
 * Whether the payout's reservation is already on the ledger, still pending: an earlier run
 * reserved it (the same transfer id, another timeout) and died before sending it.
 */
async function reservationHeld(services: Services, orgId: string, paymentId: string): Promise<boolean> {
  const transfer = (await services.ledger.state(orgId)).transfers.get(paymentId);
  return transfer?.status === 'pending';
}

/** After a fraud review released a held M-Pesa payment: send it on. */
export async function resumeMpesaPayment(context: CommandContext, orgId: string, paymentId: string) {
  const state = await loadPayment(context, orgId, paymentId);
  if (!state.intent) throw new LedgerlineError('NOT_FOUND', 'No such payment.');
  if (state.status !== 'initiated') return null;
  return submitByKind(context, orgId, state.intent);
}

async function submitByKind(context: CommandContext, orgId: string, intent: PaymentIntent) {
  const kind: PaymentKind = intent.kind;
  if (kind === 'mpesa_collection') return submitCollection(context, orgId, intent);
  if (kind === 'mpesa_payout') return submitPayout(context, orgId, intent);
  throw new LedgerlineError('INVALID_STATE', `A ${kind} is not an M-Pesa payment.`);
}

/** Where a callback's reference is, by its kind. */
function refOf(callback: MpesaCallback): string {
  return callback.kind === 'stk' ? callback.checkoutRequestId : callback.originatorConversationId;
}

export type CallbackVerdict = 'applied' | 'unlinked' | 'malformed';

/**
 * A callback at an organization's URL: kept, correlated, applied once. Unknown or malformed
 * ones are logged and change nothing.
 */
export async function handleMpesaCallback(
  services: Services,
  orgId: string,
  body: unknown,
  requestId: string,
  named: { readonly paymentId: string; readonly reversalId: string | null } | null = null,
): Promise<CallbackVerdict> {
  const parsed = parseMpesaCallback(body);
  if (!parsed.ok) {
    services.log.warn({ orgId, requestId, reason: parsed.reason }, 'malformed M-Pesa callback ignored');
    return 'malformed';
  }
  const context = systemContext(services, requestId, 'callback');
  const metadata = providerMetadata(requestId);
  const ref = refOf(parsed.callback);
  const recorded = await recordCallback(services, orgId, ref, body as object, metadata);
  const link =
    recorded ??
    (named === null
      ? null
      : parsed.callback.kind === 'stk'
        ? await adoptLostPush(context, orgId, named.paymentId, parsed.callback, metadata)
        : named.reversalId === null
          ? null
          : await adoptLostReversal(context, orgId, named.paymentId, named.reversalId, ref, metadata));
  if (!link) {
    services.log.warn(
      { orgId, requestId, ref },
      'M-Pesa callback for an unknown reference kept without effect',
    );
    return 'unlinked';
  }
  await applyCallbackBody(context, orgId, link, body as object);
  return 'applied';
}

/**
 * The callback of a push whose answer was lost: its CheckoutRequestID was never seen, but the
 * URL names the payment. It is adopted only by that organization's pending collection that
 * has no reference yet, and only when the amount and phone it reports (if any) are the
 * payment's; the reference is then linked and recorded, so later callbacks and queries find it.
 */
async function adoptLostPush(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  callback: Extract<MpesaCallback, { kind: 'stk' }>,
  metadata: EventMetadata,
): Promise<MpesaLink | null> {
  const services = context.services;
  if (!/^pay_[0-9A-Z]{26}$/.test(paymentId)) return null;
  const state = await loadPayment(context, orgId, paymentId);
  const intent = state.intent;
  // `initiated`: the callback outran the push's own (lost) answer being recorded.
  const waiting = state.status === 'initiated' || state.status === 'pending';
  if (intent?.kind !== 'mpesa_collection' || !waiting || state.providerRef !== null) return null;
  const paid = callback.payment;
  if (callback.outcome.status === 'succeeded' && !paid) {
    // The parser refuses such a callback today; a success that says nothing of what was paid
    // is never taken as this payment's, whatever reads callbacks tomorrow.
    services.log.warn(
      { orgId, paymentId, ref: callback.checkoutRequestId },
      'an M-Pesa success callback naming a payment reports no amount; not adopted',
    );
    return null;
  }
  if (paid) {
    const expected = parseAmount(intent.amount, intent.scale);
    if (paid.amountMinor !== expected || String(paid.phone) !== intent.counterparty) {
      services.log.warn(
        { orgId, paymentId, ref: callback.checkoutRequestId },
        'an M-Pesa callback naming a payment reports another amount or phone; not adopted',
      );
      return null;
    }
  }
  const link: MpesaLink = {
    ref: callback.checkoutRequestId,
    purpose: 'collection',
    paymentId,
    reversalId: null,
  };
  await linkRef(services, orgId, link, metadata);
  await decideOnPayment(
    context,
    orgId,
    paymentId,
    { type: 'RecordSubmission', providerRef: link.ref },
    metadata,
  );
  services.log.info(
    { orgId, paymentId, ref: link.ref },
    'the callback of a push whose answer was lost found its payment',
  );
  return link;
}

/**
 * The result of a reversal whose answer was lost (its OriginatorConversationID never seen):
 * the URL names the payment and the reversal; adopted only by that organization's reversal
 * still waiting for its outcome.
 */
async function adoptLostReversal(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  reversalId: string,
  ref: string,
  metadata: EventMetadata,
): Promise<MpesaLink | null> {
  if (!/^pay_[0-9A-Z]{26}$/.test(paymentId)) return null;
  const state = await loadPayment(context, orgId, paymentId);
  if (state.intent?.kind !== 'mpesa_collection') return null;
  const waiting = state.reversals.find((reversal) => reversal.reversalId === reversalId);
  if (waiting?.status !== 'requested') return null;
  const link: MpesaLink = { ref, purpose: 'reversal', paymentId, reversalId };
  await linkRef(context.services, orgId, link, metadata);
  context.services.log.info(
    { orgId, paymentId, reversalId, ref },
    'the result of a reversal whose answer was lost found its reversal',
  );
  return link;
}

async function applyCallbackBody(context: CommandContext, orgId: string, link: MpesaLink, body: object) {
  const expected =
    link.purpose === 'payout'
      ? 'b2c'
      : link.purpose === 'reversal'
        ? 'reversal'
        : link.purpose === 'payout_status' || link.purpose === 'reversal_status'
          ? 'transaction_status'
          : link.purpose === 'balance'
            ? 'account_balance'
            : undefined;
  const parsed = parseMpesaCallback(body, expected);
  if (!parsed.ok) return null;
  return applyCallback(context, orgId, link, parsed.callback);
}

async function applyCallback(
  context: CommandContext,
  orgId: string,
  link: MpesaLink,
  callback: MpesaCallback,
) {
  const metadata = { ...providerMetadata(context.requestId) };
  if (link.purpose === 'balance') {
    if (callback.kind === 'result' && callback.balance) await recordProviderBalance(context, orgId, callback);
    return null;
  }
  const paymentId = link.paymentId;
  if (paymentId === null) return null;
  const state = await loadPayment(context, orgId, paymentId);
  const intent = state.intent;
  if (!intent) return null;
  await decideOnPayment(
    context,
    orgId,
    paymentId,
    {
      type: 'RecordCallback',
      providerRef: link.ref,
      body: { kind: callback.kind, ref: link.ref, outcome: callback.outcome },
    },
    metadata,
  );
  const outcome = callback.outcome;
  if (outcome.status === 'pending') return null;

  if (link.purpose === 'reversal_status' && link.reversalId !== null) {
    // Asked by the original transaction's receipt: only "Reversed" settles the reversal. The
    // original still "Completed" (the reversal may yet be in flight), not found or a failed
    // query is no definite answer: the resolver asks again within its bound.
    const reported =
      callback.kind === 'result' ? callback.status?.transactionStatus?.toLowerCase() : undefined;
    if (outcome.status !== 'succeeded' || reported !== 'reversed') return null;
    return settleReversal(context, orgId, paymentId, link.reversalId, null, metadata);
  }

  if (link.purpose === 'reversal' && link.reversalId !== null) {
    if (outcome.status === 'succeeded') {
      const providerRef = callback.kind === 'result' ? (callback.transactionId ?? null) : null;
      return settleReversal(context, orgId, paymentId, link.reversalId, providerRef, metadata);
    }
    return decideOnPayment(
      context,
      orgId,
      paymentId,
      {
        type: 'RecordReversalResult',
        reversalId: link.reversalId,
        result: { outcome: 'failed', resultCode: outcome.resultCode, resultText: outcome.description },
      },
      metadata,
    );
  }

  if (link.purpose === 'collection') {
    if (outcome.status === 'succeeded') {
      const named = callback.kind === 'stk' ? callback.payment?.receiptNumber : undefined;
      if (state.status === 'succeeded') {
        // Settled earlier by a status query, which names no receipt: this callback does.
        if (named === undefined || !receiptUnknown(state)) return null;
        return decideOnPayment(
          context,
          orgId,
          paymentId,
          { type: 'RecordReceipt', receipt: named },
          metadata,
        );
      }
      return settleCollection(context, orgId, state, named ?? link.ref, metadata);
    }
    return decideOnPayment(
      context,
      orgId,
      paymentId,
      {
        type: 'Settle',
        via: 'callback',
        result: { outcome: 'failed', resultCode: outcome.resultCode, resultText: outcome.description },
      },
      metadata,
    );
  }

  // A payout's own result, or a transaction-status answer about it.
  const succeeded = outcome.status === 'succeeded';
  let receipt =
    callback.kind === 'result' ? (callback.transactionId ?? callback.payout?.receipt ?? link.ref) : link.ref;
  if (link.purpose === 'payout_status') {
    const reported =
      callback.kind === 'result' ? callback.status?.transactionStatus?.toLowerCase() : undefined;
    // Only a completed payout settles by status query. "Not found", a failed query or any other
    // status is no definite refusal (the payout may still be in flight): the reservation stays,
    // the resolver asks again within its bound, the reservation's expiry releases it at worst.
    if (!succeeded || reported !== 'completed') return null;
    if (callback.kind === 'result') receipt = callback.status?.receiptNumber ?? receipt;
  }
  return settlePayout(context, orgId, paymentId, succeeded, receipt, outcome, metadata);
}

/**
 * A reversal M-Pesa made (its result, or a status query that shows the payment reversed): the
 * ledger reverses the collection under the reversal's id — the same request again is answered
 * as already done, so a late result after a status query (or the other way round) reverses
 * once — then the payment records it once.
 */
export async function settleReversal(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  reversalId: string,
  providerRef: string | null,
  metadata: EventMetadata,
) {
  const services = context.services;
  const ledger = await reverseTransfer(
    services,
    orgId,
    { transferId: paymentId, reversalId, amount: null, code: 'reversal' },
    metadata,
    context.now,
  );
  if (!ledger.ok && ledger.error.code !== 'ALREADY_REVERSED') {
    services.log.error(
      { orgId, paymentId, code: ledger.error.code },
      'M-Pesa reversed a payment the ledger could not reverse',
    );
  }
  return decideOnPayment(
    context,
    orgId,
    paymentId,
    {
      type: 'RecordReversalResult',
      reversalId,
      result: { outcome: 'succeeded', transferId: ledger.ok ? reversalId : null, providerRef },
    },
    metadata,
  );
}

async function settleCollection(
  context: CommandContext,
  orgId: string,
  state: PaymentState,
  receipt: string,
  metadata: EventMetadata,
) {
  const intent = state.intent;
  if (!intent || state.status === 'succeeded') return null;
  const accounts = await accountsFor(context.services, orgId, metadata, context.now);
  const posted = await postTransfer(
    context.services,
    orgId,
    {
      transferId: intent.paymentId,
      debitAccount: accounts.float.address,
      creditAccount: accounts.collections.address,
      amount: intent.amount,
      code: 'payment',
      reference: intent.reference,
      metadata: { payment_id: intent.paymentId, receipt },
    },
    metadata,
    context.now,
  );
  const onLedger =
    posted.ok ||
    (posted.error.code === 'ID_REUSED' &&
      (await collectionPosted(
        context.services,
        orgId,
        intent,
        accounts.float.address,
        accounts.collections.address,
      )));
  if (!onLedger) {
    context.services.log.error(
      { orgId, paymentId: intent.paymentId, code: posted.error.code },
      'a collection could not be posted to the ledger',
    );
  }
  return decideOnPayment(
    context,
    orgId,
    intent.paymentId,
    {
      type: 'Settle',
      via: 'callback',
      result: { outcome: 'succeeded', receipt, transferId: onLedger ? intent.paymentId : null },
    },
    metadata,
  );
}

/**
 * A payout's result on the ledger: its reservation posted (paid) or voided (refused).
 *
 * A success that comes after the reservation expired (the result took longer than
 * `payoutReservationSeconds`) still happened at M-Pesa: the money left the float, so the
 * books must show it. It is posted as a fresh transfer from the float (id `{paymentId}_late`,
 * deterministic, so a repeated result posts once) and a reconciliation alert says so
 * (`payout_settled_after_expiry`): between the expiry and the late result the float looked
 * larger than it was. If the float can no longer cover it (the released amount was spent),
 * the payment still succeeds — it did — with no transfer, and the alert is `payout_unposted`,
 * for a person to fund the float and post it. A failure after the expiry has nothing to void.
 */
async function settlePayout(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  succeeded: boolean,
  receipt: string,
  outcome: MpesaCallback['outcome'],
  metadata: EventMetadata,
) {
  const services = context.services;
  const state = await loadPayment(context, orgId, paymentId);
  // A repeated result about a settled payout: the decider records nothing, the ledger is done.
  const settled = state.status === 'succeeded' || state.status === 'failed';
  let transferId: string | null = null;
  let late: { readonly transferId: string | null; readonly problem: string | null } | null = null;
  if (!settled) {
    const ledger = await settleReservation(
      services,
      orgId,
      paymentId,
      succeeded ? 'post' : 'void',
      metadata,
      context.now,
    );
    if (ledger.ok) transferId = paymentId;
    else if (await reservationLapsed(services, orgId, paymentId, ledger.error.code, metadata, context.now)) {
      if (succeeded && state.intent) late = await postLatePayout(context, orgId, state.intent, metadata);
    } else {
      services.log.error(
        { orgId, paymentId, code: ledger.error.code },
        'a payout reservation could not be settled on the ledger',
      );
    }
  }
  const answer = await decideOnPayment(
    context,
    orgId,
    paymentId,
    {
      type: 'Settle',
      via: 'callback',
      result: succeeded
        ? { outcome: 'succeeded', receipt, transferId: late ? late.transferId : transferId }
        : { outcome: 'failed', resultCode: outcome.resultCode, resultText: outcome.description },
    },
    metadata,
  );
  if (late) {
    services.log.warn(
      { orgId, paymentId, transferId: late.transferId },
      'an M-Pesa payout succeeded after its reservation expired; raised for reconciliation',
    );
    await raiseReconciliationAlert(
      context,
      orgId,
      paymentId,
      late.transferId === null ? 'payout_unposted' : 'payout_settled_after_expiry',
      late.transferId,
      late.transferId === null
        ? `M-Pesa paid the payout (receipt ${receipt}) after its reservation expired, and the float could not cover it: ${late.problem ?? 'refused'}. Fund the float and post it.`
        : `M-Pesa paid the payout (receipt ${receipt}) after its reservation expired; posted late as ${late.transferId}. The float looked larger than it was in between.`,
      metadata,
    );
  }
  return answer;
}

/** The suffix of the transfer that records a payout paid after its reservation expired. */
export const LATE_PAYOUT_SUFFIX = '_late';

/**
 * Whether the reservation is gone by expiry (its timeout passed: expired by the sweeper, or
 * expired now when the sweeper has not run yet, so the fresh posting does not count it twice).
 */
async function reservationLapsed(
  services: Services,
  orgId: string,
  paymentId: string,
  code: string,
  metadata: EventMetadata,
  now: Date,
): Promise<boolean> {
  if (code === 'PENDING_EXPIRED') {
    await services.ledger.execute(orgId, { type: 'ExpirePending' }, metadata, now);
  }
  const transfer = (await services.ledger.state(orgId)).transfers.get(paymentId);
  return transfer?.status === 'expired';
}

async function postLatePayout(
  context: CommandContext,
  orgId: string,
  intent: PaymentIntent,
  metadata: EventMetadata,
): Promise<{ transferId: string | null; problem: string | null }> {
  const accounts = await accountsFor(context.services, orgId, metadata, context.now);
  const transferId = `${intent.paymentId}${LATE_PAYOUT_SUFFIX}`;
  const posted = await postTransfer(
    context.services,
    orgId,
    {
      transferId,
      debitAccount: accounts.payouts.address,
      creditAccount: accounts.float.address,
      amount: intent.amount,
      code: 'payout',
      reference: intent.reference,
      // Deterministic: the same late result, by callback or by status query, posts once.
      metadata: { payment_id: intent.paymentId, reason: 'paid_after_reservation_expired' },
    },
    metadata,
    context.now,
  );
  return posted.ok
    ? { transferId, problem: null }
    : { transferId: null, problem: `${posted.error.code}: ${posted.error.message}` };
}

export function floatStream(orgId: string): string {
  return streamName(orgId, 'mpesa_float', orgId);
}

async function recordProviderBalance(
  context: CommandContext,
  orgId: string,
  callback: Extract<MpesaCallback, { kind: 'result' }>,
) {
  const services = context.services;
  const accounts = (callback.balance?.accounts ?? []).map((account) => ({
    name: account.name,
    currency: account.currency,
    available: formatAmount(account.availableMinor, KES_SCALE),
  }));
  const working =
    callback.balance?.accounts.find((account) => /working/i.test(account.name)) ??
    callback.balance?.accounts[0];
  const ledgerBalance = await floatBalance(services, orgId);
  const provider = working ? working.availableMinor : null;
  const ledgerUnits = parseAmount(ledgerBalance.replace('-', ''), KES_SCALE);
  const signedLedger = isAmountProblem(ledgerUnits)
    ? 0n
    : ledgerBalance.startsWith('-')
      ? -ledgerUnits
      : ledgerUnits;
  await services.store.append(
    floatStream(orgId),
    [
      {
        type: 'MpesaBalanceReported',
        data: {
          accounts,
          providerAvailable: provider === null ? null : formatAmount(provider, KES_SCALE),
          ledgerBalance,
          difference: provider === null ? null : formatAmount(provider - signedLedger, KES_SCALE),
        },
        metadata: providerMetadata(context.requestId),
        occurredAt: services.clock(),
      },
    ],
    'any',
  );
}

/** The float account's posted balance (debits − credits) in the ledger, "0.00" before any movement. */
export async function floatBalance(services: Services, orgId: string): Promise<string> {
  const settings = await loadPaymentSettings(services, orgId);
  const address = mappedAddress(settings.ledgerMapping.mpesaFloat, KES);
  const state = await services.ledger.state(orgId);
  const account = state.accounts.get(address);
  if (!account) return formatAmount(0n, KES_SCALE);
  const balances = account.balances;
  return formatAmount(balances.debitsPosted - balances.creditsPosted, KES_SCALE);
}

/** Asks M-Pesa for the float; its answer arrives by callback and is recorded with the difference. */
export async function requestProviderBalance(context: CommandContext, orgId: string): Promise<string> {
  const services = context.services;
  const credentials = await mpesaCredentials(services, orgId);
  const answer = await services.payments.providers.mobileMoney.accountBalance(credentials, {
    resultUrl: services.payments.callbacks.mpesaCallbackUrl(orgId),
    remarks: 'float reconciliation',
  });
  if (!answer.ok)
    throw new LedgerlineError(
      'PROVIDER_UNAVAILABLE',
      `M-Pesa did not take the balance query: ${answer.failure.message}`,
    );
  const link: MpesaLink = {
    ref: answer.value.originatorConversationId,
    purpose: 'balance',
    paymentId: null,
    reversalId: null,
  };
  const early = await linkRef(services, orgId, link, eventMetadata(context));
  for (const body of early) await applyCallbackBody(context, orgId, link, body);
  return link.ref;
}

/** Reverses a succeeded collection at M-Pesa, at most once; the ledger follows the result. */
export async function startReversal(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  reason: string,
) {
  const services = context.services;
  const state = await loadPayment(context, orgId, paymentId);
  if (!state.intent || !state.intent.kind.startsWith('mpesa_'))
    throw new LedgerlineError('NOT_FOUND', 'No such M-Pesa payment.', { paymentId });
  if (state.intent.kind !== 'mpesa_collection') {
    throw new LedgerlineError(
      'INVALID_STATE',
      'Only a collection can be reversed; a payout is final once paid.',
    );
  }
  // M-Pesa reverses by receipt: asking with the stand-in could only fail there, after the
  // reversal was recorded as requested. Refused here instead, writing nothing.
  if (state.status === 'succeeded' && receiptUnknown(state)) {
    throw new LedgerlineError(
      'INVALID_STATE',
      'M-Pesa has not named this collection’s receipt yet (it was settled by a status query, which names none); it can be reversed once M-Pesa’s callback brings the receipt.',
      { paymentId },
    );
  }
  const credentials = await mpesaCredentials(services, orgId);
  const reversalId = services.newId('rev');
  const requested = await decideOnPayment(context, orgId, paymentId, {
    type: 'RequestReversal',
    reversalId,
    amount: null,
    reason,
    partialAllowed: false,
  });
  const answer = await services.payments.providers.mobileMoney.reversal(credentials, {
    transactionId: state.receipt ?? '',
    amount: shillingsOf(state.intent.amount).amount,
    resultUrl: services.payments.callbacks.mpesaCallbackUrl(orgId, paymentId, reversalId),
    remarks: reason.slice(0, 100),
  });
  if (!answer.ok) {
    if (answer.failure.kind === 'unavailable' && answer.failure.mayHaveHappened)
      return { requested, reversalId };
    const failed = await decideOnPayment(context, orgId, paymentId, {
      type: 'RecordReversalResult',
      reversalId,
      result: { outcome: 'failed', ...failureText(answer.failure) },
    });
    return { requested: failed, reversalId };
  }
  const link: MpesaLink = {
    ref: answer.value.originatorConversationId,
    purpose: 'reversal',
    paymentId,
    reversalId,
  };
  const early = await linkRef(services, orgId, link, eventMetadata(context));
  let last = requested;
  for (const body of early) last = (await applyCallbackBody(context, orgId, link, body)) ?? last;
  return { requested: last, reversalId };
}

/**
 * Asks M-Pesa about a payment still waiting for its result: an STK query answers at once; a
 * payout's transaction status answers by callback. Every ask is recorded (ProviderStatusQueried),
 * answered or not, so the resolver can count its attempts. Only a definite answer settles the
 * payment: "still processing", a lost answer or a query M-Pesa refused leaves it pending.
 */
export async function queryProvider(
  context: CommandContext,
  orgId: string,
  paymentId: string,
): Promise<boolean> {
  const services = context.services;
  const state = await loadPayment(context, orgId, paymentId);
  const intent = state.intent;
  if (!intent || (state.status !== 'pending' && state.status !== 'initiated')) return false;
  const stillPending = async (resultCode: string, resultText: string): Promise<false> => {
    await decideOnPayment(context, orgId, paymentId, {
      type: 'RecordStatusQuery',
      outcome: 'pending',
      resultCode,
      resultText,
    });
    return false;
  };
  const credentials = await mpesaCredentials(services, orgId);
  if (intent.kind === 'mpesa_collection') {
    if (state.providerRef === null) {
      // The push's answer was lost: without its CheckoutRequestID, M-Pesa cannot be asked.
      // Its callback (which carries our payment id in the URL) is what can still settle it.
      return stillPending('no_reference', 'The CheckoutRequestID is unknown; waiting for the callback.');
    }
    const answer = await services.payments.providers.mobileMoney.stkQuery(credentials, {
      checkoutRequestId: state.providerRef,
    });
    if (!answer.ok) return stillPending(answer.failure.kind, answer.failure.message);
    if (answer.value.status === 'pending') return stillPending('processing', answer.value.description);
    const outcome = answer.value.outcome;
    await decideOnPayment(context, orgId, paymentId, {
      type: 'RecordStatusQuery',
      outcome: outcome.status,
      resultCode: outcome.resultCode,
      resultText: outcome.description,
    });
    if (outcome.status === 'pending') return false;
    const metadata = eventMetadata(context);
    if (outcome.status === 'succeeded') {
      // An STK query names no receipt; the checkout id stands in until a callback brings one.
      await settleCollection(
        context,
        orgId,
        await loadPayment(context, orgId, paymentId),
        state.providerRef,
        metadata,
      );
    } else {
      await decideOnPayment(context, orgId, paymentId, {
        type: 'Settle',
        via: 'query',
        result: { outcome: 'failed', resultCode: outcome.resultCode, resultText: outcome.description },
      });
    }
    return true;
  }
  if (intent.kind === 'mpesa_payout') {
    const answer = await services.payments.providers.mobileMoney.transactionStatus(credentials, {
      originatorConversationId: intent.paymentId,
      resultUrl: services.payments.callbacks.mpesaCallbackUrl(orgId),
      remarks: 'payout status',
    });
    if (!answer.ok) return stillPending(answer.failure.kind, answer.failure.message);
    const link: MpesaLink = {
      ref: answer.value.originatorConversationId,
      purpose: 'payout_status',
      paymentId,
      reversalId: null,
    };
    const early = await linkRef(services, orgId, link, eventMetadata(context));
    await stillPending('requested', 'Transaction status asked; the answer comes by callback.');
    for (const body of early) await applyCallbackBody(context, orgId, link, body);
    return true;
  }
  return false;
}

/**
 * Asks M-Pesa about a reversal still waiting for its outcome (its answer and result both lost,
 * or only its result): a transaction status query by the reversed collection's receipt (the
 * TransactionID, PROVIDERS.md — the reversal's own OriginatorConversationID is unknown when its
 * answer was lost), answered by callback, which settles the reversal only when it reports the
 * transaction "Reversed". Every ask is recorded on the payment (ProviderStatusQueried with the
 * reversal's id), answered or not, so the resolver can count its attempts per reversal.
 */
export async function queryReversal(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  reversalId: string,
): Promise<boolean> {
  const services = context.services;
  const state = await loadPayment(context, orgId, paymentId);
  const reversal = state.reversals.find((candidate) => candidate.reversalId === reversalId);
  if (state.intent?.kind !== 'mpesa_collection' || reversal?.status !== 'requested') return false;
  const record = async (resultCode: string, resultText: string): Promise<void> => {
    await decideOnPayment(context, orgId, paymentId, {
      type: 'RecordStatusQuery',
      reversalId,
      outcome: 'pending',
      resultCode,
      resultText,
    });
  };
  if (state.receipt === null) {
    await record('no_receipt', 'The payment has no receipt to ask M-Pesa about.');
    return false;
  }
  const credentials = await mpesaCredentials(services, orgId);
  const answer = await services.payments.providers.mobileMoney.transactionStatus(credentials, {
    transactionId: state.receipt,
    resultUrl: services.payments.callbacks.mpesaCallbackUrl(orgId),
    remarks: 'reversal status',
  });
  if (!answer.ok) {
    await record(answer.failure.kind, answer.failure.message);
    return false;
  }
  const link: MpesaLink = {
    ref: answer.value.originatorConversationId,
    purpose: 'reversal_status',
    paymentId,
    reversalId,
  };
  const early = await linkRef(services, orgId, link, eventMetadata(context));
  await record('requested', 'Transaction status asked; the answer comes by callback.');
  for (const body of early) await applyCallbackBody(context, orgId, link, body);
  return true;
}

/** A reconciliation alert on the payment (once per kind): a person must compare the books with M-Pesa. */
export async function raiseReconciliationAlert(
  context: CommandContext,
  orgId: string,
  paymentId: string,
  kind: ReconciliationKind,
  transferId: string | null,
  detail: string,
  metadata?: EventMetadata,
  reversalId?: string,
) {
  return decideOnPayment(
    context,
    orgId,
    paymentId,
    {
      type: 'RaiseReconciliationAlert',
      alertId: context.services.newId('rca'),
      kind,
      ...(reversalId === undefined ? {} : { reversalId }),
      transferId,
      detail,
    },
    metadata,
  );
}
