/**
 * SPEC §4's last two invariants, as properties over random command sequences (1,000 runs, each
 * in an organization of its own): the writer's cached book equals the book replayed from the
 * events (and from a snapshot plus the tail), and the read models projected live equal the read
 * models rebuilt from every event at the end.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import { LedgerBooks, ledgerStream } from '../../src/commands/ledger/book.js';
import { sqlSnapshotStore } from '../../src/commands/ledger/snapshots.js';
import type { LedgerCommand } from '../../src/domain/ledger/decide.js';
import { ledgerProjection } from '../../src/projections/ledger/ledgerProjection.js';
import { Projector } from '../../src/projections/projector.js';
import { rebuildProjections } from '../../src/projections/rebuild.js';
import { freshPglite, freshPostgres, type TestDatabase } from '../support/databases.js';
import { dumpReadModels } from '../support/readModels.js';
import { probePostgres, serviceGate } from '../support/services.js';

const RUNS = 1_000;
const ACCOUNTS = ['assets:cash:main', 'customers:cus_1:wallet', 'revenue:fees'] as const;
const SYSTEM = { actor: { kind: 'system' as const, id: 'property' }, channel: { kind: 'system' as const } };

type Op =
  | {
      kind: 'transfer';
      from: number;
      to: number;
      cents: number;
      pending: boolean;
      count: number;
      /** Metadata and a reference with quotes, backslashes, commas and braces in them. */
      awkward: boolean;
    }
  | { kind: 'post'; pick: number; cents: number | null }
  | { kind: 'void'; pick: number }
  | { kind: 'reverse'; pick: number; cents: number | null }
  | { kind: 'limit'; cents: number | null }
  | { kind: 'expire' }
  | { kind: 'close'; account: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('transfer' as const),
      from: fc.nat(2),
      to: fc.nat(2),
      cents: fc.integer({ min: 1, max: 5_000 }),
      pending: fc.boolean(),
      // More than one is a batch: one TransfersCreated event for all that succeed.
      count: fc.integer({ min: 1, max: 3 }),
      awkward: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('post' as const),
      pick: fc.nat(),
      cents: fc.option(fc.integer({ min: 1, max: 5_000 }), { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('void' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('reverse' as const),
      pick: fc.nat(),
      cents: fc.option(fc.integer({ min: 1, max: 5_000 }), { nil: null }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('limit' as const),
      cents: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: null }),
    }),
  },
  // Every pending transfer's timeout has passed by EXPIRY_NOW: the sweeper's command expires them.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const) }) },
  // Refused unless the account is empty, which happens early in a history.
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('close' as const), account: fc.nat(2) }),
  },
);

const EXPIRY_NOW = new Date('2100-01-01T00:00:00.000Z');

const money = (cents: number): string => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;

const postgres = serviceGate('ledger replay and rebuild properties on PostgreSQL', await probePostgres());

