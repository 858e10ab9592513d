/**
 * The ledger's state: assets and their scales, accounts with their four balances, and every
 * transfer. Balances are bigint minor units.
 *
 * For speed the state is mutable: `evolveLedger` changes it in place and returns it (a replay
 * of a million events must not copy maps a million times). `decide` never mutates it — it
 * works on an overlay — so one state is safely shared by the single writer that owns it.
 */
import { formatAmount, parseAmount, isAmountProblem } from './money.js';
import type { AccountFlags, AccountType, LedgerEvent, Metadata, TransferRecord } from './events.js';

export interface Balances {
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
}

export interface AccountState {
  readonly address: string;
  readonly asset: string;
  readonly scale: number;
  readonly accountType: AccountType;
  readonly flags: AccountFlags;
  creditLimit: bigint | null;
  readonly metadata: Metadata;
  status: 'open' | 'closed';
  readonly balances: Balances;
}

export type TransferStatus = 'posted' | 'pending' | 'voided' | 'expired';

export interface TransferState {
  readonly record: TransferRecord;
  readonly amount: bigint;
  status: TransferStatus;
  /** For a posted pending transfer: how much of it was posted. */
  postedAmount: bigint;
  /** What has been given back by reversals and refunds. */
  reversedAmount: bigint;
}

export interface LedgerState {
  readonly assets: Map<string, number>;
  readonly accounts: Map<string, AccountState>;
  readonly transfers: Map<string, TransferState>;
  /** Pending transfers by id, for expiry sweeps. */
  readonly pending: Set<string>;
  /** Events applied: the stream revision is this minus one. */
  eventsApplied: number;
}

export const WORLD_PREFIX = 'world:';

export function worldAccount(asset: string): string {
  return `${WORLD_PREFIX}${asset}`;
}

export function initialLedger(): LedgerState {
  return {
    assets: new Map(),
    accounts: new Map(),
    transfers: new Map(),
    pending: new Set(),
    eventsApplied: 0,
  };
}

export function zeroBalances(): Balances {
  return { debitsPosted: 0n, creditsPosted: 0n, debitsPending: 0n, creditsPending: 0n };
}

/** A stored amount of a known asset: events are validated before they are stored. */
function units(amount: string, scale: number): bigint {
  const parsed = parseAmount(amount, scale);
  if (isAmountProblem(parsed)) throw new Error(`stored amount ${amount} is invalid: ${parsed.reason}`);
  return parsed;
}

function account(state: LedgerState, address: string): AccountState {
  const found = state.accounts.get(address);
  if (!found) throw new Error(`ledger invariant: event names unknown account ${address}`);
  return found;
}

function transfer(state: LedgerState, id: string): TransferState {
  const found = state.transfers.get(id);
  if (!found) throw new Error(`ledger invariant: event names unknown transfer ${id}`);
  return found;
}

/** Applies one event in place. Asserts what must hold: a bug here must not go unnoticed. */
export function evolveLedger(state: LedgerState, event: LedgerEvent): LedgerState {
  switch (event.type) {
    case 'AccountOpened': {
      const { address, asset, scale, accountType, flags, creditLimit, metadata } = event.data;
      if (!state.assets.has(asset)) {
        state.assets.set(asset, scale);
        state.accounts.set(worldAccount(asset), {
          address: worldAccount(asset),
          asset,
          scale,
          accountType: 'equity',
          flags: { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false },
          creditLimit: null,
          metadata: {},
          status: 'open',
          balances: zeroBalances(),
        });
      }
      state.accounts.set(address, {
        address,
        asset,
        scale,
        accountType,
        flags,
        creditLimit: creditLimit === null ? null : units(creditLimit, scale),
        metadata,
        status: 'open',
        balances: zeroBalances(),
      });
      break;
    }
    case 'AccountClosed':
      account(state, event.data.address).status = 'closed';
      break;
    case 'AccountLimitChanged': {
      const target = account(state, event.data.address);
      target.creditLimit =
        event.data.creditLimit === null ? null : units(event.data.creditLimit, target.scale);
      break;
    }
    case 'TransferCreated':
      applyCreated(state, event.data);
      break;
    case 'TransfersCreated':
      for (const record of event.data.transfers) applyCreated(state, record);
      break;
    case 'PendingTransferPosted': {
      const pending = transfer(state, event.data.transferId);
      const debit = account(state, pending.record.debitAccount);
      const credit = account(state, pending.record.creditAccount);
      const posted = units(event.data.amount, debit.scale);
      releasePending(state, pending);
      debit.balances.debitsPosted += posted;
      credit.balances.creditsPosted += posted;
      pending.status = 'posted';
      pending.postedAmount = posted;
      break;
    }
    case 'PendingTransferVoided':
    case 'PendingTransferExpired': {
      const pending = transfer(state, event.data.transferId);
      releasePending(state, pending);
      pending.status = event.type === 'PendingTransferVoided' ? 'voided' : 'expired';
      break;
    }
    default: {
      // An event this version does not know (written by a newer one): deciding on a state
      // that skipped it would enforce limits on wrong balances, so refuse loudly instead.
      const unknown: { type: string } = event;
      throw new Error(`ledger: unknown event type ${unknown.type}; upgrade this node`);
    }
  }
  state.eventsApplied += 1;
  return state;
}

function applyCreated(state: LedgerState, record: TransferRecord): void {
  const debit = account(state, record.debitAccount);
  const credit = account(state, record.creditAccount);
  const amount = units(record.amount, debit.scale);
  if (record.pending) {
    debit.balances.debitsPending += amount;
    credit.balances.creditsPending += amount;
    state.pending.add(record.transferId);
  } else {
    debit.balances.debitsPosted += amount;
    credit.balances.creditsPosted += amount;
  }
  state.transfers.set(record.transferId, {
    record,
    amount,
    status: record.pending ? 'pending' : 'posted',
    postedAmount: record.pending ? 0n : amount,
    reversedAmount: 0n,
  });
  if (record.reversalOf !== null) transfer(state, record.reversalOf).reversedAmount += amount;
}

function releasePending(state: LedgerState, pending: TransferState): void {
  if (pending.status !== 'pending')
    throw new Error(`ledger invariant: ${pending.record.transferId} is not pending`);
  account(state, pending.record.debitAccount).balances.debitsPending -= pending.amount;
  account(state, pending.record.creditAccount).balances.creditsPending -= pending.amount;
  state.pending.delete(pending.record.transferId);
}

/** The signed balances of an account (SPEC §4): posted, and available after pending outflows. */
export function derivedBalances(target: AccountState): { posted: bigint; available: bigint } {
  const { debitsPosted, creditsPosted, debitsPending, creditsPending } = target.balances;
  const debitNormal = target.accountType === 'asset' || target.accountType === 'expense';
  if (debitNormal)
    return { posted: debitsPosted - creditsPosted, available: debitsPosted - creditsPosted - creditsPending };
  return { posted: creditsPosted - debitsPosted, available: creditsPosted - debitsPosted - debitsPending };
}

export function formatBalances(target: AccountState): Record<string, string> {
  const { posted, available } = derivedBalances(target);
  const f = (value: bigint): string => formatAmount(value, target.scale);
  return {
    debitsPosted: f(target.balances.debitsPosted),
    creditsPosted: f(target.balances.creditsPosted),
    debitsPending: f(target.balances.debitsPending),
    creditsPending: f(target.balances.creditsPending),
    posted: f(posted),
    available: f(available),
  };
}
