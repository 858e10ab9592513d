/**
 * Given / when / then for the ledger decider (SPEC §4), and builders for its events and commands.
 *
 * The ledger state is mutable (`evolveLedger` changes it in place), so every `given` folds its
 * events into a fresh `initialLedger()`: `ledgerDecider.initialState` is a getter that makes a new
 * one each time it is read, which is what the generic `deciderSpec` needs to keep specs apart.
 *
 *   ledgerSpec.given([opened('a', 'KES')]).when(closeAccount('a')).then([closed('a')]);
 */
import { expect } from 'vitest';
import {
  decideLedger,
  type LedgerCommand,
  type LedgerResult,
  type TransferRequest,
} from '../../src/domain/ledger/decide.js';
import type { Decision } from '../../src/domain/decider.js';
import type { AccountType, LedgerEvent, Metadata, TransferCode } from '../../src/domain/ledger/events.js';
import { KNOWN_SCALES } from '../../src/domain/ledger/money.js';
import { evolveLedger, initialLedger, type LedgerState } from '../../src/domain/ledger/state.js';
import { deciderSpec, SPEC_NOW, type DeciderUnderTest } from './decider.js';

export { SPEC_NOW };

export const ledgerDecider: DeciderUnderTest<LedgerCommand, LedgerState, LedgerEvent, LedgerResult> = {
  get initialState(): LedgerState {
    return initialLedger();
  },
  evolve: evolveLedger,
  decide: (command, state, context) => decideLedger(command, state, context.now),
};

export const ledgerSpec = deciderSpec(ledgerDecider);

/** A fresh state with these events applied. */
export function foldLedger(events: readonly LedgerEvent[]): LedgerState {
  return events.reduce(evolveLedger, initialLedger());
}

/**
 * Decides `command` on the state `history` makes, checking that the state was left untouched;
 * answers the decision and the state (for assertions the given/when/then helpers do not cover).
 */
export function decideOn(
  history: readonly LedgerEvent[],
  command: LedgerCommand,
  now: string = SPEC_NOW,
): { state: LedgerState; decision: Decision<LedgerEvent, LedgerResult> } {
  const state = foldLedger(history);
  const before = structuredClone(state);
  const decision = decideLedger(command, state, now);
  expect(state, 'decide must not change the state it was given').toEqual(before);
  return { state, decision };
}

/** The instant `seconds` after SPEC_NOW (before it when negative), as decide expects it. */
export function secondsAfterNow(seconds: number): string {
  return new Date(Date.parse(SPEC_NOW) + seconds * 1000).toISOString();
}

const NO_BOUND = { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false } as const;

export type Bound = 'none' | 'debits' | 'credits';

function flagsOf(bound: Bound): { debitsMustNotExceedCredits: boolean; creditsMustNotExceedDebits: boolean } {
  if (bound === 'debits') return { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: false };
  if (bound === 'credits') return { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: true };
  return { ...NO_BOUND };
}

export interface AccountOptions {
  readonly scale?: number;
  readonly accountType?: AccountType;
  /** `debits`: debits must not exceed credits (a wallet); `credits`: the other way round. */
  readonly bound?: Bound;
  readonly creditLimit?: string | null;
  readonly metadata?: Metadata;
}

function scaleOf(asset: string, options: AccountOptions): number {
  const scale = options.scale ?? KNOWN_SCALES[asset];
  if (scale === undefined) throw new Error(`test: say the scale of ${asset}`);
  return scale;
}

/** The AccountOpened event of an account (the scale of a well-known asset unless given). */
export function opened(address: string, asset: string, options: AccountOptions = {}): LedgerEvent {
  return {
    type: 'AccountOpened',
    data: {
      address,
      asset,
      scale: scaleOf(asset, options),
      accountType: options.accountType ?? 'asset',
      flags: flagsOf(options.bound ?? 'none'),
      creditLimit: options.creditLimit ?? null,
      metadata: options.metadata ?? {},
    },
  };
}

export function openAccount(address: string, asset: string, options: AccountOptions = {}): LedgerCommand {
  return {
    type: 'OpenAccount',
    address,
    asset,
    scale: options.scale ?? null,
    accountType: options.accountType ?? 'asset',
    flags: flagsOf(options.bound ?? 'none'),
    creditLimit: options.creditLimit ?? null,
    metadata: options.metadata ?? {},
  };
}

