/**
 * The ledger's decisions (SPEC §4). Pure: the clock arrives as `now`, request fingerprints as
 * `requestHash`. A batch of transfers is decided against an overlay of the state, item after
 * item, so each sees the ones before it; linked batches commit all or none. Expected
 * refusals are values: per item for batches, a refusal for the other commands.
 */
import { accept as acceptAny, refuse as refuseAny, unreachable, type Decision } from '../decider.js';
import { LedgerlineError, type ErrorCode, type ErrorDetails } from '../errors.js';
import type {
  AccountFlags,
  AccountType,
  LedgerEvent,
  Metadata,
  TransferCode,
  TransferRecord,
} from './events.js';
import { formatAmount, isAmountProblem, isAssetCode, KNOWN_SCALES, parseAmount, SCALE_MAX } from './money.js';
import {
  WORLD_PREFIX,
  type AccountState,
  type Balances,
  type LedgerState,
  type TransferState,
} from './state.js';

/** Transfers in one batch, at most. */
export const TRANSFER_BATCH_MAX = 1_000;
/** A pending transfer times out within this many seconds at most (30 days). */
export const PENDING_TIMEOUT_SECONDS_MAX = 30 * 24 * 60 * 60;
/** Expired pending transfers released by one sweep, at most. */
export const EXPIRY_SWEEP_MAX = 500;

export interface TransferRequest {
  readonly transferId: string;
  readonly debitAccount: string;
  readonly creditAccount: string;
  readonly amount: string;
  /** When given, must be the accounts' asset. */
  readonly asset?: string;
  readonly code: TransferCode;
  readonly metadata: Metadata;
  readonly reference: string | null;
  /** Two-phase: reserve now, post or void later; expires at this instant (ISO, UTC). */
  readonly pendingTimeoutAt: string | null;
  readonly requestHash: string;
}

export type LedgerCommand =
  | {
      readonly type: 'OpenAccount';
      readonly address: string;
      readonly asset: string;
      /** Needed only for an asset the ledger has not seen and does not know. */
      readonly scale: number | null;
      readonly accountType: AccountType;
      readonly flags: AccountFlags;
      readonly creditLimit: string | null;
      readonly metadata: Metadata;
    }
  | { readonly type: 'CloseAccount'; readonly address: string }
  | { readonly type: 'ChangeLimit'; readonly address: string; readonly creditLimit: string | null }
  | {
      readonly type: 'CreateTransfers';
      readonly linked: boolean;
      readonly transfers: readonly TransferRequest[];
    }
  | { readonly type: 'PostPending'; readonly transferId: string; readonly amount: string | null }
  | { readonly type: 'VoidPending'; readonly transferId: string }
  | {
      readonly type: 'ReverseTransfer';
      readonly transferId: string;
      readonly reversalId: string;
      /** A partial refund; the whole remaining amount when null. */
      readonly amount: string | null;
      readonly code: 'reversal' | 'refund';
      readonly metadata: Metadata;
      readonly requestHash: string;
    }
  | { readonly type: 'ExpirePending' };

export type ItemOutcome = 'created' | 'exists' | ErrorCode;

export interface ItemResult {
  readonly transferId: string;
  readonly result: ItemOutcome;
  readonly message: string | null;
}

export type LedgerResult =
  | {
      readonly kind: 'account';
      readonly address: string;
      readonly status: 'opened' | 'exists' | 'closed' | 'limit_changed';
    }
  | { readonly kind: 'transfers'; readonly results: readonly ItemResult[]; readonly created: number }
  | {
      readonly kind: 'transfer';
      readonly transferId: string;
      readonly status: string;
      readonly amount: string;
    }
  | { readonly kind: 'expired'; readonly transferIds: readonly string[] };

type D = Decision<LedgerEvent, LedgerResult>;
const accept = (events: readonly LedgerEvent[], result: LedgerResult): D => acceptAny(events, result);
const refuse = (code: ErrorCode, message: string, details: ErrorDetails = {}): D =>
  refuseAny(code, message, details);

function failure(code: ErrorCode, message: string): LedgerlineError {
  return new LedgerlineError(code, message);
}

/** Balances as a batch has changed them so far, over the state it started from. */
class Overlay {
  private readonly balances = new Map<string, Balances>();
  readonly transfers = new Map<string, { record: TransferRecord }>();

  constructor(private readonly state: LedgerState) {}

