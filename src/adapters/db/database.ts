/**
 * The one interface to a PostgreSQL-speaking database, real (pg) or embedded (PGlite), so
 * the event store, migrations and read models share one SQL dialect and one code path.
 */
export interface QueryResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number;
}

export interface SqlClient {
  /** One statement with $1… parameters. */
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  /** A script of several statements, no parameters (migrations). */
  exec(script: string): Promise<void>;
}

export type DatabaseKind = 'postgres' | 'pglite';

export interface Database extends SqlClient {
  readonly kind: DatabaseKind;
  /** Where the data lives, for the console and logs; never contains a password. */
  readonly description: string;
  /**
   * Runs `work` in one transaction on one connection: committed when it resolves, rolled
   * back when it throws.
   */
  transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