export const closed = (address: string): LedgerEvent => ({ type: 'AccountClosed', data: { address } });

export const limitChanged = (address: string, creditLimit: string | null): LedgerEvent => ({
  type: 'AccountLimitChanged',
  data: { address, creditLimit },
});

export interface TransferOptions {
  readonly asset?: string;
  readonly code?: TransferCode;
  readonly metadata?: Metadata;
  readonly reference?: string | null;
  /** Two-phase: the instant the reservation times out. */
  readonly pendingTimeoutAt?: string | null;
  readonly requestHash?: string;
}

export function transferRequest(
  transferId: string,
  debitAccount: string,
  creditAccount: string,
  amount: string,
  options: TransferOptions = {},
): TransferRequest {
  return {
    transferId,
    debitAccount,
    creditAccount,
    amount,
    ...(options.asset === undefined ? {} : { asset: options.asset }),
    code: options.code ?? 'payment',
    metadata: options.metadata ?? {},
    reference: options.reference ?? null,
    pendingTimeoutAt: options.pendingTimeoutAt ?? null,
    requestHash: options.requestHash ?? `hash-${transferId}`,
  };
}

export function createTransfers(transfers: readonly TransferRequest[], linked = false): LedgerCommand {
  return { type: 'CreateTransfers', linked, transfers };
}

/** One transfer, not linked. */
export function transfer(
  transferId: string,
  debitAccount: string,
  creditAccount: string,
  amount: string,
  options: TransferOptions = {},
): LedgerCommand {
  return createTransfers([transferRequest(transferId, debitAccount, creditAccount, amount, options)]);
}

/**
 * The TransferCreated event of a transfer. `amount` must already carry exactly the asset's scale
 * (as the decider writes it); `asset` is the accounts' asset (KES unless given).
 */
export function transferred(
  transferId: string,
  debitAccount: string,
  creditAccount: string,
  amount: string,
  options: TransferOptions & { readonly reversalOf?: string | null } = {},
): LedgerEvent {
  const timeoutAt = options.pendingTimeoutAt ?? null;
  return {
    type: 'TransferCreated',
    data: {
      transferId,
      debitAccount,
      creditAccount,
      asset: options.asset ?? 'KES',
      amount,
      code: options.code ?? 'payment',
      metadata: options.metadata ?? {},
      reference: options.reference ?? null,
      pending: timeoutAt !== null,
      timeoutAt,
      reversalOf: options.reversalOf ?? null,
      requestHash: options.requestHash ?? `hash-${transferId}`,
    },
  };
}

/** The one TransfersCreated event of a command that made several transfers, in their order. */
export function transfersCreated(...made: readonly LedgerEvent[]): LedgerEvent {
  return {
    type: 'TransfersCreated',
    data: {
      transfers: made.map((event) => {
        if (event.type !== 'TransferCreated') throw new Error(`${event.type} is not a transfer`);
        return event.data;
      }),
    },
  };
}

export const pendingPosted = (transferId: string, amount: string): LedgerEvent => ({
  type: 'PendingTransferPosted',
  data: { transferId, amount },
});

export const pendingVoided = (transferId: string): LedgerEvent => ({
  type: 'PendingTransferVoided',
  data: { transferId },
});

export const pendingExpired = (transferId: string): LedgerEvent => ({
  type: 'PendingTransferExpired',
  data: { transferId },
});

export function reverse(
  transferId: string,
  reversalId: string,
  options: {
    readonly amount?: string | null;
    readonly code?: 'reversal' | 'refund';
    readonly metadata?: Metadata;
    readonly requestHash?: string;
  } = {},
): LedgerCommand {
  return {
    type: 'ReverseTransfer',
    transferId,
    reversalId,
    amount: options.amount ?? null,
    code: options.code ?? 'reversal',
    metadata: options.metadata ?? {},
    requestHash: options.requestHash ?? `hash-${reversalId}`,
  };
}

/** The four balances of an account in a state, as minor units. */
export function balancesOf(
  state: LedgerState,
  address: string,
): { debitsPosted: bigint; creditsPosted: bigint; debitsPending: bigint; creditsPending: bigint } {
  const found = state.accounts.get(address);
  if (!found) throw new Error(`test: no account ${address}`);
  return { ...found.balances };
}
