/**
 * Ledger snapshots: the whole state at a revision, so loading a book reads the snapshot and
 * the tail after it instead of the whole stream (load time must not grow with the stream).
 * A snapshot is a cache: deleting every one changes nothing but load time.
 */
import type { Database } from '../../adapters/db/database.js';
import type { Position } from '../../adapters/eventstore/port.js';
import type { AccountState, LedgerState, TransferState } from '../../domain/ledger/state.js';
import type { TransferRecord } from '../../domain/ledger/events.js';

/** Bump when the state's shape changes: older snapshots are then ignored (and rebuilt). */
export const SNAPSHOT_FORMAT = 1;

export interface Snapshot {
  readonly revision: bigint;
  readonly position: Position | null;
  readonly state: LedgerState;
}

export interface SnapshotStore {
  load(stream: string): Promise<Snapshot | null>;
  save(stream: string, revision: bigint, position: Position | null, state: LedgerState): Promise<void>;
}

interface StoredAccount extends Omit<AccountState, 'creditLimit' | 'balances'> {
  readonly creditLimit: string | null;
  readonly balances: readonly [string, string, string, string];
}

interface StoredTransfer {
  readonly record: TransferRecord;
  readonly amount: string;
  readonly status: TransferState['status'];
  readonly postedAmount: string;
  readonly reversedAmount: string;
}

interface StoredState {
  readonly assets: [string, number][];
  readonly accounts: StoredAccount[];
  readonly transfers: StoredTransfer[];
  readonly eventsApplied: number;
}

export function serializeLedger(state: LedgerState): StoredState {
  return {
    assets: [...state.assets],
    accounts: [...state.accounts.values()].map((account) => ({
      ...account,
      creditLimit: account.creditLimit === null ? null : account.creditLimit.toString(),
      balances: [
        account.balances.debitsPosted.toString(),
        account.balances.creditsPosted.toString(),
        account.balances.debitsPending.toString(),
        account.balances.creditsPending.toString(),
      ],
    })),
    transfers: [...state.transfers.values()].map((transfer) => ({
      record: transfer.record,
      amount: transfer.amount.toString(),
      status: transfer.status,
      postedAmount: transfer.postedAmount.toString(),
      reversedAmount: transfer.reversedAmount.toString(),
    })),
    eventsApplied: state.eventsApplied,
  };
}

export function deserializeLedger(stored: StoredState): LedgerState {
  const transfers = new Map<string, TransferState>(
    stored.transfers.map((transfer) => [
      transfer.record.transferId,
      {
        record: transfer.record,
        amount: BigInt(transfer.amount),
        status: transfer.status,
        postedAmount: BigInt(transfer.postedAmount),
        reversedAmount: BigInt(transfer.reversedAmount),
      },
    ]),
  );
  return {
    assets: new Map(stored.assets),
    accounts: new Map(
      stored.accounts.map((account) => [
        account.address,
        {
          ...account,
          creditLimit: account.creditLimit === null ? null : BigInt(account.creditLimit),
          balances: {
            debitsPosted: BigInt(account.balances[0]),
            creditsPosted: BigInt(account.balances[1]),
            debitsPending: BigInt(account.balances[2]),
            creditsPending: BigInt(account.balances[3]),
          },
        },
      ]),
    ),
    transfers,
    pending: new Set(
      [...transfers.values()]
        .filter((transfer) => transfer.status === 'pending')
        .map((transfer) => transfer.record.transferId),
    ),
    eventsApplied: stored.eventsApplied,
  };
}

export function sqlSnapshotStore(db: Database): SnapshotStore {
  return {
    async load(stream) {
      const { rows } = await db.query<{
        revision: string;
        commit_position: string | null;
        prepare_position: string | null;
        state: StoredState;
      }>(
        `SELECT revision::text, commit_position::text, prepare_position::text, state FROM ll_snapshots
          WHERE stream_name = $1 AND format = $2`,
        [stream, SNAPSHOT_FORMAT],
      );
      const row = rows[0];
      if (!row) return null;
      return {
        revision: BigInt(row.revision),
        position:
          row.commit_position === null || row.prepare_position === null
            ? null
            : { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) },
        state: deserializeLedger(row.state),
      };
    },
    async save(stream, revision, position, state) {
      await db.query(
        `INSERT INTO ll_snapshots (stream_name, format, revision, commit_position, prepare_position, state, created_at)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, now())
         ON CONFLICT (stream_name) DO UPDATE SET format = excluded.format, revision = excluded.revision,
           commit_position = excluded.commit_position, prepare_position = excluded.prepare_position,
           state = excluded.state, created_at = excluded.created_at
         WHERE ll_snapshots.revision < excluded.revision OR ll_snapshots.format <> excluded.format`,
        [
          stream,
          SNAPSHOT_FORMAT,
          revision.toString(),
          position?.commit.toString() ?? null,
          position?.prepare.toString() ?? null,
          JSON.stringify(serializeLedger(state)),
        ],
      );
    },
  };
}
