/**
 * A ledger book on a test database, commanded by the system, with the float and one wallet
 * open: what projection tests fill their read models from.
 */
import type { Database } from '../../src/adapters/db/database.js';
import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import { LedgerBooks, type BookOutcome } from '../../src/commands/ledger/book.js';
import { sqlSnapshotStore } from '../../src/commands/ledger/snapshots.js';
import type { LedgerCommand } from '../../src/domain/ledger/decide.js';
import { openAccount } from './ledgerSpec.js';

export const FLOAT = 'assets:bank:float';
export const WALLET = 'customers:cus_1:wallet';

export interface SystemBook {
  readonly store: SqlEventStore;
  /** Who the book's events say wrote them: the system, as `actorId`. */
  readonly metadata: { readonly actor: { kind: 'system'; id: string }; readonly channel: { kind: 'system' } };
  readonly execute: (command: LedgerCommand) => Promise<BookOutcome>;
}

export async function systemBook(db: Database, orgId: string, actorId: string): Promise<SystemBook> {
  const store = new SqlEventStore(db);
  const books = new LedgerBooks(store, sqlSnapshotStore(db));
  const metadata = { actor: { kind: 'system' as const, id: actorId }, channel: { kind: 'system' as const } };
  const execute = (command: LedgerCommand) => books.execute(orgId, command, metadata, new Date());
  await execute(openAccount(FLOAT, 'KES'));
  await execute(openAccount(WALLET, 'KES', { accountType: 'liability' }));
  return { store, metadata, execute };
}
