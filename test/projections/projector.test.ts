/**
 * The projector's promises: exactly once through crashes (a batch that throws inside its
 * transaction, a worker process killed), rebuilds that give byte-identical read models, and
 * read-your-writes as soon as a position is projected. On PGlite and real PostgreSQL.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparePositions } from '../../src/adapters/eventstore/position.js';
import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import type { Projection } from '../../src/projections/projection.js';
import { Projector } from '../../src/projections/projector.js';
import { rebuildProjections } from '../../src/projections/rebuild.js';
import { PROJECTIONS } from '../../src/projections/registry.js';
import { freshPglite, freshPostgres, type TestDatabase } from '../support/databases.js';
import { dumpReadModels } from '../support/readModels.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';
import { writeOrganizations } from '../support/tenancyEvents.js';

const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const probe = await probePostgres();
const postgres = serviceGate('projector on PostgreSQL', probe);
const backends: { name: string; open: () => Promise<TestDatabase>; available: boolean }[] = [
  { name: 'PGlite', open: freshPglite, available: true },
  { name: 'PostgreSQL', open: () => freshPostgres('proj'), available: postgres },
];

/** A projection that throws inside its transaction, after writing, the first `failures` times. */
function crashing(projection: Projection, failures: number): Projection & { crashes: number } {
  const wrapped = {
    ...projection,
    crashes: 0,
    async apply(...args: Parameters<Projection['apply']>) {
      await projection.apply(...args);
      if (wrapped.crashes < failures) {
        wrapped.crashes += 1;
        throw new Error('injected crash after writing, before commit');
      }
    },
  };
  return wrapped;
}

describe.each(backends)('projector on $name', ({ open, available }) => {
  let test: TestDatabase;
  let store: SqlEventStore;

  beforeAll(async () => {
    if (!available) return;
    test = await open();
    store = new SqlEventStore(test.db);
  });

  afterAll(async () => {
    if (available) await test.dispose();
  });

  it.skipIf(!available)(
    'leaves read models equal to a full rebuild after a batch crashes mid-transaction',
    async () => {
      const last = await writeOrganizations(store, 12, 15);
      const projection = crashing(PROJECTIONS[0]!, 2);
      const errors: unknown[] = [];
      const projector = new Projector(test.db, store, [projection], {
        batchMax: 50,
        onError: (error) => errors.push(error),
      });
      projector.start();
      try {
        expect(await projector.waitFor(last, 30_000)).toBe(true);
      } finally {
        await projector.stop();
      }
      expect(projection.crashes).toBe(2);
      expect(errors).toHaveLength(2);
      const live = await dumpReadModels(test.db, PROJECTIONS);
      await rebuildProjections(test.db, store, PROJECTIONS);
      expect(await dumpReadModels(test.db, PROJECTIONS)).toBe(live);
      expect((JSON.parse(live) as { rm_members: unknown[] }).rm_members.length).toBeGreaterThan(0);
    },
  );

  it.skipIf(!available)('rebuilds byte-identical read models, twice over', async () => {
    await writeOrganizations(store, 3, 10);
    await rebuildProjections(test.db, store, PROJECTIONS);
    const first = await dumpReadModels(test.db, PROJECTIONS);
    let reported = 0;
    const result = await rebuildProjections(test.db, store, PROJECTIONS, (progress) => {
      reported = progress.eventsRead;
    });
    expect(await dumpReadModels(test.db, PROJECTIONS)).toBe(first);
    expect(reported).toBe(result.eventsRead);
    expect(result.eventsRead).toBe(await store.countEvents());
  });

  it.skipIf(!available)(
    'answers waitFor as soon as the position is projected, and the row is there',
    async () => {
      const projector = new Projector(test.db, store, PROJECTIONS);
      projector.start();
      try {
        const position = await writeOrganizations(store, 1, 1);
        expect(await projector.waitFor(position, 10_000)).toBe(true);
        expect(comparePositions(projector.position, position)).toBeGreaterThanOrEqual(0);
        const { rows } = await test.db.query<{ n: string }>(
          'SELECT count(*)::text AS n FROM rm_organizations',
        );
        expect(Number(rows[0]?.n)).toBeGreaterThan(0);
        expect(await projector.waitFor({ commit: position.commit + 1_000_000n, prepare: 0n }, 50)).toBe(
          false,
        );
      } finally {
        await projector.stop();
      }
    },
  );

  it.skipIf(!available)('never applies a batch twice when two projectors race', async () => {
    const last = await writeOrganizations(store, 6, 12);
    await test.db.query('DELETE FROM ll_projection_checkpoints');
    await test.db.query(`TRUNCATE ${PROJECTIONS.flatMap((projection) => projection.tables).join(', ')}`);
    const one = new Projector(test.db, store, PROJECTIONS, { batchMax: 20 });
    const two = new Projector(test.db, store, PROJECTIONS, { batchMax: 20 });
    one.start();
    two.start();
    try {
      expect(await one.waitFor(last, 30_000)).toBe(true);
    } finally {
      await one.stop();
      await two.stop();
    }
    const live = await dumpReadModels(test.db, PROJECTIONS);
    await rebuildProjections(test.db, store, PROJECTIONS);
    expect(await dumpReadModels(test.db, PROJECTIONS)).toBe(live);
  });
});

describe.skipIf(!postgres)('projector worker process on PostgreSQL', () => {
  let test: TestDatabase;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm test builds it first`);
    test = await freshPostgres('worker');
  });

  afterAll(async () => {
    await test.dispose();
  });

  function startWorker() {
    return spawn(process.execPath, [CLI, 'project'], {
      env: {
        ...process.env,
        DATABASE_URL: POSTGRES_URL,
        LEDGERLINE_DATABASE_SCHEMA: test.schema ?? '',
        LOG_LEVEL: 'silent',
        LEDGERLINE_JWT_SECRET: 'x'.repeat(32),
      },
      stdio: 'ignore',
    });
  }

  async function projected(): Promise<number> {
    const { rows } = await test.db.query<{ n: string }>(
      "SELECT coalesce(sum(events_projected), 0)::text AS n FROM ll_projection_checkpoints WHERE name = 'tenancy'",
    );
    return Number(rows[0]?.n ?? 0);
  }

  it('survives a worker killed mid-way: the next worker finishes and matches a rebuild', async () => {
    const store = new SqlEventStore(test.db);
    const last = await writeOrganizations(store, 150, 60);
    const total = await store.countEvents();
    const first = startWorker();
    // Kill it once it has committed something but long before the end.
    for (let i = 0; i < 3_000 && (await projected()) === 0; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 5));
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const atKill = await projected();
    expect(atKill).toBeGreaterThan(0);
    const second = startWorker();
    try {
      for (let i = 0; i < 6_000; i += 1) {
        const { rows } = await test.db.query<{ c: string; p: string }>(
          "SELECT commit_position::text AS c, prepare_position::text AS p FROM ll_projection_checkpoints WHERE name = 'tenancy'",
        );
        const row = rows[0];
        if (row && comparePositions({ commit: BigInt(row.c), prepare: BigInt(row.p) }, last) >= 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      second.kill('SIGTERM');
      await new Promise((resolve) => second.once('exit', resolve));
    }
    const live = await dumpReadModels(test.db, PROJECTIONS);
    const rebuilt = await rebuildProjections(test.db, store, PROJECTIONS);
    expect(rebuilt.eventsRead).toBe(total);
    expect(await dumpReadModels(test.db, PROJECTIONS)).toBe(live);
  });
});
