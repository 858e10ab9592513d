/**
 * The ledger read model's keys are hashes stored when each row was written (migration 0018).
 * Were the database's hash functions ever to give other values, queries would compute keys no
 * row has and answer short without an error. The canary (migration 0019) turns that into a
 * refusal to start that names the remedy, and the remedy (a rebuild of the ledger read model)
 * writes every key again and records the canary anew.
 *
 * A changed hash is simulated by redefining the key functions, as an upgrade that changed
 * PostgreSQL's text hash would leave them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../src/adapters/db/database.js';
import { openRuntime } from '../../src/cli/runtime.js';
import { loadConfig } from '../../src/config.js';
import {
  assertLedgerKeysCurrent,
  recordLedgerKeys,
  staleLedgerKeys,
} from '../../src/projections/ledger/ledgerKeys.js';
import { ledgerProjection } from '../../src/projections/ledger/ledgerProjection.js';
import { PROJECTIONS } from '../../src/projections/registry.js';
import { Projector } from '../../src/projections/projector.js';
import { rebuildProjections } from '../../src/projections/rebuild.js';
import { freshPglite, freshPostgres, type TestDatabase } from '../support/databases.js';
import { FLOAT, systemBook, WALLET, type SystemBook } from '../support/ledgerBook.js';
import { transferRequest } from '../support/ledgerSpec.js';
import { runCli } from '../support/cli.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';

const ORG = 'org_KEYCANARYTEST';
const TRANSFERS = 3;
/** Both canaries and the stored rows, as a changed hash leaves them. */
const STALE_EVERYWHERE = ['account', 'organization', 'stored transfer'];

const postgres = serviceGate('the ledger key canary on PostgreSQL', await probePostgres());

/** The key functions as a hash that gives other values would leave them (seeded differently). */
async function changeKeyFunctions(db: SqlClient, seed: number): Promise<void> {
  await db.query(
    `CREATE OR REPLACE FUNCTION ll_account_key(org_id text, address text) RETURNS bigint
       LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE RETURN hashtextextended(address, hashtext(org_id) + ${seed})`,
  );
  await db.query(
    `CREATE OR REPLACE FUNCTION ll_org_key(org_id text) RETURNS bigint
       LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE RETURN hashtextextended(org_id, ${seed})`,
  );
}

/** The wallet's postings and the organization's transfers, found the way the ledger queries find them. */
async function foundByKey(db: SqlClient): Promise<{ postings: number; transfers: number }> {
  const { rows } = await db.query<{ postings: number; transfers: number }>(
    `SELECT (SELECT count(*)::int FROM rm_ledger_postings
              WHERE account_key = ll_account_key($1, $2) AND org_id = $1 AND address = $2) AS postings,
            (SELECT count(*)::int FROM rm_ledger_transfers
              WHERE org_key = ll_org_key($1) AND org_id = $1) AS transfers`,
    [ORG, WALLET],
  );
  return rows[0] ?? { postings: -1, transfers: -1 };
}

