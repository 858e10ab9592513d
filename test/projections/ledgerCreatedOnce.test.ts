/**
 * The projector inserts the transfers a batch creates with a plain INSERT: one event creates a
 * transfer, and each event is applied once. Were a second creation of the same transfer ever
 * in the stream (no decider writes one), the projector must stop on it, loudly, and leave the
 * row and its checkpoint as they were, never overwrite what was projected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerStream } from '../../src/commands/ledger/book.js';
import { ledgerProjection } from '../../src/projections/ledger/ledgerProjection.js';
import { Projector } from '../../src/projections/projector.js';
import { freshPglite, freshPostgres, type TestDatabase } from '../support/databases.js';
import { FLOAT, systemBook, WALLET, type SystemBook } from '../support/ledgerBook.js';
import { transferRequest } from '../support/ledgerSpec.js';
import { probePostgres, serviceGate } from '../support/services.js';

const ORG = 'org_CREATEDONCE';

const postgres = serviceGate(
  'a transfer created twice stops the projector on PostgreSQL',
  await probePostgres(),
);

function suite(name: string, open: () => Promise<TestDatabase>, enabled: boolean): void {
  describe.skipIf(!enabled)(`a transfer created twice in the stream (${name})`, () => {
    let test: TestDatabase;
    let book: SystemBook;

    beforeAll(async () => {
      test = await open();
      book = await systemBook(test.db, ORG, 'created-once');
      await book.execute({
        type: 'CreateTransfers',
        linked: false,
        transfers: [transferRequest('tr_once', FLOAT, WALLET, '5.00')],
      });
      await new Projector(test.db, book.store, [ledgerProjection]).catchUp();
    });

    afterAll(async () => {
      await test.dispose();
    });

    const projected = async () => {
      const { rows } = await test.db.query<{ amount: string; checkpoint: string }>(
        `SELECT t.amount::text AS amount,
                c.commit_position::text || '-' || c.prepare_position::text AS checkpoint
           FROM rm_ledger_transfers t, ll_projection_checkpoints c
          WHERE t.org_id = $1 AND t.transfer_id = 'tr_once' AND c.name = 'ledger'`,
        [ORG],
      );
      return rows;
    };

    it('stops on the second creation and leaves the row and the checkpoint as they were', async () => {
      const before = await projected();
      expect(before).toEqual([{ amount: '5.00', checkpoint: expect.any(String) as unknown }]);
      // What only a broken writer could append: the same transfer created again, for more.
      const [stored] = await book.store.readStream(ledgerStream(ORG), {
        from: 'end',
        direction: 'backwards',
        maxCount: 1,
      });
      if (!stored) throw new Error('the ledger stream is empty');
      const again = structuredClone(stored.data) as Record<string, unknown>;
      const record = (again['transfers'] as Record<string, unknown>[] | undefined)?.[0] ?? again;
      record['amount'] = '7.00';
      await book.store.append(
        ledgerStream(ORG),
        [
          {
            type: stored.type,
            data: again as never,
            metadata: book.metadata,
          },
        ],
        'any',
      );
      await expect(new Projector(test.db, book.store, [ledgerProjection]).catchUp()).rejects.toThrow(
        /duplicate key|unique/i,
      );
      expect(await projected()).toEqual(before);
    });
  });
}

suite('PGlite', freshPglite, true);
suite('PostgreSQL', () => freshPostgres('createdonce'), postgres);
