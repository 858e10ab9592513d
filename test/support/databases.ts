import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Database } from '../../src/adapters/db/database.js';
import { migrate } from '../../src/adapters/db/migrate.js';
import { openPglite } from '../../src/adapters/db/pgliteDatabase.js';
import { openPostgres } from '../../src/adapters/db/postgresDatabase.js';
import { POSTGRES_URL } from './services.js';

export interface TestDatabase {
  readonly db: Database;
  readonly schema: string | null;
  /** Closes the database and drops the test schema. */
  dispose(): Promise<void>;
}

export function uniqueSchemaName(label: string): string {
  return `t_${label}_${randomBytes(5).toString('hex')}`;
}

/** A fresh, migrated schema of its own on the real PostgreSQL server. */
export async function freshPostgres(label: string, poolSize?: number): Promise<TestDatabase> {
  const schema = uniqueSchemaName(label);
  const db = await openPostgres({ url: POSTGRES_URL, schema, ...(poolSize ? { poolSize } : {}) });
  await migrate(db);
  return {
    db,
    schema,
    async dispose() {
      await db.close();
      await dropSchema(schema);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated PGlite in memory. */
export async function freshPglite(): Promise<TestDatabase> {
  const db = await openPglite();
  await migrate(db);
  return {
    db,
    schema: null,
    async dispose() {
      await db.close();
    },
  };
}
