/**
 * How the ledger's writer sends its groups: many small commands go out one group at a time
 * (each extra append would be one more round trip and one more wait on the stream's lock),
 * while a backlog of at least a full group's worth of transfers is appended in overlapping
 * groups. Either way every command is answered, in order, and the book holds all of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import type { EventStore } from '../../src/adapters/eventstore/port.js';
import { LedgerBooks, PIPELINE_BACKLOG_MIN } from '../../src/commands/ledger/book.js';
import { sqlSnapshotStore } from '../../src/commands/ledger/snapshots.js';
import type { LedgerCommand, TransferRequest } from '../../src/domain/ledger/decide.js';
import { freshPglite, freshPostgres, type TestDatabase } from '../support/databases.js';
import { openAccount, transferRequest } from '../support/ledgerSpec.js';
import { probePostgres, serviceGate } from '../support/services.js';

const SYSTEM = { actor: { kind: 'system' as const, id: 'pipeline' }, channel: { kind: 'system' as const } };
const CLIENTS = 64;
const PER_CLIENT = 5;
const STAGGER_MS = 8;
const BATCHES = 10;
const BATCH_SIZE = 1_000;

const postgres = serviceGate('ledger writer pipelining on PostgreSQL', await probePostgres());

function transfer(id: string, wallet: number): TransferRequest {
  return transferRequest(id, 'assets:bank:float', `customers:cus_${wallet}:wallet`, '1.00');
}

function suite(name: string, open: () => Promise<TestDatabase>, enabled: boolean): void {
  describe.skipIf(!enabled)(`the ledger writer's groups (${name})`, () => {
    let test: TestDatabase;
    let books: LedgerBooks;
    let inFlight = 0;
    let mostInFlight = 0;
    let org = 0;

    beforeAll(async () => {
      test = await open();
      const store = new SqlEventStore(test.db);
      // The same store, counting the appends the writer has sent and not yet heard back from.
      const counted = Object.create(store) as EventStore;
      counted.append = async (...args) => {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        try {
          return await store.append(...args);
        } finally {
          inFlight -= 1;
        }
      };
      books = new LedgerBooks(counted, sqlSnapshotStore(test.db));
    });

    afterAll(async () => {
      await test.dispose();
    });

    async function freshBook(): Promise<{
      execute: (command: LedgerCommand) => ReturnType<LedgerBooks['execute']>;
      orgId: string;
    }> {
      org += 1;
      const orgId = `org_PIPE${name === 'PGlite' ? 'L' : 'P'}${org}`;
      const execute = (command: LedgerCommand) => books.execute(orgId, command, SYSTEM, new Date());
      await execute(openAccount('assets:bank:float', 'KES'));
      for (let wallet = 0; wallet < 4; wallet += 1)
        await execute(openAccount(`customers:cus_${wallet}:wallet`, 'KES', { accountType: 'liability' }));
      mostInFlight = 0;
      return { execute, orgId };
    }

    it('sends many single transfers one group at a time', async () => {
      const { execute, orgId } = await freshBook();
      // Clients that start a moment apart and send again as soon as they are answered: commands
      // keep arriving while a group is out, as under real load.
      const answers = (
        await Promise.all(
          Array.from({ length: CLIENTS }, async (_, client) => {
            await new Promise((resolve) => setTimeout(resolve, client % STAGGER_MS));
            const mine = [];
            for (let k = 0; k < PER_CLIENT; k += 1) {
              mine.push(
                await execute({
                  type: 'CreateTransfers',
                  linked: false,
                  transfers: [transfer(`s_${client}_${k}`, k % 4)],
                }),
              );
            }
            return mine;
          }),
        )
      ).flat();
      expect(mostInFlight).toBe(1);
      expect(new Set(answers.map((answer) => answer.revision)).size).toBe(CLIENTS * PER_CLIENT);
      expect((await books.state(orgId)).transfers.size).toBe(CLIENTS * PER_CLIENT);
    });

    it('overlaps the appends of a backlog of large batches, and answers every one in order', async () => {
      expect(BATCH_SIZE).toBeGreaterThanOrEqual(PIPELINE_BACKLOG_MIN);
      const { execute, orgId } = await freshBook();
      const answers = await Promise.all(
        Array.from({ length: BATCHES }, (_, b) =>
          execute({
            type: 'CreateTransfers',
            linked: false,
            transfers: Array.from({ length: BATCH_SIZE }, (_, k) => transfer(`b_${b}_${k}`, k % 4)),
          }),
        ),
      );
      expect(mostInFlight).toBeGreaterThan(1);
      const revisions = answers.map((answer) => answer.revision);
      expect(revisions).toEqual([...revisions].sort((a, b) => (a! < b! ? -1 : 1)));
      const state = await books.state(orgId);
      expect(state.transfers.size).toBe(BATCHES * BATCH_SIZE);
    });
  });
}

suite('PGlite', freshPglite, true);
suite('PostgreSQL', () => freshPostgres('pipeline'), postgres);
