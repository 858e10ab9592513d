/**
 * The ledger's invariants (SPEC §4), model-based: random sequences of commands are run through the
 * decider and, side by side, through a small reference model written here from the spec (plain
 * bigint balances, a set of used transfer ids, the pending transfers). After every command:
 *
 * - the decider agrees with the model: accepted or refused, with the same code, the same result per
 *   batch item, the same number of events, and the same balances, limits and status per account;
 * - per asset, the debits equal the credits (posted, and pending separately);
 * - every balance equals the sum of its postings, recomputed from the events;
 * - no flagged or limited account is past its bound, pending included;
 * - a transfer id is created once, and a pending one posted, voided or expired at most once;
 * - a linked batch is all or none;
 * - decide did not change the state it was given;
 * - replaying all events into `initialLedger()` gives exactly the state evolved step by step.
 *
 * When one command has several faults, SPEC §4 does not say which code wins; the model checks them
 * in the decider's order (id, then accounts, asset, amount, bound, timeout), so codes compare exactly.
 * Each property also asserts, after its runs, that the generator reached the outcomes it is about.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Decision } from '../../../src/domain/decider.js';
import {
  decideLedger,
  type LedgerCommand,
  type LedgerResult,
  type TransferRequest,
} from '../../../src/domain/ledger/decide.js';
import { ACCOUNT_TYPES, type AccountType, type LedgerEvent } from '../../../src/domain/ledger/events.js';
import { evolveLedger, initialLedger, type LedgerState } from '../../../src/domain/ledger/state.js';

const RUNS = 1_000;
const EPOCH_MS = Date.parse('2030-01-01T00:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

// ---------------------------------------------------------------------------------------------
// The universe a run draws from: few names, so that ids and accounts collide often.

interface AssetChoice {
  readonly code: string;
  readonly scale: number;
}
const ASSETS: readonly AssetChoice[] = [
  { code: 'KES', scale: 2 },
  { code: 'JPY', scale: 0 },
  { code: 'AAPL', scale: 6 },
  { code: 'kes', scale: 2 },
];
/** The scales the model knows without being told (SPEC §4's examples). */
const MODEL_KNOWN_SCALES: ReadonlyMap<string, number> = new Map([
  ['KES', 2],
  ['JPY', 0],
]);
const ACCOUNTS = ['acc:0', 'acc:1', 'acc:2', 'acc:3', 'acc:4', 'acc:5'];
const OPENABLE = [...ACCOUNTS, 'world:KES'];
const ADDRESSES = [...ACCOUNTS, 'world:KES', 'world:JPY', 'world:AAPL'];
const IDS = Array.from({ length: 16 }, (_, index) => `t${index}`);
const HASHES = ['h0', 'h1'];
const BAD_TEXTS = ['0', '-1', '1e3', 'NaN', 'Infinity', ' 1', '1 ', `1${'0'.repeat(30)}`];

