/**
 * How payments move the ledger: the accounts of the organization's mapping, opened on first
 * use, and transfers whose ids derive from the payment, so a retried or duplicated settlement
 * posts once (same id, same body: the ledger answers with the first result).
 */
import type { EventMetadata } from '../../adapters/eventstore/port.js';
import { LedgerlineError } from '../../domain/errors.js';
import type { AccountType, TransferCode } from '../../domain/ledger/events.js';
import type { LedgerCommand, LedgerResult } from '../../domain/ledger/decide.js';
import { isLedgerlineError } from '../../domain/errors.js';
import type { Services } from '../context.js';
import { requestHash } from '../idempotency.js';

export interface AccountSpec {
  readonly address: string;
  readonly asset: string;
  readonly scale: number;
  readonly type: AccountType;
  /** For an asset account the organization holds (a float): it cannot go below zero. */
  readonly neverNegative: boolean;
}

async function run(
  services: Services,
  orgId: string,
  command: LedgerCommand,
  metadata: EventMetadata,
  now: Date,
) {
  return services.ledger.execute(orgId, command, metadata, now);
}

/** Opens each account unless it exists (the ledger answers `exists` for the same definition). */
export async function ensureAccounts(
  services: Services,
  orgId: string,
  accounts: readonly AccountSpec[],
  metadata: EventMetadata,
  now: Date,
): Promise<void> {
  const state = await services.ledger.state(orgId);
  for (const account of accounts) {
    if (state.accounts.has(account.address)) continue;
    await run(
      services,
      orgId,
      {
        type: 'OpenAccount',
        address: account.address,
        asset: account.asset,
        scale: account.scale,
        accountType: account.type,
        flags: { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: account.neverNegative },
        creditLimit: null,
        metadata: { opened_by: 'payments' },
      },
      metadata,
      now,
    );
  }
}

export interface PostingRequest {
  readonly transferId: string;
  readonly debitAccount: string;
  readonly creditAccount: string;
  readonly amount: string;
  readonly code: TransferCode;
  readonly reference: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Reserve now, post or void later. */
  readonly pendingTimeoutAt?: string;
}

export type PostingOutcome = { readonly ok: true } | { readonly ok: false; readonly error: LedgerlineError };

/** One transfer; a refusal (insufficient funds, limit, closed account) comes back as a value. */
export async function postTransfer(
  services: Services,
  orgId: string,
  request: PostingRequest,
  metadata: EventMetadata,
  now: Date,
): Promise<PostingOutcome> {
  const { pendingTimeoutAt, ...body } = request;
  const outcome = await run(
    services,
    orgId,
    {
      type: 'CreateTransfers',
      linked: false,
      transfers: [
        {
          ...body,
          pendingTimeoutAt: pendingTimeoutAt ?? null,
          requestHash: requestHash('transfer', request).slice(0, 32),
        },
      ],
    },
    metadata,
    now,
  );
  return itemOutcome(outcome.result, request.transferId);
}

function itemOutcome(result: LedgerResult, transferId: string): PostingOutcome {
  if (result.kind !== 'transfers') throw new Error(`unexpected ledger result ${result.kind}`);
  const item = result.results.find((candidate) => candidate.transferId === transferId);
  if (!item) throw new Error(`the ledger did not answer for ${transferId}`);
  if (item.result === 'created' || item.result === 'exists') return { ok: true };
  return {
    ok: false,
    error: new LedgerlineError(item.result, item.message ?? `The ledger refused ${transferId}.`),
  };
}

/**
 * Posts or voids a reservation; a reservation already settled the same way is fine, and so is
 * voiding one that has expired (released either way).
 */
export async function settleReservation(
  services: Services,
  orgId: string,
  transferId: string,
  outcome: 'post' | 'void',
  metadata: EventMetadata,
  now: Date,
): Promise<PostingOutcome> {
  try {
    await run(
      services,
      orgId,
      outcome === 'post'
        ? { type: 'PostPending', transferId, amount: null }
        : { type: 'VoidPending', transferId },
      metadata,
      now,
    );
    return { ok: true };
  } catch (error) {
    if (!isLedgerlineError(error)) throw error;
    // A void wants the reservation released: past its timeout the expiry does that (recorded
    // here, not left to the next sweep), so it is done. A post past it is not: callers decide.
    if (error.code === 'PENDING_EXPIRED' && outcome === 'void') {
      await run(services, orgId, { type: 'ExpirePending' }, metadata, now);
      return { ok: true };
    }
    // Already posted or voided by an earlier delivery of the same result.
    if (error.code === 'INVALID_STATE') {
      const transfer = (await services.ledger.state(orgId)).transfers.get(transferId);
      const done = outcome === 'post' ? 'posted' : 'voided';
      if (transfer?.status === done) return { ok: true };
    }
    return { ok: false, error };
  }
}

/** Reverses (in full or in part) a posted transfer, once per reversal id. */
export async function reverseTransfer(
  services: Services,
  orgId: string,
  request: { transferId: string; reversalId: string; amount: string | null; code: 'reversal' | 'refund' },
  metadata: EventMetadata,
  now: Date,
): Promise<PostingOutcome> {
  try {
    await run(
      services,
      orgId,
      {
        type: 'ReverseTransfer',
        transferId: request.transferId,
        reversalId: request.reversalId,
        amount: request.amount,
        code: request.code,
        metadata: {},
        requestHash: requestHash('reversal', request).slice(0, 32),
      },
      metadata,
      now,
    );
    return { ok: true };
  } catch (error) {
    if (!isLedgerlineError(error)) throw error;
    return { ok: false, error };
  }
}
