/**
 * The composition root: opens the stores the configuration names, applies migrations, and
 * closes everything in reverse order.
 */
import type { Config } from '../config.js';
import type { Database } from '../adapters/db/database.js';
import { migrate, type MigrationReport } from '../adapters/db/migrate.js';
import { openPglite } from '../adapters/db/pgliteDatabase.js';
import { openPostgres } from '../adapters/db/postgresDatabase.js';
import { SqlEventStore } from '../adapters/eventstore/postgres/sqlEventStore.js';
import type { EventStore } from '../adapters/eventstore/port.js';

export interface Runtime {
  readonly db: Database;
  readonly store: EventStore;
  readonly migrations: MigrationReport;
  close(): Promise<void>;
}

export async function openDatabase(config: Config): Promise<Database> {
  return config.databaseUrl
    ? openPostgres({ url: config.databaseUrl })
    : openPglite({ dataDir: config.dataDir });
}

export async function openRuntime(config: Config): Promise<Runtime> {
  const db = await openDatabase(config);
  try {
    const migrations = await migrate(db);
    const store = new SqlEventStore(db);
    return {
      db,
      store,
      migrations,
      async close() {
        await store.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
