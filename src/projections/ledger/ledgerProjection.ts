/**
 * The ledger read models: accounts with their balances, and transfers (whose rows also give
 * every posting: the rm_ledger_postings view of migration 0007). Built for replay speed: a
 * batch's events are folded in memory — balance changes summed per account, transfers
 * gathered — and written with a handful of set-based statements; a rebuild on PostgreSQL
 * projects every event in SQL instead (ledgerRebuild.ts).
 */
import type { SqlClient } from '../../adapters/db/database.js';
import { plainArray, textArray } from '../../adapters/db/arrayLiteral.js';
import type { RecordedEvent } from '../../adapters/eventstore/port.js';
import { LEDGER_EVENT_TYPES, type LedgerEvent, type TransferRecord } from '../../domain/ledger/events.js';
import { formatAmount } from '../../domain/ledger/money.js';
import { worldAccount } from '../../domain/ledger/state.js';
import type { Projection } from '../projection.js';
import { recordLedgerKeys } from './ledgerKeys.js';
import { rebuildLedgerInSql } from './ledgerRebuild.js';

type Phase = 'posted' | 'pending';

/** A batch's change to one account's four balances, in minor units at `scale`. */
interface Delta {
  org_id: string;
  address: string;
  scale: number;
  debits_posted: bigint;
  credits_posted: bigint;
  debits_pending: bigint;
  credits_pending: bigint;
}

type Side = 'debits_posted' | 'credits_posted' | 'debits_pending' | 'credits_pending';

/** A stored amount (exactly its asset's scale) as minor units: plain string arithmetic, no Decimal. */
function unitsOf(amount: string): { units: bigint; scale: number } {
  const dot = amount.indexOf('.');
  if (dot < 0) return { units: BigInt(amount), scale: 0 };
  return { units: BigInt(amount.slice(0, dot) + amount.slice(dot + 1)), scale: amount.length - dot - 1 };
}

/**
 * Adds an amount (minor units at `scale`, negated when asked) to one side of a delta, at the
 * larger of the two scales. Every amount of one asset has its scale, so the usual case is the
 * same scale on both: no power of ten is worked out.
 */
function add(delta: Delta, side: Side, units: bigint, scale: number, negate: boolean): void {
  if (scale > delta.scale) {
    const factor = 10n ** BigInt(scale - delta.scale);
    for (const each of SIDES) delta[each] *= factor;
    delta.scale = scale;
  }
  const value = scale === delta.scale ? units : units * 10n ** BigInt(delta.scale - scale);
  delta[side] += negate ? -value : value;
}

const SIDES: readonly Side[] = ['debits_posted', 'credits_posted', 'debits_pending', 'credits_pending'];

interface TransferRow {
  org_id: string;
  transfer_id: string;
  debit_account: string;
  credit_account: string;
  asset: string;
  amount: string;
  posted_amount: string;
  reversed_amount: string;
  code: string;
  status: string;
  pending: boolean;
  timeout_at: string | null;
  reversal_of: string | null;
  reference: string | null;
  metadata: object;
  created_at: string;
  updated_at: string;
  commit_position: string;
  prepare_position: string;
  /** When a pending transfer was posted, voided or expired. */
  resolved_commit_position: string | null;
  resolved_prepare_position: string | null;
  resolved_at: string | null;
}

const key = (org: string, id: string): string => `${org}\u0000${id}`;

/** Balances are stored at the asset's scale, so the live fold and a rebuild write the same numbers. */
function zeroBalances(scale: number): Record<string, string> {
  const zero = formatAmount(0n, scale);
  return { debits_posted: zero, credits_posted: zero, debits_pending: zero, credits_pending: zero };
}

/** Stored amounts carry exactly their asset's scale, so the scale can be read off one. */
function scaleOf(amount: string): number {
  const dot = amount.indexOf('.');
  return dot < 0 ? 0 : amount.length - dot - 1;
}

/** A stored amount as minor units at `scale` (at least its own). */
function unitsAt(amount: string, scale: number): bigint {
  const parsed = unitsOf(amount);
  return parsed.units * 10n ** BigInt(scale - parsed.scale);
}

