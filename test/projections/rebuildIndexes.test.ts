/**
 * A rebuild drops the read models' indexes for the bulk load and builds them again, keeping the
 * partial ones in place (the same index, never dropped): afterwards every index is there exactly
 * as the migrations made it, and the partial ones hold what they should (pending and resolved
 * transfers).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import { ledgerProjection } from '../../src/projections/ledger/ledgerProjection.js';
import { Projector } from '../../src/projections/projector.js';
import { rebuildProjections } from '../../src/projections/rebuild.js';
import { freshPglite, freshPostgres, type TestDatabase } from '../support/databases.js';
import { dumpReadModels } from '../support/readModels.js';
import { FLOAT, systemBook, WALLET } from '../support/ledgerBook.js';
import { transferRequest } from '../support/ledgerSpec.js';
import { probePostgres, serviceGate } from '../support/services.js';

const ORG = 'org_REBUILDIDX';

const postgres = serviceGate('rebuild keeps every index on PostgreSQL', await probePostgres());

function suite(name: string, open: () => Promise<TestDatabase>, enabled: boolean): void {
  describe.skipIf(!enabled)(`a rebuild's indexes (${name})`, () => {
    let test: TestDatabase;
    let store: SqlEventStore;

    beforeAll(async () => {
      test = await open();
      const book = await systemBook(test.db, ORG, 'rebuild');
      const { execute } = book;
      store = book.store;
      const later = new Date(Date.now() + 3_600_000).toISOString();
      const transfer = (transferId: string, pending: boolean) =>
        transferRequest(transferId, FLOAT, WALLET, '5.00', {
          pendingTimeoutAt: pending ? later : null,
        });
      await execute({
        type: 'CreateTransfers',
        linked: false,
        transfers: [transfer('tr_plain', false), transfer('tr_held', true), transfer('tr_posted', true)],
      });
      await execute({ type: 'PostPending', transferId: 'tr_posted', amount: null });
      await new Projector(test.db, store, [ledgerProjection]).catchUp();
    });

    afterAll(async () => {
      await test.dispose();
    });

    const indexes = async (): Promise<string[]> => {
      const { rows } = await test.db.query<{ def: string }>(
        `SELECT indexdef AS def FROM pg_indexes
          WHERE schemaname = current_schema() AND tablename IN ('rm_ledger_accounts', 'rm_ledger_transfers')
          ORDER BY indexname`,
      );
      return rows.map((row) => row.def);
    };

    const indexOids = async (): Promise<Map<string, { oid: string; partial: boolean }>> => {
      const { rows } = await test.db.query<{ name: string; oid: string; partial: boolean }>(
        `SELECT c.relname AS name, c.oid::text AS oid, i.indpred IS NOT NULL AS partial
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = 'rm_ledger_transfers'::regclass`,
      );
      return new Map(rows.map((row) => [row.name, { oid: row.oid, partial: row.partial }]));
    };

    it('leaves every index as it was, and the read models as projected live', async () => {
      const before = await indexes();
      const live = await dumpReadModels(test.db, [ledgerProjection]);
      expect(
        before.some((def) => / WHERE /.test(def)),
        'the ledger has partial indexes',
      ).toBe(true);
      const oidsBefore = await indexOids();
      await rebuildProjections(test.db, store, [ledgerProjection]);
      expect(await indexes()).toEqual(before);
      expect(await dumpReadModels(test.db, [ledgerProjection])).toBe(live);
      // Kept, not built again: a partial index keeps its identity, every other one is new.
      const oidsAfter = await indexOids();
      for (const [name, { oid, partial }] of oidsBefore) {
        if (partial) expect(oidsAfter.get(name)?.oid, `${name} kept through the load`).toBe(oid);
        else expect(oidsAfter.get(name)?.oid, `${name} built again after the load`).not.toBe(oid);
      }
    });

    it('answers from the partial indexes what they hold', async () => {
      // Read through the indexes, not the table (tiny tables are scanned otherwise).
      const [pending, resolved] = await test.db.transaction(async (tx) => {
        await tx.query('SET LOCAL enable_seqscan = off');
        const held = await tx.query<{ id: string }>(
          `SELECT transfer_id AS id FROM rm_ledger_transfers WHERE status = 'pending' ORDER BY timeout_at`,
        );
        const done = await tx.query<{ id: string }>(
          `SELECT transfer_id AS id FROM rm_ledger_transfers
            WHERE org_id = $1 AND credit_account = $2 AND resolved_commit_position IS NOT NULL`,
          [ORG, 'customers:cus_1:wallet'],
        );
        return [held.rows, done.rows];
      });
      expect(pending.map((row) => row.id)).toEqual(['tr_held']);
      expect(resolved.map((row) => row.id)).toEqual(['tr_posted']);
    });
  });
}

suite('PGlite', freshPglite, true);
suite('PostgreSQL', () => freshPostgres('rebuildidx'), postgres);
