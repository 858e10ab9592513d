import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { LedgerlineError } from '../../domain/errors.js';
import type { Database, QueryResult, SqlClient } from './database.js';

export interface PgliteOptions {
  /** A folder for persistent data; in memory when absent. */
  readonly dataDir?: string;
}

const LOCK_FILE = 'ledgerline.pid';

/**
 * PGlite is PostgreSQL in WebAssembly with exactly one connection. Its own mutex serializes
 * queries and holds the connection for a whole transaction, so every caller here goes
 * through it. Two processes must never open one data folder: a pid lock file refuses the
 * second.
 */
export async function openPglite(options: PgliteOptions = {}): Promise<Database> {
  if (options.dataDir === undefined) {
    const pglite = await PGlite.create();
    return new PgliteDatabase(pglite, 'PGlite (in memory)', () => Promise.resolve());
  }
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const releaseLock = await lockDataDir(dataDir);
  try {
    const pglite = await PGlite.create({ dataDir: join(dataDir, 'pgdata') });
    return new PgliteDatabase(pglite, `PGlite at ${dataDir}`, releaseLock);
  } catch (error) {
    await releaseLock();
    throw error;
  }
}

async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        await rm(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new LedgerlineError(
          'DATA_DIR_LOCKED',
          `The data folder ${dataDir} is in use by process ${owner}; stop it or choose another LEDGERLINE_DATA_DIR.`,
        );
      }
      // The owner died without cleaning up: the lock is stale.
      await rm(lockPath, { force: true });
    }
  }
  throw new LedgerlineError('DATA_DIR_LOCKED', `Could not lock the data folder ${dataDir}.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;

  constructor(
    private readonly pglite: PGlite,
    readonly description: string,
    private readonly releaseLock: () => Promise<void>,
  ) {}

  async query<Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    return toResult<Row>(await this.pglite.query<Row>(text, params as unknown[] | undefined));
  }

  async exec(script: string): Promise<void> {
    await this.pglite.exec(script);
  }

  async transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T> {
    return this.pglite.transaction(async (tx) => work(clientOf(tx)));
  }

  async close(): Promise<void> {
    try {
      await this.pglite.close();
    } finally {
      await this.releaseLock();
    }
  }
}

function clientOf(tx: Transaction): SqlClient {
  return {
    async query<Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
      return toResult<Row>(await tx.query<Row>(text, params as unknown[] | undefined));
    },
    async exec(script: string): Promise<void> {
      await tx.exec(script);
    },
  };
}

/**
 * pg's rowCount counts the rows a SELECT returned or a write touched; PGlite reports 0 affected
 * rows for a SELECT, so rows returned win.
 */
function toResult<Row>(result: { rows: Row[]; affectedRows?: number }): QueryResult<Row> {
  return { rows: result.rows, rowCount: Math.max(result.rows.length, result.affectedRows ?? 0) };
}