function suite(name: string, open: () => Promise<TestDatabase>, enabled: boolean): void {
  describe.skipIf(!enabled)(`ledger replay and rebuild properties (${name})`, () => {
    let test: TestDatabase;
    let store: SqlEventStore;
    let books: LedgerBooks;
    let projector: Projector;
    let run = 0;

    beforeAll(async () => {
      test = await open();
      store = new SqlEventStore(test.db);
      books = new LedgerBooks(store, sqlSnapshotStore(test.db));
      projector = new Projector(test.db, store, [ledgerProjection]);
      projector.start();
    });

    afterAll(async () => {
      await projector.stop();
      await test.dispose();
    });

    it(`keeps the cached book equal to the replayed one, over ${RUNS} random histories`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
          run += 1;
          const orgId = `org_PROP${run}`;
          const execute = (command: LedgerCommand) =>
            books.execute(orgId, command, SYSTEM, new Date()).catch(() => null);
          await execute({
            type: 'OpenAccount',
            address: ACCOUNTS[0],
            asset: 'KES',
            scale: null,
            accountType: 'asset',
            flags: { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false },
            creditLimit: null,
            metadata: {},
          });
          await execute({
            type: 'OpenAccount',
            address: ACCOUNTS[1],
            asset: 'KES',
            scale: null,
            accountType: 'liability',
            flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: false },
            creditLimit: null,
            metadata: {},
          });
          await execute({
            type: 'OpenAccount',
            address: ACCOUNTS[2],
            asset: 'KES',
            scale: null,
            accountType: 'revenue',
            flags: { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false },
            creditLimit: null,
            metadata: {},
          });
          const ids: string[] = [];
          for (const [index, step] of ops.entries()) {
            const state = await books.state(orgId);
            const known = [...state.transfers.keys()];
            const pick = (n: number): string => known[n % Math.max(known.length, 1)] ?? 'none';
            switch (step.kind) {
              case 'transfer': {
                const transfers = Array.from({ length: step.count }, (_, k) => {
                  const id = step.count === 1 ? `t${index}` : `t${index}_${k}`;
                  ids.push(id);
                  return {
                    transferId: id,
                    // Each further item swaps the direction: a batch moves both ways between its accounts.
                    debitAccount: ACCOUNTS[k % 2 === 0 ? step.from : step.to]!,
                    creditAccount: ACCOUNTS[k % 2 === 0 ? step.to : step.from]!,
                    amount: money(step.cents + k),
                    code: 'payment' as const,
                    metadata: step.awkward ? { note: `said "hi", {${index}} \\ NULL` } : {},
                    reference: step.awkward ? `ref "${k}", {x} \\` : null,
                    pendingTimeoutAt: step.pending ? '2099-01-01T00:00:00.000Z' : null,
                    requestHash: id,
                  };
                });
                await execute({ type: 'CreateTransfers', linked: false, transfers });
                break;
              }
              case 'post':
                await execute({
                  type: 'PostPending',
                  transferId: pick(step.pick),
                  amount: step.cents === null ? null : money(step.cents),
                });
                break;
              case 'void':
                await execute({ type: 'VoidPending', transferId: pick(step.pick) });
                break;
              case 'reverse':
                await execute({
                  type: 'ReverseTransfer',
                  transferId: pick(step.pick),
                  reversalId: `r${index}`,
                  amount: step.cents === null ? null : money(step.cents),
                  code: 'refund',
                  metadata: {},
                  requestHash: `r${index}`,
                });
                break;
              case 'expire':
                await books.execute(orgId, { type: 'ExpirePending' }, SYSTEM, EXPIRY_NOW).catch(() => null);
                break;
              case 'close':
                await execute({ type: 'CloseAccount', address: ACCOUNTS[step.account]! });
                break;
              case 'limit':
                await execute({
                  type: 'ChangeLimit',
                  address: ACCOUNTS[1],
                  creditLimit: step.cents === null ? null : money(step.cents),
                });
                break;
            }
          }
          const cached = await books.state(orgId);
          const replayed = await new LedgerBooks(store, sqlSnapshotStore(test.db)).state(orgId);
          expect(replayed).toEqual(cached);
          // Every few runs, a snapshot of the replayed book, then a load from snapshot plus tail.
          if (run % 50 === 0) {
            const snapshots = sqlSnapshotStore(test.db);
            await snapshots.save(ledgerStream(orgId), BigInt(cached.eventsApplied - 1), null, cached);
            expect(await new LedgerBooks(store, snapshots).state(orgId)).toEqual(cached);
          }
        }),
        { numRuns: RUNS },
      );
    });

    it('rebuilds read models identical to the ones projected live through all of those histories', async () => {
      const head = await store.headPosition();
      expect(head).not.toBeNull();
      expect(await projector.waitFor(head!, 60_000)).toBe(true);
      await projector.stop();
      const live = await dumpReadModels(test.db, [ledgerProjection]);
      expect(JSON.parse(live).rm_ledger_transfers.length).toBeGreaterThan(RUNS);
      // The histories reached every kind of change the rebuild has to reproduce.
      for (const status of ['"status":"expired"', '"status":"voided"', '"status":"closed"'])
        expect(live).toContain(status);
      expect(live).toMatch(/"resolved_at":"[^"]+"/);
      const batches = await test.db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ll_events WHERE event_type = 'TransfersCreated'`,
      );
      expect(Number(batches.rows[0]?.n), 'histories made batches of several transfers').toBeGreaterThan(0);
      await rebuildProjections(test.db, store, [ledgerProjection]);
      expect(await dumpReadModels(test.db, [ledgerProjection])).toBe(live);
      // Once more through the projector from the start, in large batches: a transfer made and then
      // posted, voided or reversed within one batch takes the in-memory path, not the array insert.
      await test.db.query('TRUNCATE rm_ledger_accounts, rm_ledger_transfers');
      await test.db.query(`DELETE FROM ll_projection_checkpoints WHERE name = 'ledger'`);
      await new Projector(test.db, store, [ledgerProjection], { batchMax: 2_000 }).catchUp();
      expect(await dumpReadModels(test.db, [ledgerProjection])).toBe(live);
    });
  });
}

suite('PGlite', freshPglite, true);
suite('PostgreSQL', () => freshPostgres('replay'), postgres);
