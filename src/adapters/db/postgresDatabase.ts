import pg from 'pg';
import { LedgerlineError } from '../../domain/errors.js';
import type { Database, QueryResult, SqlClient } from './database.js';

export interface PostgresOptions {
  readonly url: string;
  /** Isolates everything in this schema (created if missing): one per test file. */
  readonly schema?: string;
  /** Connections in the pool. */
  readonly poolSize?: number;
}

export const POOL_SIZE_DEFAULT = 20;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Removes the password from a connection URL before it is shown anywhere. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

export async function openPostgres(options: PostgresOptions): Promise<Database> {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new LedgerlineError('VALIDATION_FAILED', `schema: "${schema}" is not a plain lowercase identifier`);
  }
  if (schema !== undefined) {
    const setup = new pg.Client({ connectionString: options.url });
    await setup.connect();
    try {
      await setup.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await setup.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? POOL_SIZE_DEFAULT,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle client that loses its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const database = new PostgresDatabase(
    pool,
    `PostgreSQL ${redactUrl(options.url)}${schema ? ` (schema ${schema})` : ''}`,
  );
  await database.query('SELECT 1');
  return database;
}

class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;

  constructor(
    private readonly pool: pg.Pool,
    readonly description: string,
  ) {}

  async query<Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    return toResult<Row>(await this.pool.query(text, params as unknown[] | undefined));
  }

  async exec(script: string): Promise<void> {
    await this.pool.query(script);
  }

  async transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(clientOf(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is gone; hand it back as broken so the pool discards it.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function clientOf(client: pg.PoolClient): SqlClient {
  return {
    async query<Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
      return toResult<Row>(await client.query(text, params as unknown[] | undefined));
    },
    async exec(script: string): Promise<void> {
      await client.query(script);
    },
  };
}

function toResult<Row>(result: pg.QueryResult): QueryResult<Row> {
  return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
}