  balance(account: AccountState): Balances {
    let working = this.balances.get(account.address);
    if (!working) {
      working = { ...account.balances };
      this.balances.set(account.address, working);
    }
    return working;
  }

  /** The transfer with this id, made earlier in this batch or before it. */
  existingTransfer(id: string): TransferRecord | null {
    return this.transfers.get(id)?.record ?? this.state.transfers.get(id)?.record ?? null;
  }
}

function openAccountOf(state: LedgerState, address: string): AccountState | LedgerlineError {
  const found = state.accounts.get(address);
  if (!found) return failure('NOT_FOUND', `No account ${address}.`);
  if (found.status === 'closed') return failure('ACCOUNT_CLOSED', `Account ${address} is closed.`);
  return found;
}

/** Would moving `amount` (debit or credit side) take `account` past its bound? Pending counts. */
function boundBreach(
  account: AccountState,
  working: Balances,
  side: 'debit' | 'credit',
  amount: bigint,
): LedgerlineError | null {
  const limit = account.creditLimit ?? 0n;
  const code: ErrorCode = account.creditLimit === null ? 'INSUFFICIENT_FUNDS' : 'LIMIT_EXCEEDED';
  if (side === 'debit' && account.flags.debitsMustNotExceedCredits) {
    if (working.debitsPosted + working.debitsPending + amount > working.creditsPosted + limit) {
      return failure(
        code,
        `${account.address} cannot be debited ${formatAmount(amount, account.scale)}: its debits would exceed its credits${account.creditLimit === null ? '' : ' plus its limit'}.`,
      );
    }
  }
  if (side === 'credit' && account.flags.creditsMustNotExceedDebits) {
    if (working.creditsPosted + working.creditsPending + amount > working.debitsPosted + limit) {
      return failure(
        code,
        `${account.address} cannot be credited ${formatAmount(amount, account.scale)}: its credits would exceed its debits${account.creditLimit === null ? '' : ' plus its limit'}.`,
      );
    }
  }
  return null;
}

/** Metadata with its keys in code-unit order (the same object when they already are). */
function inKeyOrder(metadata: Metadata): Metadata {
  const keys = Object.keys(metadata);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i += 1) sorted = (keys[i - 1] as string) < (keys[i] as string);
  if (sorted) return metadata;
  // fromEntries makes own properties, "__proto__" included (an assignment would not).
  return Object.fromEntries(keys.sort().map((key) => [key, metadata[key] as string]));
}

/** Decides one transfer against the overlay and applies it there. */
function decideTransfer(
  state: LedgerState,
  overlay: Overlay,
  request: TransferRequest,
  now: string,
  reversalOf: string | null,
): { record: TransferRecord; exists: boolean } | LedgerlineError {
  const existing = overlay.existingTransfer(request.transferId);
  if (existing) {
    if (existing.requestHash === request.requestHash) return { record: existing, exists: true };
    return failure(
      'ID_REUSED',
      `Transfer id ${request.transferId} was already used with a different request.`,
    );
  }
  if (request.debitAccount === request.creditAccount) {
    return failure('VALIDATION_FAILED', 'creditAccount: must differ from debitAccount');
  }
  const debit = openAccountOf(state, request.debitAccount);
  if (debit instanceof LedgerlineError) return debit;
  const credit = openAccountOf(state, request.creditAccount);
  if (credit instanceof LedgerlineError) return credit;
  if (debit.asset !== credit.asset || (request.asset !== undefined && request.asset !== debit.asset)) {
    return failure(
      'ASSET_MISMATCH',
      `${debit.address} holds ${debit.asset} and ${credit.address} holds ${credit.asset}${request.asset === undefined ? '' : `; the transfer says ${request.asset}`}.`,
    );
  }
  const amount = parseAmount(request.amount, debit.scale);
  if (isAmountProblem(amount)) return failure('VALIDATION_FAILED', `amount: ${amount.reason}`);
  const debitBalance = overlay.balance(debit);
  const creditBalance = overlay.balance(credit);
  const breach =
    boundBreach(debit, debitBalance, 'debit', amount) ?? boundBreach(credit, creditBalance, 'credit', amount);
  if (breach) return breach;
  const pending = request.pendingTimeoutAt !== null;
  if (request.pendingTimeoutAt !== null && request.pendingTimeoutAt <= now) {
    return failure('VALIDATION_FAILED', 'pending.timeoutSeconds: must be in the future');
  }
  if (pending) {
    debitBalance.debitsPending += amount;
    creditBalance.creditsPending += amount;
  } else {
    debitBalance.debitsPosted += amount;
    creditBalance.creditsPosted += amount;
  }
  // Keys in code-unit order, so the event's canonical encoding is JSON.stringify's (see
  // canonicalJson): a batch of a thousand records is hashed several times faster.
  const record: TransferRecord = {
    amount: formatAmount(amount, debit.scale),
    asset: debit.asset,
    code: request.code,
    creditAccount: credit.address,
    debitAccount: debit.address,
    metadata: inKeyOrder(request.metadata),
    pending,
    reference: request.reference,
    requestHash: request.requestHash,
    reversalOf,
    timeoutAt: request.pendingTimeoutAt,
    transferId: request.transferId,
  };
  overlay.transfers.set(record.transferId, { record });
  return { record, exists: false };
}

