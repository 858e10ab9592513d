/**
 * Batched read-model writes: a projection loads the rows a batch touches with one query,
 * changes them in memory event by event, and writes them back with one upsert. A batch of a
 * thousand events is then three statements, not a thousand.
 */
import type { SqlClient } from '../adapters/db/database.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain identifier: ${name}`);
  return name;
}

/** Rows of `table` whose `key` is one of `keys`, by key. Columns come back as JSON values. */
export async function loadRows<Row extends object>(
  tx: SqlClient,
  table: string,
  key: string,
  keys: readonly string[],
): Promise<Map<string, Row>> {
  const rows = new Map<string, Row>();
  if (keys.length === 0) return rows;
  const { rows: found } = await tx.query<{ row: Row & Record<string, unknown> }>(
    `SELECT to_jsonb(t) AS row FROM ${identifier(table)} t WHERE ${identifier(key)} = ANY ($1::text[])`,
    [[...new Set(keys)]],
  );
  for (const { row } of found) rows.set(String(row[key]), row);
  return rows;
}

/** Inserts or replaces whole rows (every column given) keyed by `key`. */
export async function upsertRows(
  tx: SqlClient,
  table: string,
  key: string,
  columns: readonly string[],
  rows: readonly object[],
): Promise<void> {
  if (rows.length === 0) return;
  const list = columns.map(identifier).join(', ');
  const updates = columns
    .filter((column) => column !== key)
    .map((column) => `${column} = excluded.${column}`)
    .join(', ');
  await tx.query(
    `INSERT INTO ${identifier(table)} (${list})
     SELECT ${list} FROM jsonb_populate_recordset(NULL::${identifier(table)}, $1::jsonb)
     ON CONFLICT (${identifier(key)}) DO UPDATE SET ${updates}`,
    [JSON.stringify(rows)],
  );
}