class BatchFold {
  readonly opened: object[] = [];
  readonly updatedAccounts: {
    org_id: string;
    address: string;
    status: string | null;
    credit_limit: string | null;
    limit_changed: boolean;
    updated_at: string;
  }[] = [];
  /** Each account's delta once, in the order first touched. */
  readonly deltas: Delta[] = [];
  /**
   * The deltas by organization, then address: two lookups by strings the events already hold,
   * where one key joined from both is a new string to build and hash for every posting.
   */
  private readonly deltasByOrg = new Map<string, Map<string, Delta>>();
  readonly transfers = new Map<string, TransferRow>();
  /** Transfer rows (loaded, or made from fresh ones) this batch changed: the upsert writes them. */
  readonly touched = new Set<string>();
  /**
   * Transfers this batch created and did not change afterwards, kept as their records: written
   * as column arrays (see insertCreated), the cheapest form for PostgreSQL to take rows in. A
   * later event of the batch that changes one makes it a row (`row`).
   */
  readonly fresh = new Map<string, { record: TransferRecord; stamp: Stamp; orgId: string }>();

  delta(org: string, address: string): Delta {
    let byAddress = this.deltasByOrg.get(org);
    if (!byAddress) {
      byAddress = new Map();
      this.deltasByOrg.set(org, byAddress);
    }
    let found = byAddress.get(address);
    if (!found) {
      found = {
        org_id: org,
        address,
        scale: 0,
        debits_posted: 0n,
        credits_posted: 0n,
        debits_pending: 0n,
        credits_pending: 0n,
      };
      byAddress.set(address, found);
      this.deltas.push(found);
    }
    return found;
  }

  /** A transfer's row to change: loaded, or made now from the record this batch created. */
  row(k: string): TransferRow | undefined {
    const found = this.transfers.get(k);
    if (found) return found;
    const created = this.fresh.get(k);
    if (!created) return undefined;
    const made = transferRow(created.orgId, created.record, created.stamp);
    this.transfers.set(k, made);
    this.fresh.delete(k);
    return made;
  }

  create(event: RecordedEvent, record: TransferRecord, stamp: Stamp): void {
    // Not `touched`: a fresh transfer is written by insertCreated, and one this batch changes
    // later is made a row (`row`) and touched by the change.
    this.fresh.set(key(event.orgId, record.transferId), { record, stamp, orgId: event.orgId });
    this.move(event, record, record.pending ? 'pending' : 'posted', record.amount);
    if (record.reversalOf === null) return;
    const original = this.row(key(event.orgId, record.reversalOf));
    if (!original) return;
    const scale = scaleOf(original.amount);
    original.reversed_amount = formatAmount(
      unitsAt(original.reversed_amount, scale) + unitsAt(record.amount, scale),
      scale,
    );
    original.updated_at = stamp.at;
    this.touched.add(key(event.orgId, record.reversalOf));
  }

  /** Moves a stored amount (negated: a released reservation) on both accounts of a transfer. */
  move(
    event: RecordedEvent,
    record: { debitAccount: string; creditAccount: string },
    phase: Phase,
    amount: string,
    negate = false,
  ): void {
    const debit = this.delta(event.orgId, record.debitAccount);
    const credit = this.delta(event.orgId, record.creditAccount);
    // One amount, read once for both sides.
    const { units, scale } = unitsOf(amount);
    add(debit, phase === 'posted' ? 'debits_posted' : 'debits_pending', units, scale, negate);
    add(credit, phase === 'posted' ? 'credits_posted' : 'credits_pending', units, scale, negate);
  }
}

/** The transfers an event creates: one, several (a batch's single event) or none. */
function createdBy(e: LedgerEvent): readonly TransferRecord[] {
  if (e.type === 'TransferCreated') return [e.data];
  if (e.type === 'TransfersCreated') return e.data.transfers;
  return [];
}

function asLedger(event: RecordedEvent): LedgerEvent {
  return { type: event.type, data: event.data } as unknown as LedgerEvent;
}

async function loadTransfers(
  tx: SqlClient,
  fold: BatchFold,
  wanted: readonly { org: string; id: string }[],
): Promise<void> {
  const missing = wanted.filter(({ org, id }) => !fold.transfers.has(key(org, id)));
  if (missing.length === 0) return;
  const { rows } = await tx.query<{ row: TransferRow }>(
    // Numbers as text: a JSON number would drop an amount's trailing zeros, and with them its scale.
    `SELECT to_jsonb(t) || jsonb_build_object('amount', t.amount::text, 'posted_amount', t.posted_amount::text,
            'reversed_amount', t.reversed_amount::text, 'commit_position', t.commit_position::text,
            'prepare_position', t.prepare_position::text,
            'resolved_commit_position', t.resolved_commit_position::text,
            'resolved_prepare_position', t.resolved_prepare_position::text) AS row
       FROM rm_ledger_transfers t
      JOIN unnest($1::text[], $2::text[]) AS w(org_id, transfer_id) USING (org_id, transfer_id)`,
    [missing.map((item) => item.org), missing.map((item) => item.id)],
  );
  for (const { row } of rows) {
    fold.transfers.set(key(row.org_id, row.transfer_id), row);
  }
}