function pick<T>(values: readonly T[], index: number): T {
  const value = values[index];
  if (value === undefined) throw new Error(`test: no value at ${index}`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Generated steps: what to do, in terms of the universe; rendered into commands at run time
// (amounts need the scale of the accounts, timeouts the clock).

type AmountSpec =
  | { readonly kind: 'units'; readonly units: bigint; readonly trim: boolean }
  | { readonly kind: 'tooPrecise'; readonly units: bigint }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'number'; readonly value: number };

type Bound = 'none' | 'debits' | 'credits' | 'both';

interface ItemSpec {
  readonly id: number;
  readonly debit: number;
  readonly credit: number;
  readonly amount: AmountSpec;
  /** An asset the transfer names, or none. */
  readonly asset: number | null;
  /** Two-phase: seconds from now to the timeout (zero or less is not in the future). */
  readonly timeoutIn: number | null;
  readonly hash: number;
  /** Hints resolved against the model when the step runs: a new id; a credit account of the debit's asset. */
  readonly freshId: boolean;
  readonly sameAsset: boolean;
}

type Op =
  | {
      readonly type: 'open';
      readonly address: number;
      readonly asset: number;
      readonly giveScale: boolean;
      readonly scaleDelta: number;
      readonly accountType: AccountType;
      readonly bound: Bound;
      readonly limit: AmountSpec | null;
    }
  | { readonly type: 'close'; readonly address: number }
  | { readonly type: 'limit'; readonly address: number; readonly limit: AmountSpec | null }
  | { readonly type: 'transfers'; readonly linked: boolean; readonly items: readonly ItemSpec[] }
  | {
      readonly type: 'post';
      readonly id: number;
      readonly existing: boolean;
      readonly amount: AmountSpec | null;
    }
  | { readonly type: 'void'; readonly id: number; readonly existing: boolean }
  | {
      readonly type: 'reverse';
      readonly id: number;
      /** Hints: a posted transfer the model holds; a new reversal id. */
      readonly existing: boolean;
      readonly reversalId: number;
      readonly freshReversalId: boolean;
      readonly amount: AmountSpec | null;
      readonly code: 'reversal' | 'refund';
      readonly hash: number;
    }
  | { readonly type: 'expire' };

interface Step {
  /** Seconds the clock moves before the command. */
  readonly advance: number;
  readonly op: Op;
}

function decimalText(units: bigint, scale: number): string {
  const digits = units.toString().padStart(scale + 1, '0');
  return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** The wire amount of a spec for an asset of `scale`. */
function render(amount: AmountSpec, scale: number): string {
  switch (amount.kind) {
    case 'units': {
      const text = decimalText(amount.units, scale);
      return amount.trim && scale > 0 ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
    }
    case 'tooPrecise':
      return scale === 0 ? `${amount.units.toString()}.1` : `${decimalText(amount.units, scale)}1`;
    case 'text':
      return amount.text;
    case 'number':
      // A JSON number where a decimal string belongs.
      return amount.value as unknown as string;
  }
}

/** The minor units the model reads from a spec: null when the spec is not a valid amount. */
function modelUnits(amount: AmountSpec): bigint | null {
  return amount.kind === 'units' ? amount.units : null;
}

// ---------------------------------------------------------------------------------------------
// The reference model, written from SPEC §4.

interface ModelAccount {
  readonly asset: string;
  readonly scale: number;
  readonly accountType: AccountType;
  readonly debitBound: boolean;
  readonly creditBound: boolean;
  readonly world: boolean;
  limit: bigint | null;
  closed: boolean;
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
}

interface ModelTransfer {
  readonly hash: string;
  readonly debit: string;
  readonly credit: string;
  readonly scale: number;
  readonly amount: bigint;
  readonly isReversal: boolean;
  readonly timeoutMs: number | null;
  status: 'posted' | 'pending' | 'voided' | 'expired';
  posted: bigint;
  givenBack: bigint;
}

class Model {
  readonly assets = new Map<string, number>();
  readonly accounts = new Map<string, ModelAccount>();
  readonly transfers = new Map<string, ModelTransfer>();

  clone(): Model {
    const copy = new Model();
    for (const [code, scale] of this.assets) copy.assets.set(code, scale);
    for (const [address, account] of this.accounts) copy.accounts.set(address, { ...account });
    for (const [id, transfer] of this.transfers) copy.transfers.set(id, { ...transfer });
    return copy;
  }
}

type Outcome =
  | { readonly ok: false; readonly code: string }
  | {
      readonly ok: true;
      readonly events: number;
      readonly items?: readonly string[];
      readonly expired?: readonly string[];
    };

const refused = (code: string): Outcome => ({ ok: false, code });

/** The amount past its bound an account would be after moving `debit` and `credit`, if any. */
function boundCode(account: ModelAccount, debit: bigint, credit: bigint): string | null {
  const room = account.limit ?? 0n;
  const code = account.limit === null ? 'INSUFFICIENT_FUNDS' : 'LIMIT_EXCEEDED';
  if (account.debitBound) {
    const owed = account.debitsPosted + account.debitsPending + debit - account.creditsPosted;
    if (owed > room) return code;
  }
  if (account.creditBound) {
    const owed = account.creditsPosted + account.creditsPending + credit - account.debitsPosted;
    if (owed > room) return code;
  }
  return null;
}

interface ModelTransferRequest {
  readonly id: string;
  readonly debit: string;
  readonly credit: string;
  readonly units: bigint | null;
  readonly asset: string | null;
  readonly timeoutMs: number | null;
  readonly hash: string;
  readonly isReversal: boolean;
}

/** One transfer on `model` (changed when made): 'created', 'exists' or the code refusing it. */
function modelTransfer(model: Model, request: ModelTransferRequest, nowMs: number): string {
  const existing = model.transfers.get(request.id);
  if (existing) return existing.hash === request.hash ? 'exists' : 'ID_REUSED';
  if (request.debit === request.credit) return 'VALIDATION_FAILED';
  const debit = model.accounts.get(request.debit);
  if (!debit) return 'NOT_FOUND';
  if (debit.closed) return 'ACCOUNT_CLOSED';
  const credit = model.accounts.get(request.credit);
  if (!credit) return 'NOT_FOUND';
  if (credit.closed) return 'ACCOUNT_CLOSED';
  if (debit.asset !== credit.asset || (request.asset !== null && request.asset !== debit.asset)) {
    return 'ASSET_MISMATCH';
  }
  const units = request.units;
  if (units === null) return 'VALIDATION_FAILED';
  const breach = boundCode(debit, units, 0n) ?? boundCode(credit, 0n, units);
  if (breach !== null) return breach;
  if (request.timeoutMs !== null && request.timeoutMs <= nowMs) return 'VALIDATION_FAILED';
  const pending = request.timeoutMs !== null;
  if (pending) {
    debit.debitsPending += units;
    credit.creditsPending += units;
  } else {
    debit.debitsPosted += units;
    credit.creditsPosted += units;
  }
  model.transfers.set(request.id, {
    hash: request.hash,
    debit: request.debit,
    credit: request.credit,
    scale: debit.scale,
    amount: units,
    isReversal: request.isReversal,
    timeoutMs: request.timeoutMs,
    status: pending ? 'pending' : 'posted',
    posted: pending ? 0n : units,
    givenBack: 0n,
  });
  return 'created';
}

function release(model: Model, transfer: ModelTransfer): void {
  const debit = model.accounts.get(transfer.debit);
  const credit = model.accounts.get(transfer.credit);
  if (!debit || !credit) throw new Error('model: a transfer between unknown accounts');
  debit.debitsPending -= transfer.amount;
  credit.creditsPending -= transfer.amount;
}

/** What the model decides: the outcome, and the model after it (the same one when refused). */
function decideModel(before: Model, op: Op, nowMs: number): { outcome: Outcome; after: Model } {
  const model = before.clone();
  const done = (outcome: Outcome): { outcome: Outcome; after: Model } => ({
    outcome,
    after: outcome.ok ? model : before,
  });
  switch (op.type) {
    case 'open': {
      const address = pick(OPENABLE, op.address);
      const asset = pick(ASSETS, op.asset);
      if (address.startsWith('world:')) return done(refused('VALIDATION_FAILED'));
      if (!/^[A-Z][A-Z0-9]{1,11}$/.test(asset.code)) return done(refused('VALIDATION_FAILED'));
      const known = model.assets.get(asset.code) ?? MODEL_KNOWN_SCALES.get(asset.code) ?? null;
      const given = op.giveScale ? asset.scale + op.scaleDelta : null;
      if (known !== null && given !== null && known !== given) return done(refused('ASSET_MISMATCH'));
      const scale = known ?? given;
      if (scale === null) return done(refused('VALIDATION_FAILED'));
      if (op.bound === 'both') return done(refused('VALIDATION_FAILED'));
      let limit: bigint | null = null;
      if (op.limit !== null) {
        if (op.bound === 'none') return done(refused('VALIDATION_FAILED'));
        limit = modelUnits(op.limit);
        if (limit === null) return done(refused('VALIDATION_FAILED'));
      }
      const existing = model.accounts.get(address);
      if (existing) {
        const same =
          existing.asset === asset.code &&
          existing.accountType === op.accountType &&
          existing.debitBound === (op.bound === 'debits') &&
          existing.creditBound === (op.bound === 'credits');
        return done(same ? { ok: true, events: 0 } : refused('ALREADY_EXISTS'));
      }
      const zero = { debitsPosted: 0n, creditsPosted: 0n, debitsPending: 0n, creditsPending: 0n };
      if (!model.assets.has(asset.code)) {
        model.assets.set(asset.code, scale);
        model.accounts.set(`world:${asset.code}`, {
          asset: asset.code,
          scale,
          accountType: 'equity',
          debitBound: false,
          creditBound: false,
          world: true,
          limit: null,
          closed: false,
          ...zero,
        });
      }
      model.accounts.set(address, {
        asset: asset.code,
        scale,
        accountType: op.accountType,
        debitBound: op.bound === 'debits',
        creditBound: op.bound === 'credits',
        world: false,
        limit,
        closed: false,
        ...zero,
      });
      return done({ ok: true, events: 1 });
    }
    case 'close': {
      const account = model.accounts.get(pick(ADDRESSES, op.address));
      if (pick(ADDRESSES, op.address).startsWith('world:')) return done(refused('INVALID_STATE'));
      if (!account) return done(refused('NOT_FOUND'));
      if (account.closed) return done(refused('INVALID_STATE'));
      if (
        account.debitsPosted !== account.creditsPosted ||
        account.debitsPending !== 0n ||
        account.creditsPending !== 0n
      ) {
        return done(refused('INVALID_STATE'));
      }
      account.closed = true;
      return done({ ok: true, events: 1 });
    }
    case 'limit': {
      const account = model.accounts.get(pick(ADDRESSES, op.address));
      if (!account) return done(refused('NOT_FOUND'));
      if (account.closed) return done(refused('ACCOUNT_CLOSED'));
      if (!account.debitBound && !account.creditBound) return done(refused('INVALID_STATE'));
      const limit = op.limit === null ? null : modelUnits(op.limit);
      if (op.limit !== null && limit === null) return done(refused('VALIDATION_FAILED'));
      // The new limit must still hold what the account already uses (no account past its bound).
      const previous = account.limit;
      account.limit = limit;
      if (boundCode(account, 0n, 0n) !== null) {
        account.limit = previous;
        return done(refused('LIMIT_EXCEEDED'));
      }
      return done({ ok: true, events: 1 });
    }
    case 'transfers': {
      if (op.items.length === 0) return done(refused('VALIDATION_FAILED'));
      const results = op.items.map((item) => {
        const debit = pick(ADDRESSES, item.debit);
        return modelTransfer(
          model,
          {
            id: pick(IDS, item.id),
            debit,
            credit: pick(ADDRESSES, item.credit),
            units: modelUnits(item.amount),
            asset: item.asset === null ? null : pick(ASSETS, item.asset).code,
            timeoutMs: item.timeoutIn === null ? null : nowMs + item.timeoutIn * 1000,
            hash: pick(HASHES, item.hash),
            isReversal: false,
          },
          nowMs,
        );
      });
      const failed = results.some((result) => result !== 'created' && result !== 'exists');
      if (op.linked && failed) {
        const items = results.map((result) => (result === 'created' ? 'LINKED_EVENT_FAILED' : result));
        // Nothing of the batch is made: the model stays as it was.
        return { outcome: { ok: true, events: 0, items }, after: before };
      }
      // Whatever a batch creates is one event: TransferCreated for one, TransfersCreated for more.
      const created = results.filter((result) => result === 'created').length;
      return done({ ok: true, events: Math.min(created, 1), items: results });
    }
    case 'post': {
      const transfer = model.transfers.get(pick(IDS, op.id));
      if (!transfer) return done(refused('NOT_FOUND'));
      if (transfer.status === 'expired') return done(refused('PENDING_EXPIRED'));
      if (transfer.status !== 'pending') return done(refused('INVALID_STATE'));
      if (transfer.timeoutMs !== null && transfer.timeoutMs <= nowMs) return done(refused('PENDING_EXPIRED'));
      const units = op.amount === null ? transfer.amount : modelUnits(op.amount);
      if (units === null || units > transfer.amount) return done(refused('VALIDATION_FAILED'));
      release(model, transfer);
      const debit = model.accounts.get(transfer.debit);
      const credit = model.accounts.get(transfer.credit);
      if (!debit || !credit) throw new Error('model: a transfer between unknown accounts');
      debit.debitsPosted += units;
      credit.creditsPosted += units;
      transfer.status = 'posted';
      transfer.posted = units;
      return done({ ok: true, events: 1 });
    }
    case 'void': {
      const transfer = model.transfers.get(pick(IDS, op.id));
      if (!transfer) return done(refused('NOT_FOUND'));
      if (transfer.status === 'expired') return done(refused('PENDING_EXPIRED'));
      if (transfer.status !== 'pending') return done(refused('INVALID_STATE'));
      if (transfer.timeoutMs !== null && transfer.timeoutMs <= nowMs) return done(refused('PENDING_EXPIRED'));
      release(model, transfer);
      transfer.status = 'voided';
      return done({ ok: true, events: 1 });
    }
    case 'reverse': {
      const original = model.transfers.get(pick(IDS, op.id));
      if (!original) return done(refused('NOT_FOUND'));
      const reversalId = pick(IDS, op.reversalId);
      const existing = model.transfers.get(reversalId);
      if (existing)
        return done(existing.hash === pick(HASHES, op.hash) ? { ok: true, events: 0 } : refused('ID_REUSED'));
      if (original.isReversal) return done(refused('INVALID_STATE'));
      if (original.status !== 'posted') return done(refused('INVALID_STATE'));
      const remaining = original.posted - original.givenBack;
      if (remaining <= 0n) return done(refused('ALREADY_REVERSED'));
      const units = op.amount === null ? remaining : modelUnits(op.amount);
      if (units === null || units > remaining) return done(refused('VALIDATION_FAILED'));
      const result = modelTransfer(
        model,
        {
          id: reversalId,
          debit: original.credit,
          credit: original.debit,
          units,
          asset: null,
          timeoutMs: null,
          hash: pick(HASHES, op.hash),
          isReversal: true,
        },
        nowMs,
      );
      if (result !== 'created') return done(refused(result));
      original.givenBack += units;
      return done({ ok: true, events: 1 });
    }
    case 'expire': {
      const expired: string[] = [];
      for (const [id, transfer] of model.transfers) {
        if (transfer.status === 'pending' && transfer.timeoutMs !== null && transfer.timeoutMs <= nowMs) {
          release(model, transfer);
          transfer.status = 'expired';
          expired.push(id);
        }
      }
      return done({ ok: true, events: expired.length, expired: expired.sort() });
    }
  }
}

/** The id index of the first id neither the model nor `taken` uses (or the first id, when all are). */
function freshId(model: Model, taken: ReadonlySet<string>): number {
  const found = IDS.findIndex((id) => !model.transfers.has(id) && !taken.has(id));
  return found === -1 ? 0 : found;
}

/** The id index of the nth of `ids` (of all transfers when none is), or `fallback`. */
function nthId(model: Model, ids: readonly string[], nth: number, fallback: number): number {
  const among = ids.length > 0 ? ids : [...model.transfers.keys()];
  if (among.length === 0) return fallback;
  return IDS.indexOf(pick(among, nth % among.length));
}

/**
 * Resolves the hints of a generated step against the model, so that a run keeps finding new ids,
 * transfers to post, void or reverse, and accounts of one asset; what comes out names concrete ids.
 */
function resolve(model: Model, op: Op): Op {
  const transfersWhere = (keep: (transfer: ModelTransfer) => boolean): string[] =>
    [...model.transfers].filter(([, transfer]) => keep(transfer)).map(([id]) => id);
  switch (op.type) {
    case 'transfers': {
      const taken = new Set<string>();
      const items = op.items.map((item): ItemSpec => {
        const id = item.freshId ? freshId(model, taken) : item.id;
        taken.add(pick(IDS, id));
        const debit = model.accounts.get(pick(ADDRESSES, item.debit));
        if (!item.sameAsset || !debit) return { ...item, id };
        const partners = ADDRESSES.flatMap((address, at) =>
          at !== item.debit && model.accounts.get(address)?.asset === debit.asset ? [at] : [],
        );
        if (partners.length === 0) return { ...item, id };
        return { ...item, id, credit: pick(partners, item.credit % partners.length) };
      });
      return { ...op, items };
    }
    case 'post':
    case 'void':
      if (!op.existing) return op;
      return {
        ...op,
        id: nthId(
          model,
          transfersWhere((transfer) => transfer.status === 'pending'),
          op.id,
          op.id,
        ),
      };
    case 'reverse': {
      const reversible = transfersWhere((transfer) => transfer.status === 'posted' && !transfer.isReversal);
      const id = op.existing ? nthId(model, reversible, op.id, op.id) : op.id;
      const reversalId = op.freshReversalId ? freshId(model, new Set()) : op.reversalId;
      return { ...op, id, reversalId };
    }
    case 'open':
    case 'close':
    case 'limit':
    case 'expire':
      return op;
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering a step into the decider's command, with the scales the model knows.

function scaleOfAccount(model: Model, address: string): number {
  return model.accounts.get(address)?.scale ?? 2;
}

function toCommand(model: Model, op: Op, nowMs: number): LedgerCommand {
  switch (op.type) {
    case 'open': {
      const asset = pick(ASSETS, op.asset);
      const given = op.giveScale ? asset.scale + op.scaleDelta : null;
      const scale = model.assets.get(asset.code) ?? MODEL_KNOWN_SCALES.get(asset.code) ?? given ?? 2;
      return {
        type: 'OpenAccount',
        address: pick(OPENABLE, op.address),
        asset: asset.code,
        scale: given,
        accountType: op.accountType,
        flags: {
          debitsMustNotExceedCredits: op.bound === 'debits' || op.bound === 'both',
          creditsMustNotExceedDebits: op.bound === 'credits' || op.bound === 'both',
        },
        creditLimit: op.limit === null ? null : render(op.limit, scale),
        metadata: {},
      };
    }
    case 'close':
      return { type: 'CloseAccount', address: pick(ADDRESSES, op.address) };
    case 'limit': {
      const address = pick(ADDRESSES, op.address);
      return {
        type: 'ChangeLimit',
        address,
        creditLimit: op.limit === null ? null : render(op.limit, scaleOfAccount(model, address)),
      };
    }
    case 'transfers':
      return {
        type: 'CreateTransfers',
        linked: op.linked,
        transfers: op.items.map((item): TransferRequest => {
          const debit = pick(ADDRESSES, item.debit);
          return {
            transferId: pick(IDS, item.id),
            debitAccount: debit,
            creditAccount: pick(ADDRESSES, item.credit),
            amount: render(item.amount, scaleOfAccount(model, debit)),
            ...(item.asset === null ? {} : { asset: pick(ASSETS, item.asset).code }),
            code: 'payment',
            metadata: {},
            reference: null,
            pendingTimeoutAt: item.timeoutIn === null ? null : iso(nowMs + item.timeoutIn * 1000),
            requestHash: pick(HASHES, item.hash),
          };
        }),
      };
    case 'post': {
      const id = pick(IDS, op.id);
      const scale = model.transfers.get(id)?.scale ?? 2;
      return {
        type: 'PostPending',
        transferId: id,
        amount: op.amount === null ? null : render(op.amount, scale),
      };
    }
    case 'void':
      return { type: 'VoidPending', transferId: pick(IDS, op.id) };
    case 'reverse': {
      const id = pick(IDS, op.id);
      const scale = model.transfers.get(id)?.scale ?? 2;
      return {
        type: 'ReverseTransfer',
        transferId: id,
        reversalId: pick(IDS, op.reversalId),
        amount: op.amount === null ? null : render(op.amount, scale),
        code: op.code,
        metadata: {},
        requestHash: pick(HASHES, op.hash),
      };
    }
    case 'expire':
      return { type: 'ExpirePending' };
  }
}

// ---------------------------------------------------------------------------------------------
// The checks.

/** A deep, ordered picture of a state: Maps, Sets and bigints included. */
function snapshot(state: LedgerState): string {
  return JSON.stringify(state, (_key, value: unknown) => {
    if (typeof value === 'bigint') return `${value.toString()}n`;
    if (value instanceof Map) return { map: [...(value as Map<unknown, unknown>).entries()] };
    if (value instanceof Set) return { set: [...(value as Set<unknown>)] };
    return value;
  });
}

function replay(events: readonly LedgerEvent[]): LedgerState {
  const state = initialLedger();
  for (const event of events) evolveLedger(state, event);
  return state;
}

interface FourBalances {
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
}

/** A stored amount: exactly the asset's scale of decimals, read without any rounding. */
function storedUnits(text: string, scale: number): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  const decimals = match?.[2] ?? '';
  if (!match || decimals.length !== scale)
    throw new Error(`stored amount ${text} is not written at scale ${scale}`);
  return BigInt(`${match[1] ?? ''}${decimals}`);
}

/** Every account's balances as the sum of its postings, read from the events alone. */
function balancesFromPostings(events: readonly LedgerEvent[]): Map<string, FourBalances> {
  const scales = new Map<string, number>();
  const balances = new Map<string, FourBalances>();
  const transfers = new Map<
    string,
    { debit: FourBalances; credit: FourBalances; amount: bigint; scale: number }
  >();
  const zero = (): FourBalances => ({
    debitsPosted: 0n,
    creditsPosted: 0n,
    debitsPending: 0n,
    creditsPending: 0n,
  });
  const of = (address: string): FourBalances => {
    const found = balances.get(address);
    if (!found) throw new Error(`posting to ${address}, never opened`);
    return found;
  };
  for (const event of events) {
    switch (event.type) {
      case 'AccountOpened':
        if (!scales.has(event.data.asset)) {
          scales.set(event.data.asset, event.data.scale);
          balances.set(`world:${event.data.asset}`, zero());
        }
        balances.set(event.data.address, zero());
        break;
      case 'TransferCreated':
      case 'TransfersCreated':
        for (const record of event.type === 'TransferCreated' ? [event.data] : event.data.transfers) {
          const scale = scales.get(record.asset);
          if (scale === undefined) throw new Error(`a transfer in ${record.asset}, an asset never opened`);
          const amount = storedUnits(record.amount, scale);
          const debit = of(record.debitAccount);
          const credit = of(record.creditAccount);
          if (record.pending) {
            debit.debitsPending += amount;
            credit.creditsPending += amount;
          } else {
            debit.debitsPosted += amount;
            credit.creditsPosted += amount;
          }
          transfers.set(record.transferId, { debit, credit, amount, scale });
        }
        break;
      case 'PendingTransferPosted':
      case 'PendingTransferVoided':
      case 'PendingTransferExpired': {
        const pending = transfers.get(event.data.transferId);
        if (!pending) throw new Error(`${event.type} of ${event.data.transferId}, never created`);
        pending.debit.debitsPending -= pending.amount;
        pending.credit.creditsPending -= pending.amount;
        if (event.type === 'PendingTransferPosted') {
          const posted = storedUnits(event.data.amount, pending.scale);
          pending.debit.debitsPosted += posted;
          pending.credit.creditsPosted += posted;
        }
        break;
      }
      case 'AccountClosed':
      case 'AccountLimitChanged':
        break;
    }
  }
  return balances;
}

/** Transfer ids over a run: created once; a pending one ends (posted, voided, expired) once. */
class TransferIds {
  private readonly created = new Map<string, { pending: boolean; amount: string }>();
  private readonly ended = new Set<string>();

  see(event: LedgerEvent): void {
    switch (event.type) {
      case 'TransferCreated':
      case 'TransfersCreated':
        for (const record of event.type === 'TransferCreated' ? [event.data] : event.data.transfers) {
          check(!this.created.has(record.transferId), () => `${record.transferId} created twice`);
          this.created.set(record.transferId, { pending: record.pending, amount: record.amount });
        }
        break;
      case 'PendingTransferPosted':
      case 'PendingTransferVoided':
      case 'PendingTransferExpired': {
        const id = event.data.transferId;
        check(this.created.get(id)?.pending === true, () => `${event.type} of ${id}, not a pending transfer`);
        check(!this.ended.has(id), () => `${event.type} of ${id}, which already ended`);
        this.ended.add(id);
        break;
      }
      case 'AccountOpened':
      case 'AccountClosed':
      case 'AccountLimitChanged':
        break;
    }
  }
}

/** Fails the run with `message` unless `holds`: cheap enough to call thousands of times a run. */
function check(holds: boolean, message: () => string): void {
  if (!holds) throw new Error(message());
}

const fourOf = (balances: FourBalances): string =>
  [balances.debitsPosted, balances.creditsPosted, balances.debitsPending, balances.creditsPending].join('/');

function checkInvariants(state: LedgerState, events: readonly LedgerEvent[], model: Model): void {
  // Per asset, debits equal credits: posted, and pending separately.
  const totals = new Map<string, FourBalances>();
  for (const account of state.accounts.values()) {
    const total = totals.get(account.asset) ?? {
      debitsPosted: 0n,
      creditsPosted: 0n,
      debitsPending: 0n,
      creditsPending: 0n,
    };
    total.debitsPosted += account.balances.debitsPosted;
    total.creditsPosted += account.balances.creditsPosted;
    total.debitsPending += account.balances.debitsPending;
    total.creditsPending += account.balances.creditsPending;
    totals.set(account.asset, total);
  }
  for (const [asset, total] of totals) {
    check(total.debitsPosted === total.creditsPosted, () => `${asset}: posted debits ≠ posted credits`);
    check(total.debitsPending === total.creditsPending, () => `${asset}: pending debits ≠ pending credits`);
  }

  // Every balance equals the sum of its postings, and what the model holds.
  const postings = balancesFromPostings(events);
  const addresses = [...state.accounts.keys()].sort().join(' ');
  check(
    addresses === [...postings.keys()].sort().join(' '),
    () => `accounts ${addresses} ≠ those the events open`,
  );
  check(
    addresses === [...model.accounts.keys()].sort().join(' '),
    () => `accounts ${addresses} ≠ the model's`,
  );
  for (const account of state.accounts.values()) {
    const fromPostings = postings.get(account.address);
    check(
      fromPostings !== undefined && fourOf(account.balances) === fourOf(fromPostings),
      () => `${account.address}: balances ${fourOf(account.balances)} ≠ the sum of its postings`,
    );
    const modelled = model.accounts.get(account.address);
    const actual = [
      fourOf(account.balances),
      account.asset,
      account.scale,
      account.creditLimit,
      account.status,
    ];
    const wanted = modelled && [
      fourOf(modelled),
      modelled.asset,
      modelled.scale,
      modelled.limit,
      modelled.closed ? 'closed' : 'open',
    ];
    if (actual.join(' ') !== wanted?.join(' ')) {
      expect(actual, `${account.address}: as the model has it`).toEqual(wanted);
    }

    // No flagged or limited account past its bound, pending included.
    const room = account.creditLimit ?? 0n;
    const { debitsPosted, creditsPosted, debitsPending, creditsPending } = account.balances;
    if (account.flags.debitsMustNotExceedCredits) {
      check(
        debitsPosted + debitsPending - creditsPosted <= room,
        () => `${account.address} is past its bound`,
      );
    }
    if (account.flags.creditsMustNotExceedDebits) {
      check(
        creditsPosted + creditsPending - debitsPosted <= room,
        () => `${account.address} is past its bound`,
      );
    }
  }

  // The pending set is exactly the transfers the model has pending.
  const pending = [...state.pending].sort().join(' ');
  const pendingInModel = [...model.transfers]
    .filter(([, transfer]) => transfer.status === 'pending')
    .map(([id]) => id)
    .sort()
    .join(' ');
  check(pending === pendingInModel, () => `pending ${pending} ≠ the model's ${pendingInModel}`);
}

/** What the decider answered, put as the model puts it. */
function asOutcome(decision: Decision<LedgerEvent, LedgerResult>): Outcome {
  if (!decision.ok) return { ok: false, code: decision.error.code };
  const { result, events } = decision;
  if (result.kind === 'transfers')
    return { ok: true, events: events.length, items: result.results.map((item) => item.result) };
  if (result.kind === 'expired')
    return { ok: true, events: events.length, expired: [...result.transferIds].sort() };
  return { ok: true, events: events.length };
}

/**
 * Batches: one TransferCreated when one item is 'created', one TransfersCreated holding every
 * 'created' item in order when several are; a linked batch that failed makes none.
 */
function checkBatch(op: Op, decision: Decision<LedgerEvent, LedgerResult>): void {
  if (op.type !== 'transfers' || !decision.ok || decision.result.kind !== 'transfers') return;
  const { results, created } = decision.result;
  expect(results.map((item) => item.transferId)).toEqual(op.items.map((item) => pick(IDS, item.id)));
  const createdIds = results.filter((item) => item.result === 'created').map((item) => item.transferId);
  expect(decision.events.length).toBe(createdIds.length === 0 ? 0 : 1);
  const [event] = decision.events;
  if (createdIds.length === 1) expect(event?.type).toBe('TransferCreated');
  if (createdIds.length > 1) expect(event?.type).toBe('TransfersCreated');
  expect(
    decision.events.flatMap((made) =>
      made.type === 'TransferCreated'
        ? [made.data.transferId]
        : made.type === 'TransfersCreated'
          ? made.data.transfers.map((record) => record.transferId)
          : [made.type],
    ),
  ).toEqual(createdIds);
  expect(created).toBe(createdIds.length);
  if (op.linked && results.some((item) => item.result !== 'created' && item.result !== 'exists')) {
    expect(decision.events, 'a linked batch that failed makes nothing').toEqual([]);
    expect(createdIds).toEqual([]);
  }
}

/** How often each command met each outcome, over all runs of a property (to see it is not vacuous). */
type Seen = Map<string, number>;

function count(seen: Seen, op: Op, outcome: Outcome): void {
  const keys: string[] = [];
  if (!outcome.ok) keys.push(`${op.type}:${outcome.code}`);
  else if (outcome.items && op.type === 'transfers')
    keys.push(...outcome.items.map((item) => `${op.type}:${op.linked ? 'linked' : 'single'}:${item}`));
  else keys.push(`${op.type}:${outcome.events > 0 ? 'done' : 'nothing'}`);
  for (const key of keys) seen.set(key, (seen.get(key) ?? 0) + 1);
}

function runSteps(steps: readonly Step[], seen: Seen): void {
  let model = new Model();
  const state = initialLedger();
  const events: LedgerEvent[] = [];
  const ids = new TransferIds();
  let nowMs = EPOCH_MS;
  for (const [index, step] of steps.entries()) {
    nowMs += step.advance * 1000;
    const op = resolve(model, step.op);
    const command = toCommand(model, op, nowMs);
    const label = (): string => `step ${index}: ${JSON.stringify(command)}`;
    const expected = decideModel(model, op, nowMs);

    const before = snapshot(state);
    const decision = decideLedger(command, state, iso(nowMs));
    check(snapshot(state) === before, () => `${label()}: decide changed the state it was given`);

    const outcome = asOutcome(decision);
    if (JSON.stringify(outcome) !== JSON.stringify(expected.outcome)) {
      const why = decision.ok ? '' : ` (${decision.error.message})`;
      expect(outcome, `${label()}: the decider disagrees with the model${why}`).toEqual(expected.outcome);
    }
    checkBatch(op, decision);
    count(seen, op, expected.outcome);
    model = expected.after;

    if (decision.ok) {
      for (const event of decision.events) {
        ids.see(event);
        evolveLedger(state, event);
        events.push(event);
      }
    }
    checkInvariants(state, events, model);
    check(snapshot(replay(events)) === snapshot(state), () => `${label()}: a replay gives another state`);
  }
}

// ---------------------------------------------------------------------------------------------
// Generators, weighted by profile.

interface Profile {
  readonly steps: number;
  readonly weights: Readonly<Record<Op['type'], number>>;
  /** Relative weights of no bound, debits bound, credits bound, both (refused). */
  readonly bounds: readonly [number, number, number, number];
  readonly batchMax: number;
  readonly linked: number;
  /** Relative weight of two-phase items among transfers. */
  readonly pending: number;
}

const amountArb = (max: bigint): fc.Arbitrary<AmountSpec> =>
  fc.oneof(
    {
      weight: 14,
      arbitrary: fc.record({
        kind: fc.constant('units' as const),
        units: fc.bigInt({ min: 1n, max }),
        trim: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('tooPrecise' as const), units: fc.bigInt({ min: 1n, max }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('text' as const), text: fc.constantFrom(...BAD_TEXTS) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('number' as const),
        value: fc.constantFrom(12.5, 2 ** 53 + 2),
      }),
    },
  );

const index = (length: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: length - 1 });
const weighted = <T>(...choices: (readonly [number, T])[]): fc.Arbitrary<T> =>
  fc.oneof(...choices.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));

function opArb(profile: Profile): fc.Arbitrary<Op> {
  const [none, debits, credits, both] = profile.bounds;
  const open: fc.Arbitrary<Op> = fc.record({
    type: fc.constant('open' as const),
    address: fc.oneof(
      { weight: 12, arbitrary: index(ACCOUNTS.length) },
      { weight: 1, arbitrary: fc.constant(ACCOUNTS.length) },
    ),
    asset: weighted([6, 0], [2, 1], [2, 2], [1, 3]),
    giveScale: fc.boolean(),
    scaleDelta: weighted([12, 0], [1, 1]),
    accountType: fc.constantFrom(...ACCOUNT_TYPES),
    bound: weighted<Bound>([none, 'none'], [debits, 'debits'], [credits, 'credits'], [both, 'both']),
    limit: fc.option(amountArb(300n), { nil: null, freq: 2 }),
  });
  const item: fc.Arbitrary<ItemSpec> = fc.record({
    id: index(IDS.length),
    debit: index(ADDRESSES.length),
    credit: index(ADDRESSES.length),
    amount: amountArb(500n),
    asset: fc.oneof(
      { weight: 10, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: index(ASSETS.length) },
    ),
    timeoutIn: fc.oneof(
      { weight: 6, arbitrary: fc.constant(null) },
      { weight: profile.pending, arbitrary: fc.integer({ min: 1, max: 120 }) },
      { weight: 1, arbitrary: fc.integer({ min: -5, max: 0 }) },
    ),
    hash: weighted([4, 0], [1, 1]),
    freshId: weighted([3, true], [1, false]),
    sameAsset: weighted([3, true], [1, false]),
  });
  const transfers: fc.Arbitrary<Op> = fc.record({
    type: fc.constant('transfers' as const),
    linked: weighted([profile.linked, true], [10 - profile.linked, false]),
    items: fc.oneof(
      { weight: 40, arbitrary: fc.array(item, { minLength: 1, maxLength: profile.batchMax }) },
      { weight: 1, arbitrary: fc.constant([]) },
    ),
  });
  const { weights } = profile;
  return fc.oneof(
    { weight: weights.open, arbitrary: open },
    {
      weight: weights.close,
      arbitrary: fc.record({ type: fc.constant('close' as const), address: index(ADDRESSES.length) }),
    },
    {
      weight: weights.limit,
      arbitrary: fc.record({
        type: fc.constant('limit' as const),
        address: index(ADDRESSES.length),
        limit: fc.option(amountArb(300n), { nil: null, freq: 3 }),
      }),
    },
    { weight: weights.transfers, arbitrary: transfers },
    {
      weight: weights.post,
      arbitrary: fc.record({
        type: fc.constant('post' as const),
        id: index(IDS.length),
        existing: weighted([6, true], [1, false]),
        amount: fc.option(amountArb(500n), { nil: null, freq: 2 }),
      }),
    },
    {
      weight: weights.void,
      arbitrary: fc.record({
        type: fc.constant('void' as const),
        id: index(IDS.length),
        existing: weighted([6, true], [1, false]),
      }),
    },
    {
      weight: weights.reverse,
      arbitrary: fc.record({
        type: fc.constant('reverse' as const),
        id: index(IDS.length),
        existing: weighted([6, true], [1, false]),
        reversalId: index(IDS.length),
        freshReversalId: weighted([4, true], [1, false]),
        amount: fc.option(amountArb(300n), { nil: null, freq: 2 }),
        code: fc.constantFrom('reversal' as const, 'refund' as const),
        hash: weighted([4, 0], [1, 1]),
      }),
    },
    { weight: weights.expire, arbitrary: fc.constant({ type: 'expire' as const }) },
  );
}

/** Opens every account of the universe, validly, so that a run has something to move money between. */
function preludeArb(profile: Profile): fc.Arbitrary<Step[]> {
  const [none, debits, credits] = profile.bounds;
  const account = fc
    .record({
      asset: weighted([4, 0], [1, 1], [1, 2]),
      accountType: fc.constantFrom(...ACCOUNT_TYPES),
      bound: weighted<Bound>([none, 'none'], [debits, 'debits'], [credits, 'credits']),
      limit: fc.option(amountArb(300n), { nil: null, freq: 2 }),
    })
    .map(({ limit, bound, ...rest }) => ({ ...rest, bound, limit: bound === 'none' ? null : limit }));
  return fc.tuple(...ACCOUNTS.map(() => account)).map((accounts) =>
    accounts.map((chosen, address): Step => ({
      advance: 0,
      op: { type: 'open', address, giveScale: true, scaleDelta: 0, ...chosen },
    })),
  );
}

function stepsArb(profile: Profile): fc.Arbitrary<Step[]> {
  const step = fc.record({ advance: fc.integer({ min: 0, max: 30 }), op: opArb(profile) });
  return fc
    .tuple(
      preludeArb(profile),
      fc.array(step, { minLength: Math.floor(profile.steps / 2), maxLength: profile.steps }),
    )
    .map(([first, rest]) => [...first, ...rest]);
}

function property(profile: Profile, seen: Seen): void {
  fc.assert(
    fc.property(stepsArb(profile), (steps) => {
      runSteps(steps, seen);
    }),
    { numRuns: RUNS },
  );
}

function expectSeen(seen: Seen, keys: readonly string[]): void {
  const missing = keys.filter((key) => (seen.get(key) ?? 0) === 0);
  expect(missing, `outcomes the generator never reached: ${JSON.stringify([...seen].sort())}`).toEqual([]);
}

describe('ledger invariants, against a reference model', () => {
  it('hold for any mix of commands', () => {
    const seen: Seen = new Map();
    property(
      {
        steps: 30,
        weights: { open: 3, close: 1, limit: 2, transfers: 10, post: 3, void: 1, reverse: 3, expire: 2 },
        bounds: [3, 4, 2, 1],
        batchMax: 4,
        linked: 4,
        pending: 3,
      },
      seen,
    );
    expectSeen(seen, [
      'open:done',
      'open:nothing',
      'open:ALREADY_EXISTS',
      'open:ASSET_MISMATCH',
      'open:VALIDATION_FAILED',
      'close:done',
      'close:INVALID_STATE',
      'close:NOT_FOUND',
      'limit:done',
      'limit:INVALID_STATE',
      'limit:VALIDATION_FAILED',
      'transfers:single:created',
      'transfers:single:exists',
      'transfers:single:ID_REUSED',
      'transfers:single:INSUFFICIENT_FUNDS',
      'transfers:single:LIMIT_EXCEEDED',
      'transfers:single:ASSET_MISMATCH',
      'transfers:single:NOT_FOUND',
      'transfers:single:VALIDATION_FAILED',
      'transfers:linked:created',
      'transfers:linked:LINKED_EVENT_FAILED',
      'transfers:VALIDATION_FAILED',
      'post:done',
      'post:INVALID_STATE',
      'post:VALIDATION_FAILED',
      'post:PENDING_EXPIRED',
      'void:done',
      'reverse:done',
      'reverse:nothing',
      'reverse:ID_REUSED',
      'reverse:ALREADY_REVERSED',
      'reverse:INVALID_STATE',
      'reverse:VALIDATION_FAILED',
      'expire:done',
      'expire:nothing',
    ]);
  });

  it('hold for bounded and limited accounts under pending holds, limit changes, posts and expiries', () => {
    const seen: Seen = new Map();
    property(
      {
        steps: 30,
        weights: { open: 2, close: 1, limit: 4, transfers: 10, post: 4, void: 2, reverse: 2, expire: 3 },
        bounds: [1, 6, 3, 0],
        batchMax: 3,
        linked: 2,
        pending: 8,
      },
      seen,
    );
    expectSeen(seen, [
      'limit:done',
      'limit:LIMIT_EXCEEDED',
      'transfers:single:INSUFFICIENT_FUNDS',
      'transfers:single:LIMIT_EXCEEDED',
      'post:done',
      'post:PENDING_EXPIRED',
      'void:done',
      'expire:done',
      'reverse:done',
    ]);
  });

  it('hold for large batches, linked and not, with failing items', () => {
    const seen: Seen = new Map();
    property(
      {
        steps: 12,
        weights: { open: 1, close: 0, limit: 1, transfers: 10, post: 1, void: 1, reverse: 2, expire: 1 },
        bounds: [2, 5, 2, 1],
        batchMax: 12,
        linked: 5,
        pending: 3,
      },
      seen,
    );
    expectSeen(seen, [
      'transfers:linked:created',
      'transfers:linked:exists',
      'transfers:linked:LINKED_EVENT_FAILED',
      'transfers:linked:INSUFFICIENT_FUNDS',
      'transfers:single:created',
      'transfers:single:exists',
      'transfers:single:ID_REUSED',
    ]);
  });
});
