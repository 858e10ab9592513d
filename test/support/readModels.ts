import type { Database } from '../../src/adapters/db/database.js';
import type { Projection } from '../../src/projections/projection.js';

/** Every row of every table of the projections, in a stable order, as one JSON text. */
export async function dumpReadModels(db: Database, projections: readonly Projection[]): Promise<string> {
  const tables: Record<string, unknown[]> = {};
  for (const table of projections.flatMap((projection) => projection.tables)) {
    const { rows } = await db.query<{ row: unknown }>(`SELECT to_jsonb(t) AS row FROM ${table} t ORDER BY 1`);
    tables[table] = rows
      .map((row) => row.row)
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  return JSON.stringify(tables);
}