/** What every transfer row of one event shares, worked out once per event (a batch has 1,000). */
interface Stamp {
  readonly at: string;
  readonly commit: string;
  readonly prepare: string;
}

function stampOf(event: RecordedEvent): Stamp {
  return {
    at: event.occurredAt.toISOString(),
    commit: event.position.commit.toString(),
    prepare: event.position.prepare.toString(),
  };
}

function transferRow(orgId: string, record: TransferRecord, stamp: Stamp): TransferRow {
  const { at } = stamp;
  const zero = formatAmount(0n, scaleOf(record.amount));
  return {
    org_id: orgId,
    transfer_id: record.transferId,
    debit_account: record.debitAccount,
    credit_account: record.creditAccount,
    asset: record.asset,
    amount: record.amount,
    posted_amount: record.pending ? zero : record.amount,
    reversed_amount: zero,
    code: record.code,
    status: record.pending ? 'pending' : 'posted',
    pending: record.pending,
    timeout_at: record.timeoutAt,
    reversal_of: record.reversalOf,
    reference: record.reference,
    metadata: record.metadata,
    created_at: at,
    updated_at: at,
    commit_position: stamp.commit,
    prepare_position: stamp.prepare,
    resolved_commit_position: null,
    resolved_prepare_position: null,
    resolved_at: null,
  };
}

const TRANSFER_COLUMNS =
  'org_id, transfer_id, debit_account, credit_account, asset, amount, posted_amount, reversed_amount, code, status, pending, timeout_at, reversal_of, reference, metadata, created_at, updated_at, commit_position, prepare_position, resolved_commit_position, resolved_prepare_position, resolved_at';

export const ledgerProjection: Projection = {
  name: 'ledger',
  tables: ['rm_ledger_accounts', 'rm_ledger_transfers'],
  eventTypes: LEDGER_EVENT_TYPES,
  rebuildInSql: rebuildLedgerInSql,
  // Every key is written again from here on, by the hash functions the canary now records.
  emptied: recordLedgerKeys,
  async apply(tx, events) {
    const fold = new BatchFold();
    // Transfers this batch posts, voids, expires or reverses but did not create: one query.
    const referenced: { org: string; id: string }[] = [];
    for (const event of events) {
      const e = asLedger(event);
      if (
        e.type === 'PendingTransferPosted' ||
        e.type === 'PendingTransferVoided' ||
        e.type === 'PendingTransferExpired'
      ) {
        referenced.push({ org: event.orgId, id: e.data.transferId });
      }
      for (const record of createdBy(e)) {
        if (record.reversalOf !== null) referenced.push({ org: event.orgId, id: record.reversalOf });
      }
    }
    const created = new Set(
      events.flatMap((event) =>
        createdBy(asLedger(event)).map((record) => key(event.orgId, record.transferId)),
      ),
    );
    await loadTransfers(
      tx,
      fold,
      referenced.filter(({ org, id }) => !created.has(key(org, id))),
    );

    for (const event of events) {
      const e = asLedger(event);
      const at = event.occurredAt.toISOString();
      switch (e.type) {
        case 'AccountOpened':
          for (const [address, type, meta] of [
            [worldAccount(e.data.asset), 'equity', {}],
            [e.data.address, e.data.accountType, e.data.metadata],
          ] as const) {
            const world = address.startsWith('world:');
            fold.opened.push({
              org_id: event.orgId,
              address,
              asset: e.data.asset,
              scale: e.data.scale,
              account_type: type,
              debits_must_not_exceed_credits: world ? false : e.data.flags.debitsMustNotExceedCredits,
              credits_must_not_exceed_debits: world ? false : e.data.flags.creditsMustNotExceedDebits,
              credit_limit: world ? null : e.data.creditLimit,
              metadata: meta,
              status: 'open',
              ...zeroBalances(e.data.scale),
              opened_at: at,
              updated_at: at,
            });
          }
          break;
        case 'AccountClosed':
          fold.updatedAccounts.push({
            org_id: event.orgId,
            address: e.data.address,
            status: 'closed',
            credit_limit: null,
            limit_changed: false,
            updated_at: at,
          });
          break;
        case 'AccountLimitChanged':
          fold.updatedAccounts.push({
            org_id: event.orgId,
            address: e.data.address,
            status: null,
            credit_limit: e.data.creditLimit,
            limit_changed: true,
            updated_at: at,
          });
          break;
        case 'TransferCreated':
        case 'TransfersCreated': {
          const stamp = stampOf(event);
          for (const record of createdBy(e)) fold.create(event, record, stamp);
          break;
        }
        case 'PendingTransferPosted':
        case 'PendingTransferVoided':
        case 'PendingTransferExpired': {
          const row = fold.row(key(event.orgId, e.data.transferId));
          if (!row) throw new Error(`ledger projection: ${e.data.transferId} is not known`);
          const record = { debitAccount: row.debit_account, creditAccount: row.credit_account };
          fold.move(event, record, 'pending', row.amount, true);
          if (e.type === 'PendingTransferPosted') {
            fold.move(event, record, 'posted', e.data.amount);
            row.posted_amount = e.data.amount;
            row.status = 'posted';
          } else {
            row.status = e.type === 'PendingTransferVoided' ? 'voided' : 'expired';
          }
          row.updated_at = at;
          row.resolved_commit_position = event.position.commit.toString();
          row.resolved_prepare_position = event.position.prepare.toString();
          row.resolved_at = at;
          fold.touched.add(key(event.orgId, e.data.transferId));
          break;
        }
      }
    }
    await write(tx, fold);
  },
};