function createTransfers(
  state: LedgerState,
  command: Extract<LedgerCommand, { type: 'CreateTransfers' }>,
  now: string,
): D {
  if (command.transfers.length === 0 || command.transfers.length > TRANSFER_BATCH_MAX) {
    return refuse('VALIDATION_FAILED', `transfers: must hold 1 to ${TRANSFER_BATCH_MAX} transfers`, {
      field: 'transfers',
    });
  }
  const overlay = new Overlay(state);
  const made: TransferRecord[] = [];
  const results: ItemResult[] = [];
  for (const request of command.transfers) {
    const outcome = decideTransfer(state, overlay, request, now, null);
    if (outcome instanceof LedgerlineError) {
      results.push({ transferId: request.transferId, result: outcome.code, message: outcome.message });
      continue;
    }
    results.push({
      transferId: request.transferId,
      result: outcome.exists ? 'exists' : 'created',
      message: null,
    });
    if (!outcome.exists) made.push(outcome.record);
  }
  const failed = results.some((item) => item.result !== 'created' && item.result !== 'exists');
  if (command.linked && failed) {
    // All or none: the items that would have been made are not, and say why.
    const linkedResults = results.map((item) =>
      item.result === 'created'
        ? {
            transferId: item.transferId,
            result: 'LINKED_EVENT_FAILED' as const,
            message: 'Another transfer of this linked batch failed.',
          }
        : item,
    );
    return accept([], { kind: 'transfers', results: linkedResults, created: 0 });
  }
  return accept(transfersCreated(made), { kind: 'transfers', results, created: made.length });
}

/**
 * Estimated bytes of one transfer record in a TransfersCreated: at most this many per event.
 * Half of what the event store takes in one event (EVENT_BYTES_MAX), so the estimate's slack
 * and the envelope always fit: a batch of plain transfers is one event, a batch carrying a lot
 * of metadata becomes a few, all in the same atomic append.
 */
export const TRANSFERS_EVENT_BYTES_MAX = 512 * 1024;
/** Bytes of a record's JSON besides its strings: the keys, quotes, booleans and nulls. */
const RECORD_OVERHEAD_BYTES = 220;

/** An upper bound on a string's bytes in JSON (UTF-8, with escapes), without encoding it. */
function jsonBytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x20) bytes += 6;
    else if (code === 0x22 || code === 0x5c) bytes += 2;
    else if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else bytes += 3;
  }
  return bytes;
}

function recordBytes(record: TransferRecord): number {
  let bytes = RECORD_OVERHEAD_BYTES;
  for (const text of [
    record.transferId,
    record.debitAccount,
    record.creditAccount,
    record.asset,
    record.amount,
    record.code,
    record.requestHash,
    record.reference ?? '',
    record.timeoutAt ?? '',
    record.reversalOf ?? '',
  ]) {
    bytes += jsonBytes(text);
  }
  for (const [name, value] of Object.entries(record.metadata))
    bytes += jsonBytes(name) + jsonBytes(value) + 6;
  return bytes;
}

/**
 * The events of transfers one command made: a TransferCreated for one; for several, as few
 * TransfersCreated as fit the event size (usually one), in the order they were decided.
 */
