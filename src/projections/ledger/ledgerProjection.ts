/**
 * The ledger read models: accounts with their balances, and transfers (whose rows also give
 * every posting: the rm_ledger_postings view of migration 0007). Built for replay speed: a
 * batch's events are folded in memory — balance changes summed per account, transfers
 * gathered — and written with a handful of set-based statements; a rebuild on PostgreSQL
 * projects every event in SQL instead (ledgerRebuild.ts).
 */
import { Decimal } from 'decimal.js';
import type { SqlClient } from '../../adapters/db/database.js';
import type { RecordedEvent } from '../../adapters/eventstore/port.js';
import { LEDGER_EVENT_TYPES, type LedgerEvent, type TransferRecord } from '../../domain/ledger/events.js';
import { worldAccount } from '../../domain/ledger/state.js';
import type { Projection } from '../projection.js';
import { rebuildLedgerInSql } from './ledgerRebuild.js';

type Phase = 'posted' | 'pending';

interface Delta {
  org_id: string;
  address: string;
  debits_posted: Decimal;
  credits_posted: Decimal;
  debits_pending: Decimal;
  credits_pending: Decimal;
}

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
  const zero = new Decimal(0).toFixed(scale);
  return { debits_posted: zero, credits_posted: zero, debits_pending: zero, credits_pending: zero };
}

/** Stored amounts carry exactly their asset's scale, so the scale can be read off one. */
function scaleOf(amount: string): number {
  const dot = amount.indexOf('.');
  return dot < 0 ? 0 : amount.length - dot - 1;
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
  readonly deltas = new Map<string, Delta>();
  readonly transfers = new Map<string, TransferRow>();
  readonly touched = new Set<string>();

  delta(org: string, address: string): Delta {
    const k = key(org, address);
    let found = this.deltas.get(k);
    if (!found) {
      found = {
        org_id: org,
        address,
        debits_posted: new Decimal(0),
        credits_posted: new Decimal(0),
        debits_pending: new Decimal(0),
        credits_pending: new Decimal(0),
      };
      this.deltas.set(k, found);
    }
    return found;
  }

  create(event: RecordedEvent, record: TransferRecord, at: string): void {
    this.transfers.set(key(event.orgId, record.transferId), transferRow(event, record));
    this.touched.add(key(event.orgId, record.transferId));
    this.move(event, record, record.pending ? 'pending' : 'posted', new Decimal(record.amount));
    if (record.reversalOf === null) return;
    const original = this.transfers.get(key(event.orgId, record.reversalOf));
    if (!original) return;
    original.reversed_amount = new Decimal(original.reversed_amount)
      .plus(record.amount)
      .toFixed(scaleOf(original.amount));
    original.updated_at = at;
    this.touched.add(key(event.orgId, record.reversalOf));
  }

  move(
    event: RecordedEvent,
    record: { debitAccount: string; creditAccount: string },
    phase: Phase,
    amount: Decimal,
  ): void {
    const debit = this.delta(event.orgId, record.debitAccount);
    const credit = this.delta(event.orgId, record.creditAccount);
    if (phase === 'posted') {
      debit.debits_posted = debit.debits_posted.plus(amount);
      credit.credits_posted = credit.credits_posted.plus(amount);
    } else {
      debit.debits_pending = debit.debits_pending.plus(amount);
      credit.credits_pending = credit.credits_pending.plus(amount);
    }
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

function transferRow(event: RecordedEvent, record: TransferRecord): TransferRow {
  const at = event.occurredAt.toISOString();
  return {
    org_id: event.orgId,
    transfer_id: record.transferId,
    debit_account: record.debitAccount,
    credit_account: record.creditAccount,
    asset: record.asset,
    amount: record.amount,
    posted_amount: record.pending ? new Decimal(0).toFixed(scaleOf(record.amount)) : record.amount,
    reversed_amount: new Decimal(0).toFixed(scaleOf(record.amount)),
    code: record.code,
    status: record.pending ? 'pending' : 'posted',
    pending: record.pending,
    timeout_at: record.timeoutAt,
    reversal_of: record.reversalOf,
    reference: record.reference,
    metadata: record.metadata,
    created_at: at,
    updated_at: at,
    commit_position: event.position.commit.toString(),
    prepare_position: event.position.prepare.toString(),
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
        case 'TransfersCreated':
          for (const record of createdBy(e)) fold.create(event, record, at);
          break;
        case 'PendingTransferPosted':
        case 'PendingTransferVoided':
        case 'PendingTransferExpired': {
          const row = fold.transfers.get(key(event.orgId, e.data.transferId));
          if (!row) throw new Error(`ledger projection: ${e.data.transferId} is not known`);
          const record = { debitAccount: row.debit_account, creditAccount: row.credit_account };
          fold.move(event, record, 'pending', new Decimal(row.amount).negated());
          if (e.type === 'PendingTransferPosted') {
            fold.move(event, record, 'posted', new Decimal(e.data.amount));
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
  const deltas = [...fold.deltas.values()];
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
            debits_posted: delta.debits_posted.toFixed(),
            credits_posted: delta.credits_posted.toFixed(),
            debits_pending: delta.debits_pending.toFixed(),
            credits_pending: delta.credits_pending.toFixed(),
          })),
        ),
      ],
    );
  }
  const transfers = [...fold.touched].flatMap((k) => {
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
