import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/db/migrate.js';
import { MIGRATIONS } from '../../src/adapters/db/migrations/index.js';
import { openPostgres } from '../../src/adapters/db/postgresDatabase.js';
import { openPglite } from '../../src/adapters/db/pgliteDatabase.js';
import { LedgerlineError } from '../../src/domain/errors.js';
import { dropSchema, uniqueSchemaName } from '../support/databases.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const run = serviceGate('migrations on PostgreSQL', probe);

describe('schema migrations', () => {
  const schemas: string[] = [];
  afterAll(async () => {
    if (run) for (const schema of schemas) await dropSchema(schema);
  });

  it.skipIf(!run)('apply once when two processes start at the same moment', async () => {
    const schema = uniqueSchemaName('mig');
    schemas.push(schema);
    const first = await openPostgres({ url: POSTGRES_URL, schema });
    const second = await openPostgres({ url: POSTGRES_URL, schema });
    try {
      const reports = await Promise.all([migrate(first), migrate(second)]);
      const applied = reports.map((report) => report.applied.length).sort();
      expect(applied).toEqual([0, MIGRATIONS.length]);
      const { rows } = await first.query<{ version: number }>('SELECT version FROM ll_schema_migrations');
      expect(rows.map((row) => row.version)).toEqual(MIGRATIONS.map((migration) => migration.version));
      expect((await migrate(first)).applied).toEqual([]);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('refuses to run when an applied migration was edited', async () => {
    const db = await openPglite();
    try {
      await migrate(db);
      const edited = MIGRATIONS.map((migration) => ({ ...migration, sql: `${migration.sql}\n-- edited` }));
      await expect(migrate(db, edited)).rejects.toBeInstanceOf(LedgerlineError);
    } finally {
      await db.close();
    }
  });

  it('rolls back a failing migration entirely', async () => {
    const db = await openPglite();
    try {
      const broken = [
        ...MIGRATIONS,
        { version: 999, name: 'broken', sql: 'CREATE TABLE half (a int); SELECT nope;' },
      ];
      await expect(migrate(db, broken)).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
      const { rows } = await db.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM information_schema.tables WHERE table_name IN ('half', 'll_events')",
      );
      expect(rows[0]?.n).toBe('0');
    } finally {
      await db.close();
    }
  });
});

describe('the database adapters', () => {
  it('count the rows a SELECT returns and the rows a write touches, on PGlite as on pg', async () => {
    const db = await openPglite();
    try {
      await db.exec('CREATE TABLE counted (n int)');
      expect((await db.query('INSERT INTO counted SELECT generate_series(1, 3)')).rowCount).toBe(3);
      expect((await db.query('SELECT n FROM counted')).rowCount).toBe(3);
      expect((await db.query('SELECT n FROM counted WHERE n > 5')).rowCount).toBe(0);
      expect((await db.query('UPDATE counted SET n = n + 1 WHERE n < 3')).rowCount).toBe(2);
    } finally {
      await db.close();
    }
  });
});
