/**
 * SPEC §4: limits hold under concurrency. 200 payouts race against one float that can afford
 * exactly N of them, sent to two servers at once (two books writing one stream, so optimistic
 * concurrency between processes is exercised too): exactly N succeed, the float never goes
 * below zero, nothing is lost, and the read models agree with the books.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { LedgerBooks } from '../../src/commands/ledger/book.js';
import { sqlSnapshotStore } from '../../src/commands/ledger/snapshots.js';
import { derivedBalances } from '../../src/domain/ledger/state.js';
import { rebuildProjections } from '../../src/projections/rebuild.js';
import { PROJECTIONS } from '../../src/projections/registry.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { dumpReadModels } from '../support/readModels.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';

const PAYOUTS = 200;
const AFFORDABLE = 73;

const probe = await probePostgres();
const run = serviceGate('ledger concurrency on PostgreSQL', probe);

describe.skipIf(!run)('200 concurrent payouts against one float, on two servers', () => {
  let app: TestApp;
  let second: RunningServer;

  let dataDir: string;

  beforeAll(async () => {
    app = await startTestApp('postgres');
    dataDir = await mkdtemp(join(tmpdir(), 'ledgerline-second-'));
    // A second server on the same database: its own book, its own projector.
    const schema = (app.server.runtime.db.description.match(/schema (\w+)/) ?? [])[1] ?? '';
    second = await startServer(
      loadConfig({
        PORT: '0',
        LOG_LEVEL: 'silent',
        DATABASE_URL: POSTGRES_URL,
        LEDGERLINE_DATABASE_SCHEMA: schema,
        // A folder of its own for the key files a server writes (signing keys), removed after.
        LEDGERLINE_DATA_DIR: dataDir,
        LEDGERLINE_JWT_SECRET: 'x'.repeat(32),
        LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
      }),
    );
  });

  afterAll(async () => {
    await second.close();
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('lets exactly the affordable ones through, never below zero, with every answer accounted for', async () => {
    const post = (base: string, path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${app.demoKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (response) => ({
        status: response.status,
        body: (await response.json()) as { results: { result: string; transferId: string }[] },
      }));
    const opened = await post(app.url, '/v1/ledger/accounts', {
      address: 'liabilities:mpesa:float',
      asset: 'KES',
      type: 'liability',
      flags: { debitsMustNotExceedCredits: true },
    });
    expect(opened.status).toBe(201);
    const funded = await post(app.url, '/v1/ledger/transfers', {
      transfers: [
        {
          transferId: 'fund',
          debitAccount: 'world:KES',
          creditAccount: 'liabilities:mpesa:float',
          amount: `${AFFORDABLE * 10}.00`,
        },
      ],
    });
    expect(funded.body.results[0]?.result).toBe('created');

    const answers = await Promise.all(
      Array.from({ length: PAYOUTS }, (_, i) =>
        post(i % 2 === 0 ? app.url : second.address, '/v1/ledger/transfers', {
          transfers: [
            {
              transferId: `payout_${i}`,
              debitAccount: 'liabilities:mpesa:float',
              creditAccount: 'world:KES',
              amount: '10.00',
              code: 'payout',
              ...(i % 3 === 0 ? { pending: { timeoutSeconds: 3600 } } : {}),
            },
          ],
        }),
      ),
    );
    expect(
      answers.filter((answer) => answer.status !== 200).map((answer) => JSON.stringify(answer.body)),
    ).toEqual([]);
    const results = answers.map((answer) => answer.body.results[0]?.result);
    expect(results.filter((result) => result === 'created')).toHaveLength(AFFORDABLE);
    expect(results.filter((result) => result === 'INSUFFICIENT_FUNDS')).toHaveLength(PAYOUTS - AFFORDABLE);

    // Every book that writes this stream, freshly loaded from the events, agrees.
    const fresh = new LedgerBooks(app.server.runtime.store, sqlSnapshotStore(app.server.runtime.db));
    const state = await fresh.state(app.demoOrgId);
    const float = state.accounts.get('liabilities:mpesa:float')!;
    expect(float.balances.creditsPosted).toBe(BigInt(AFFORDABLE * 1000));
    expect(float.balances.debitsPosted + float.balances.debitsPending).toBe(BigInt(AFFORDABLE * 1000));
    expect(derivedBalances(float).available).toBe(0n);
    const created = new Set(
      answers
        .filter((answer) => answer.body.results[0]?.result === 'created')
        .map((answer) => answer.body.results[0]?.transferId),
    );
    expect(new Set([...state.transfers.keys()].filter((id) => id.startsWith('payout_')))).toEqual(created);

    // The read models say the same, and rebuilding them changes nothing.
    const head = await app.server.runtime.store.headPosition?.();
    const balance = await app.request(
      'GET',
      `/v1/ledger/accounts/liabilities:mpesa:float/balance?consistentWith=${String(head?.commit)}-${String(head?.prepare)}`,
      {
        token: app.demoKey,
      },
    );
    expect(balance.body.balances.available).toBe('0.00');
    const live = await dumpReadModels(
      app.server.runtime.db,
      PROJECTIONS.filter((projection) => projection.name === 'ledger'),
    );
    await second.runtime.projector?.stop();
    await app.server.runtime.projector?.stop();
    await rebuildProjections(
      app.server.runtime.db,
      app.server.runtime.store,
      PROJECTIONS.filter((projection) => projection.name === 'ledger'),
    );
    expect(
      await dumpReadModels(
        app.server.runtime.db,
        PROJECTIONS.filter((projection) => projection.name === 'ledger'),
      ),
    ).toBe(live);
  });
});