export function transfersCreated(records: readonly TransferRecord[]): LedgerEvent[] {
  const [only] = records;
  if (only === undefined) return [];
  if (records.length === 1) return [{ type: 'TransferCreated', data: only }];
  const events: LedgerEvent[] = [];
  let chunk: TransferRecord[] = [];
  let bytes = 0;
  // Each chunk's estimate is kept with its data as it is made: the writer asks for it again.
  const close = (): void => {
    const data = { transfers: chunk };
    sized.set(data, bytes);
    events.push({ type: 'TransfersCreated', data });
  };
  for (const record of records) {
    const size = recordBytes(record);
    if (chunk.length > 0 && bytes + size > TRANSFERS_EVENT_BYTES_MAX) {
      close();
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  close();
  return events;
}

/** Estimated bytes of the TransfersCreated made here, by their data: worked out once. */
const sized = new WeakMap<object, number>();

function bytesOf(data: { readonly transfers: readonly TransferRecord[] }): number {
  let bytes = 0;
  for (const record of data.transfers) bytes += recordBytes(record);
  return bytes;
}

/**
 * An upper bound on an event's data in JSON, for sizing appends: for transfers, from the
 * records' strings (no encoding), else its JSON. A batch's writer asks this of every event.
 */
export function ledgerEventBytes(event: LedgerEvent): number {
  switch (event.type) {
    case 'TransfersCreated':
      return sized.get(event.data) ?? bytesOf(event.data);
    case 'TransferCreated':
      return recordBytes(event.data);
    default:
      return JSON.stringify(event.data).length;
  }
}

function openAccount(state: LedgerState, command: Extract<LedgerCommand, { type: 'OpenAccount' }>): D {
  if (command.address.startsWith(WORLD_PREFIX)) {
    return refuse('VALIDATION_FAILED', 'address: world accounts exist by themselves', { field: 'address' });
  }
  if (!isAssetCode(command.asset))
    return refuse('VALIDATION_FAILED', 'asset: must be a code such as KES or AAPL', { field: 'asset' });
  const known = state.assets.get(command.asset) ?? KNOWN_SCALES[command.asset] ?? null;
  if (known !== null && command.scale !== null && command.scale !== known) {
    return refuse('ASSET_MISMATCH', `${command.asset} has scale ${known}, not ${command.scale}.`, {
      field: 'scale',
    });
  }
  const scale = known ?? command.scale;
  if (scale === null) {
    return refuse(
      'VALIDATION_FAILED',
      `scale: ${command.asset} is a new asset; say how many decimals it has`,
      { field: 'scale' },
    );
  }
  if (!Number.isInteger(scale) || scale < 0 || scale > SCALE_MAX) {
    return refuse('VALIDATION_FAILED', `scale: must be an integer from 0 to ${SCALE_MAX}`, {
      field: 'scale',
    });
  }
  if (command.flags.debitsMustNotExceedCredits && command.flags.creditsMustNotExceedDebits) {
    return refuse('VALIDATION_FAILED', 'flags: an account takes one bound, not both', { field: 'flags' });
  }
  let creditLimit: string | null = null;
  if (command.creditLimit !== null) {
    if (!command.flags.debitsMustNotExceedCredits && !command.flags.creditsMustNotExceedDebits) {
      return refuse(
        'VALIDATION_FAILED',
        'creditLimit: only an account with a bound flag has a limit to extend it',
        { field: 'creditLimit' },
      );
    }
    const limit = parseAmount(command.creditLimit, scale);
    if (isAmountProblem(limit))
      return refuse('VALIDATION_FAILED', `creditLimit: ${limit.reason}`, { field: 'creditLimit' });
    creditLimit = formatAmount(limit, scale);
  }
  const existing = state.accounts.get(command.address);
  if (existing) {
    const same =
      existing.asset === command.asset &&
      existing.accountType === command.accountType &&
      existing.flags.debitsMustNotExceedCredits === command.flags.debitsMustNotExceedCredits &&
      existing.flags.creditsMustNotExceedDebits === command.flags.creditsMustNotExceedDebits;
    if (same) return accept([], { kind: 'account', address: command.address, status: 'exists' });
    return refuse(
      'ALREADY_EXISTS',
      `Account ${command.address} already exists with another asset, type or flags.`,
    );
  }
  return accept(
    [
      {
        type: 'AccountOpened',
        data: {
          address: command.address,
          asset: command.asset,
          scale,
          accountType: command.accountType,
          flags: command.flags,
          creditLimit,
          metadata: command.metadata,
        },
      },
    ],
    { kind: 'account', address: command.address, status: 'opened' },
  );
}

function closeAccount(state: LedgerState, address: string): D {
  if (address.startsWith(WORLD_PREFIX)) return refuse('INVALID_STATE', 'World accounts cannot be closed.');
  const found = state.accounts.get(address);
  if (!found) return refuse('NOT_FOUND', `No account ${address}.`);
  if (found.status === 'closed') return refuse('INVALID_STATE', `Account ${address} is already closed.`);
  const { debitsPosted, creditsPosted, debitsPending, creditsPending } = found.balances;
  if (debitsPosted !== creditsPosted || debitsPending !== 0n || creditsPending !== 0n) {
    return refuse(
      'INVALID_STATE',
      `Account ${address} can close only with a zero balance and nothing pending.`,
    );
  }
  return accept([{ type: 'AccountClosed', data: { address } }], {
    kind: 'account',
    address,
    status: 'closed',
  });
}

function changeLimit(state: LedgerState, command: Extract<LedgerCommand, { type: 'ChangeLimit' }>): D {
  const found = openAccountOf(state, command.address);
  if (found instanceof LedgerlineError) return { ok: false, error: found };
  if (!found.flags.debitsMustNotExceedCredits && !found.flags.creditsMustNotExceedDebits) {
    return refuse('INVALID_STATE', `Account ${command.address} has no bound flag, so no limit to change.`);
  }
  let creditLimit: string | null = null;
  let limitUnits = 0n;
  if (command.creditLimit !== null) {
    const limit = parseAmount(command.creditLimit, found.scale);
    if (isAmountProblem(limit))
      return refuse('VALIDATION_FAILED', `creditLimit: ${limit.reason}`, { field: 'creditLimit' });
    creditLimit = formatAmount(limit, found.scale);
    limitUnits = limit;
  }
  // A lower limit must still cover what the account already uses, pending included: no bounded
  // account may ever be past its bound (SPEC §4), not even by a change of its limit.
  const { debitsPosted, creditsPosted, debitsPending, creditsPending } = found.balances;
  const used = found.flags.debitsMustNotExceedCredits
    ? debitsPosted + debitsPending - creditsPosted
    : creditsPosted + creditsPending - debitsPosted;
  if (used > limitUnits) {
    return refuse(
      'LIMIT_EXCEEDED',
      `Account ${command.address} already uses ${formatAmount(used, found.scale)} of its limit, pending included; the limit cannot go below that.`,
      { field: 'creditLimit' },
    );
  }
  return accept([{ type: 'AccountLimitChanged', data: { address: command.address, creditLimit } }], {
    kind: 'account',
    address: command.address,
    status: 'limit_changed',
  });
}

function pendingTransfer(state: LedgerState, transferId: string): TransferState | LedgerlineError {
  const found = state.transfers.get(transferId);
  if (!found) return failure('NOT_FOUND', `No transfer ${transferId}.`);
  // Expired by the sweep: the same answer as one past its timeout that nobody swept yet (both
  // for a post and for a void).
  if (found.status === 'expired') {
    return failure(
      'PENDING_EXPIRED',
      `Transfer ${transferId} expired at ${found.record.timeoutAt ?? 'its timeout'}.`,
    );
  }
  if (found.status !== 'pending')
    return failure('INVALID_STATE', `Transfer ${transferId} is ${found.status}, not pending.`);
  return found;
}

function postPending(
  state: LedgerState,
  command: Extract<LedgerCommand, { type: 'PostPending' }>,
  now: string,
): D {
  const pending = pendingTransfer(state, command.transferId);
  if (pending instanceof LedgerlineError) return { ok: false, error: pending };
  if (pending.record.timeoutAt !== null && pending.record.timeoutAt <= now) {
    return refuse(
      'PENDING_EXPIRED',
      `Transfer ${command.transferId} timed out at ${pending.record.timeoutAt}.`,
    );
  }
  const scale = state.accounts.get(pending.record.debitAccount)?.scale ?? 0;
  let amount = pending.amount;
  if (command.amount !== null) {
    const parsed = parseAmount(command.amount, scale);
    if (isAmountProblem(parsed))
      return refuse('VALIDATION_FAILED', `amount: ${parsed.reason}`, { field: 'amount' });
    if (parsed > pending.amount) {
      return refuse('VALIDATION_FAILED', `amount: at most the pending ${pending.record.amount}`, {
        field: 'amount',
      });
    }
    amount = parsed;
  }
  const posted = formatAmount(amount, scale);
  return accept(
    [{ type: 'PendingTransferPosted', data: { transferId: command.transferId, amount: posted } }],
    {
      kind: 'transfer',
      transferId: command.transferId,
      status: 'posted',
      amount: posted,
    },
  );
}

function voidPending(state: LedgerState, transferId: string, now: string): D {
  const pending = pendingTransfer(state, transferId);
  if (pending instanceof LedgerlineError) return { ok: false, error: pending };
  // Past its timeout it is expired, swept or not (as for a post, and as TigerBeetle answers):
  // what it reserved is released by the expiry, never by a void that raced the sweep.
  if (pending.record.timeoutAt !== null && pending.record.timeoutAt <= now) {
    return refuse('PENDING_EXPIRED', `Transfer ${transferId} timed out at ${pending.record.timeoutAt}.`);
  }
  return accept([{ type: 'PendingTransferVoided', data: { transferId } }], {
    kind: 'transfer',
    transferId,
    status: 'voided',
    amount: pending.record.amount,
  });
}

function reverseTransfer(
  state: LedgerState,
  command: Extract<LedgerCommand, { type: 'ReverseTransfer' }>,
  now: string,
): D {
  const original = state.transfers.get(command.transferId);
  if (!original) return refuse('NOT_FOUND', `No transfer ${command.transferId}.`);
  const existing = state.transfers.get(command.reversalId);
  if (existing) {
    if (existing.record.requestHash === command.requestHash) {
      return accept([], {
        kind: 'transfer',
        transferId: command.reversalId,
        status: 'exists',
        amount: existing.record.amount,
      });
    }
    return refuse(
      'ID_REUSED',
      `Transfer id ${command.reversalId} was already used with a different request.`,
    );
  }
  if (original.record.reversalOf !== null)
    return refuse('INVALID_STATE', 'A reversal cannot itself be reversed.');
  if (original.status !== 'posted')
    return refuse(
      'INVALID_STATE',
      `Transfer ${command.transferId} is ${original.status}; only posted transfers are reversed.`,
    );
  const remaining = original.postedAmount - original.reversedAmount;
  if (remaining <= 0n)
    return refuse('ALREADY_REVERSED', `Transfer ${command.transferId} has already been given back in full.`);
  const scale = state.accounts.get(original.record.debitAccount)?.scale ?? 0;
  let amount = remaining;
  if (command.amount !== null) {
    const parsed = parseAmount(command.amount, scale);
    if (isAmountProblem(parsed))
      return refuse('VALIDATION_FAILED', `amount: ${parsed.reason}`, { field: 'amount' });
    if (parsed > remaining) {
      return refuse('VALIDATION_FAILED', `amount: at most what remains, ${formatAmount(remaining, scale)}`, {
        field: 'amount',
      });
    }
    amount = parsed;
  }
  const overlay = new Overlay(state);
  const outcome = decideTransfer(
    state,
    overlay,
    {
      transferId: command.reversalId,
      debitAccount: original.record.creditAccount,
      creditAccount: original.record.debitAccount,
      amount: formatAmount(amount, scale),
      code: command.code,
      metadata: command.metadata,
      reference: original.record.reference,
      pendingTimeoutAt: null,
      requestHash: command.requestHash,
    },
    now,
    original.record.transferId,
  );
  if (outcome instanceof LedgerlineError) return { ok: false, error: outcome };
  return accept([{ type: 'TransferCreated', data: outcome.record }], {
    kind: 'transfer',
    transferId: command.reversalId,
    status: 'posted',
    amount: outcome.record.amount,
  });
}

function expirePending(state: LedgerState, now: string): D {
  const due: string[] = [];
  for (const id of state.pending) {
    const pending = state.transfers.get(id);
    if (
      pending?.record.timeoutAt !== null &&
      pending?.record.timeoutAt !== undefined &&
      pending.record.timeoutAt <= now
    )
      due.push(id);
    if (due.length >= EXPIRY_SWEEP_MAX) break;
  }
  return accept(
    due.map((transferId) => ({ type: 'PendingTransferExpired' as const, data: { transferId } })),
    { kind: 'expired', transferIds: due },
  );
}

export function decideLedger(command: LedgerCommand, state: LedgerState, now: string): D {
  switch (command.type) {
    case 'OpenAccount':
      return openAccount(state, command);
    case 'CloseAccount':
      return closeAccount(state, command.address);
    case 'ChangeLimit':
      return changeLimit(state, command);
    case 'CreateTransfers':
      return createTransfers(state, command, now);
    case 'PostPending':
      return postPending(state, command, now);
    case 'VoidPending':
      return voidPending(state, command.transferId, now);
    case 'ReverseTransfer':
      return reverseTransfer(state, command, now);
    case 'ExpirePending':
      return expirePending(state, now);
    default:
      return unreachable(command);
  }
}