async function write(tx: SqlClient, fold: BatchFold): Promise<void> {
  if (fold.opened.length > 0) {
    await tx.query(
      `INSERT INTO rm_ledger_accounts (org_id, address, asset, scale, account_type, debits_must_not_exceed_credits,
         credits_must_not_exceed_debits, credit_limit, metadata, status, debits_posted, credits_posted, debits_pending,
         credits_pending, opened_at, updated_at)
       SELECT org_id, address, asset, scale, account_type, debits_must_not_exceed_credits, credits_must_not_exceed_debits,
              credit_limit, metadata, status, debits_posted, credits_posted, debits_pending, credits_pending, opened_at,
              updated_at
         FROM jsonb_populate_recordset(NULL::rm_ledger_accounts, $1::jsonb)
       ON CONFLICT (org_id, address) DO NOTHING`,
      [JSON.stringify(fold.opened)],
    );
  }
  for (const update of fold.updatedAccounts) {
    await tx.query(
      `UPDATE rm_ledger_accounts SET status = coalesce($3, status),
         credit_limit = CASE WHEN $5 THEN $4::numeric ELSE credit_limit END, updated_at = $6
       WHERE org_id = $1 AND address = $2`,
      [
        update.org_id,
        update.address,
        update.status,
        update.credit_limit,
        update.limit_changed,
        update.updated_at,
      ],
    );
  }
  const { deltas } = fold;
  if (deltas.length > 0) {
    await tx.query(
      `UPDATE rm_ledger_accounts a SET debits_posted = round(a.debits_posted + d.debits_posted, a.scale),
         credits_posted = round(a.credits_posted + d.credits_posted, a.scale),
         debits_pending = round(a.debits_pending + d.debits_pending, a.scale),
         credits_pending = round(a.credits_pending + d.credits_pending, a.scale)
       FROM jsonb_to_recordset($1::jsonb) AS d(org_id text, address text, debits_posted numeric, credits_posted numeric,
         debits_pending numeric, credits_pending numeric)
       WHERE a.org_id = d.org_id AND a.address = d.address`,
      [
        JSON.stringify(
          deltas.map((delta) => ({
            org_id: delta.org_id,
            address: delta.address,
            debits_posted: formatAmount(delta.debits_posted, delta.scale),
            credits_posted: formatAmount(delta.credits_posted, delta.scale),
            debits_pending: formatAmount(delta.debits_pending, delta.scale),
            credits_pending: formatAmount(delta.credits_pending, delta.scale),
          })),
        ),
      ],
    );
  }
  await insertCreated(tx, [...fold.fresh.values()]);
  const transfers = [...fold.touched].flatMap((k) => {
    // The fresh ones went in above (they are rows only once changed); these were loaded or changed.
    const row = fold.transfers.get(k);
    return row ? [row] : [];
  });
  if (transfers.length > 0) {
    await tx.query(
      `INSERT INTO rm_ledger_transfers (${TRANSFER_COLUMNS})
       SELECT ${TRANSFER_COLUMNS} FROM jsonb_populate_recordset(NULL::rm_ledger_transfers, $1::jsonb)
       ON CONFLICT (org_id, transfer_id) DO UPDATE SET posted_amount = excluded.posted_amount,
         reversed_amount = excluded.reversed_amount, status = excluded.status, updated_at = excluded.updated_at,
         resolved_commit_position = excluded.resolved_commit_position,
         resolved_prepare_position = excluded.resolved_prepare_position, resolved_at = excluded.resolved_at`,
      [JSON.stringify(transfers)],
    );
  }
}

