import { createHash } from 'node:crypto';
import { LedgerlineError } from '../../domain/errors.js';
import type { Database } from './database.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';

/**
 * Any fixed number works as long as every ledgerline process uses the same one: it is the
 * advisory lock that makes two processes starting at once apply migrations one after the other.
 */
const MIGRATION_LOCK_KEY = 7_245_720_331;

export interface MigrationReport {
  readonly applied: readonly number[];
  readonly current: number;
}

export function checksum(migration: Migration): string {
  return createHash('sha256').update(migration.sql).digest('hex');
}

/**
 * Applies pending migrations in one transaction under an advisory lock. A second process
 * waits for the lock, then finds nothing left to do. A changed applied migration is refused.
 */
export async function migrate(
  database: Database,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationReport> {
  return database.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`
      CREATE TABLE IF NOT EXISTS ll_schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await tx.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM ll_schema_migrations ORDER BY version',
    );
    const known = new Map(rows.map((row) => [row.version, row]));
    const applied: number[] = [];
    for (const migration of migrations) {
      const sum = checksum(migration);
      const done = known.get(migration.version);
      if (done) {
        if (done.checksum !== sum) {
          throw new LedgerlineError(
            'MIGRATION_FAILED',
            `Migration ${migration.version} (${migration.name}) was changed after it was applied.`,
          );
        }
        continue;
      }
      try {
        await tx.exec(migration.sql);
      } catch (error) {
        throw new LedgerlineError(
          'MIGRATION_FAILED',
          `Migration ${migration.version} (${migration.name}) failed: ${error instanceof Error ? error.message : String(error)}`,
          {},
          { cause: error },
        );
      }
      await tx.query('INSERT INTO ll_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        sum,
      ]);
      applied.push(migration.version);
    }
    const newest = Math.max(
      0,
      ...migrations.map((migration) => migration.version),
      ...rows.map((row) => row.version),
    );
    return { applied, current: newest };
  });
}