function suite(name: string, open: () => Promise<TestDatabase>, enabled: boolean): void {
  describe.skipIf(!enabled)(`the ledger key canary (${name})`, () => {
    let test: TestDatabase;
    let book: SystemBook;

    beforeAll(async () => {
      test = await open();
      book = await systemBook(test.db, ORG, 'key-canary');
      await book.execute({
        type: 'CreateTransfers',
        linked: false,
        transfers: Array.from({ length: TRANSFERS }, (_, i) =>
          transferRequest(`tr_${i}`, FLOAT, WALLET, '5.00'),
        ),
      });
      await new Projector(test.db, book.store, [ledgerProjection]).catchUp();
    });

    afterAll(async () => {
      await test.dispose();
    });

    it('is current on a fresh database, and the keys find every row', async () => {
      expect(await staleLedgerKeys(test.db)).toEqual([]);
      await expect(assertLedgerKeysCurrent(test.db)).resolves.toBeUndefined();
      expect(await foundByKey(test.db)).toEqual({ postings: TRANSFERS, transfers: TRANSFERS });
    });

    it('refuses, naming the rebuild, once the hash gives other values; the rebuild writes every key again', async () => {
      await changeKeyFunctions(test.db, 1);
      // What the canary is for: the stored keys no longer find the rows, and nothing says so.
      expect(await foundByKey(test.db)).toEqual({ postings: 0, transfers: 0 });
      expect(await staleLedgerKeys(test.db)).toEqual(STALE_EVERYWHERE);
      await expect(assertLedgerKeysCurrent(test.db)).rejects.toMatchObject({
        code: 'READ_MODEL_KEYS_STALE',
        message: expect.stringContaining('ledgerline projections rebuild ledger') as unknown,
      });

      // Rebuilding another projection leaves the ledger's keys as they were, and says so still.
      const others = PROJECTIONS.filter((projection) => projection.name !== 'ledger');
      await rebuildProjections(test.db, book.store, others);
      expect(await staleLedgerKeys(test.db)).toEqual(STALE_EVERYWHERE);

      await rebuildProjections(test.db, book.store, [ledgerProjection]);
      expect(await staleLedgerKeys(test.db)).toEqual([]);
      expect(await foundByKey(test.db)).toEqual({ postings: TRANSFERS, transfers: TRANSFERS });
    });

    it('records only what the functions give now, and looks at a stored row too', async () => {
      // A hash changed before the canary was recorded: the canary agrees, a stored row does not.
      await changeKeyFunctions(test.db, 2);
      await test.db.transaction((tx) => recordLedgerKeys(tx));
      expect(await staleLedgerKeys(test.db)).toEqual(['stored transfer']);
      await changeKeyFunctions(test.db, 1);
      expect(await staleLedgerKeys(test.db)).toEqual(['account', 'organization']);
      await test.db.transaction((tx) => recordLedgerKeys(tx));
      expect(await staleLedgerKeys(test.db)).toEqual([]);
    });

    it('takes a missing canary row for stale, and a rebuild writes it again', async () => {
      await test.db.query(`DELETE FROM ll_key_canary WHERE name = 'organization'`);
      expect(await staleLedgerKeys(test.db)).toEqual(['organization']);
      await rebuildProjections(test.db, book.store, [ledgerProjection]);
      expect(await staleLedgerKeys(test.db)).toEqual([]);
    });
  });
}

suite('PGlite', freshPglite, true);
suite('PostgreSQL', () => freshPostgres('keycanary'), postgres);

describe.skipIf(!postgres)('a process on stale ledger keys (PostgreSQL)', () => {
  let test: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let dataDir: string;

  beforeAll(async () => {
    test = await freshPostgres('keycanaryrt');
    dataDir = await mkdtemp(join(tmpdir(), 'ledgerline-keycanary-'));
    env = {
      LEDGERLINE_DATA_DIR: dataDir,
      ...process.env,
      DATABASE_URL: POSTGRES_URL,
      LEDGERLINE_DATABASE_SCHEMA: test.schema ?? '',
      LEDGERLINE_PASSWORD_COST: '10',
      LOG_LEVEL: 'silent',
      EVENTSTORE_URL: '',
      NATS_URL: '',
    };
    const book = await systemBook(test.db, ORG, 'key-canary');
    await book.execute({
      type: 'CreateTransfers',
      linked: false,
      transfers: [transferRequest('tr_rt', FLOAT, WALLET, '5.00')],
    });
    await new Projector(test.db, book.store, [ledgerProjection]).catchUp();
    await changeKeyFunctions(test.db, 1);
  });

  afterAll(async () => {
    await test.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses to open, and `ledgerline projections rebuild ledger` is the way out', async () => {
    await expect(openRuntime(loadConfig(env), { startProjector: false })).rejects.toMatchObject({
      code: 'READ_MODEL_KEYS_STALE',
    });
    expect(await staleLedgerKeys(test.db)).toEqual(STALE_EVERYWHERE);

    const rebuilt = await runCli(['projections', 'rebuild', 'ledger'], env);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(await staleLedgerKeys(test.db)).toEqual([]);
    expect(await foundByKey(test.db)).toEqual({ postings: 1, transfers: 1 });

    const runtime = await openRuntime(loadConfig(env), { startProjector: false });
    await runtime.close();
  });
});