/**
 * Transfers created by this batch and not changed since, as one INSERT over column arrays:
 * PostgreSQL takes rows this way at about two thirds of the CPU of a JSON record set (measured:
 * the row's text fields parse once, not once as JSON and again as a column). What every
 * transfer of one event shares (organization, time, position) is sent once per event. The
 * derived columns are worked out in SQL exactly as transferRow does them (a zero keeps the
 * amount's scale: `amount * 0`), so both paths, and a rebuild, write the same rows.
 *
 * A plain INSERT, not an upsert: one event creates a transfer, and the projector applies each
 * event once (its checkpoint commits with the rows), so no row can be there yet. Were one ever
 * there, the unique violation stops the projector, loudly, instead of overwriting a row. An
 * upsert costs PostgreSQL about a fifth more per row (measured on 200,000 rows).
 */
async function insertCreated(
  tx: SqlClient,
  created: readonly { record: TransferRecord; stamp: Stamp; orgId: string }[],
): Promise<void> {
  if (created.length === 0) return;
  const stamps = new Map<Stamp, number>();
  const eventOrg: string[] = [];
  const eventAt: string[] = [];
  const eventCommit: string[] = [];
  const eventPrepare: string[] = [];
  const columns = {
    event: [] as number[],
    transferId: [] as string[],
    debit: [] as string[],
    credit: [] as string[],
    asset: [] as string[],
    amount: [] as string[],
    code: [] as string[],
    pending: [] as boolean[],
    timeoutAt: [] as (string | null)[],
    reversalOf: [] as (string | null)[],
    reference: [] as (string | null)[],
    metadata: [] as string[],
  };
  for (const { record, stamp, orgId } of created) {
    let event = stamps.get(stamp);
    if (event === undefined) {
      event = stamps.size + 1;
      stamps.set(stamp, event);
      eventOrg.push(orgId);
      eventAt.push(stamp.at);
      eventCommit.push(stamp.commit);
      eventPrepare.push(stamp.prepare);
    }
    columns.event.push(event);
    columns.transferId.push(record.transferId);
    columns.debit.push(record.debitAccount);
    columns.credit.push(record.creditAccount);
    columns.asset.push(record.asset);
    columns.amount.push(record.amount);
    columns.code.push(record.code);
    columns.pending.push(record.pending);
    columns.timeoutAt.push(record.timeoutAt);
    columns.reversalOf.push(record.reversalOf);
    columns.reference.push(record.reference);
    columns.metadata.push(JSON.stringify(record.metadata));
  }
  await tx.query(
    `INSERT INTO rm_ledger_transfers (${TRANSFER_COLUMNS})
     SELECT e.org_id, u.transfer_id, u.debit_account, u.credit_account, u.asset, u.amount,
            CASE WHEN u.pending THEN u.amount * 0 ELSE u.amount END, u.amount * 0, u.code,
            CASE WHEN u.pending THEN 'pending' ELSE 'posted' END, u.pending, u.timeout_at, u.reversal_of,
            u.reference, u.metadata, e.at, e.at, e.commit_position, e.prepare_position, NULL, NULL, NULL
       FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::text[],
                   $8::boolean[], $9::timestamptz[], $10::text[], $11::text[], $12::jsonb[])
              AS u(event, transfer_id, debit_account, credit_account, asset, amount, code, pending, timeout_at,
                   reversal_of, reference, metadata)
       JOIN unnest($13::text[], $14::timestamptz[], $15::bigint[], $16::bigint[]) WITH ORDINALITY
              AS e(org_id, at, commit_position, prepare_position, event) USING (event)`,
    [
      plainArray(columns.event),
      textArray(columns.transferId),
      textArray(columns.debit),
      textArray(columns.credit),
      textArray(columns.asset),
      textArray(columns.amount),
      textArray(columns.code),
      plainArray(columns.pending),
      textArray(columns.timeoutAt),
      textArray(columns.reversalOf),
      textArray(columns.reference),
      textArray(columns.metadata),
      textArray(eventOrg),
      textArray(eventAt),
      textArray(eventCommit),
      textArray(eventPrepare),
    ],
  );
}
