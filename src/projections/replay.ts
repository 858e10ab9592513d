/**
 * `ledgerline audit replay`: rebuild one organization's read models from its events into a
 * scratch schema, with the projections' own `apply`, and compare them row by row with the live
 * rows of that organization. The scratch schema shadows the live tables through the search
 * path, so a projection writes there without knowing; it is dropped afterwards, whatever
 * happens. Events are replayed up to where the live projections stood when the replay began,
 * so both sides have seen the same events.
 */
import { randomBytes } from 'node:crypto';
import type { Database, SqlClient } from '../adapters/db/database.js';
import { comparePositions } from '../adapters/eventstore/position.js';
import { START, type EventStore, type Position } from '../adapters/eventstore/port.js';
import { orgStreamPrefix } from '../domain/streamName.js';
import type { Projection } from './projection.js';

/** Events per scratch transaction. */
export const REPLAY_BATCH_MAX = 2_000;
/** Compare-and-catch-up rounds while the organization keeps changing. */
export const REPLAY_SETTLE_ATTEMPTS_MAX = 5;
/** Differing rows a replay reports in full; the rest are counted. */
export const REPLAY_DIFFERENCES_MAX = 1_000;
/** Columns whose values are never printed, only said to differ. */
const REDACTED_COLUMN = /hash|secret|password|token|cipher/;
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

export interface RowDifference {
  readonly table: string;
  /** The row's primary key, column by column. */
  readonly key: Readonly<Record<string, unknown>>;
  /** The differing column, or null when the row exists on one side only. */
  readonly column: string | null;
  /** The live value (the whole row, or null, when `column` is null). */
  readonly live: unknown;
  readonly rebuilt: unknown;
}

export interface ReplayReport {
  readonly orgId: string;
  readonly projections: readonly string[];
  readonly eventsReplayed: number;
  /** Rows compared per table, and tables left out because they carry no org_id. */
  readonly tables: readonly {
    readonly table: string;
    readonly liveRows: number;
    readonly rebuiltRows: number;
  }[];
  readonly skippedTables: readonly string[];
  readonly differences: readonly RowDifference[];
  /** Differing rows in all (a row with two differing columns counts once). */
  readonly differingRows: number;
  /** True when the live projections moved on while the replay ran: differences may be new events. */
  readonly liveMoved: boolean;
}

function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain identifier: ${name}`);
  return name;
}

async function liveCheckpoint(db: Database, projections: readonly Projection[]): Promise<Position> {
  const { rows } = await db.query<{ name: string; commit: string; prepare: string }>(
    `SELECT name, commit_position::text AS commit, prepare_position::text AS prepare
       FROM ll_projection_checkpoints WHERE name = ANY ($1::text[])`,
    [projections.map((projection) => projection.name)],
  );
  if (rows.length < projections.length) return START;
  let least: Position | null = null;
  for (const row of rows) {
    const position = { commit: BigInt(row.commit), prepare: BigInt(row.prepare) };
    if (least === null || comparePositions(position, least) < 0) least = position;
  }
  return least ?? START;
}

async function columnsOf(db: SqlClient, schema: string, table: string): Promise<string[]> {
  const { rows } = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2
      ORDER BY ordinal_position`,
    [schema, table],
  );
  return rows.map((row) => row.column_name);
}

async function primaryKeyOf(db: SqlClient, schema: string, table: string): Promise<string[]> {
  const { rows } = await db.query<{ column_name: string }>(
    `SELECT a.attname AS column_name
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE i.indisprimary AND n.nspname = $1 AND c.relname = $2
      ORDER BY k.ord`,
    [schema, table],
  );
  return rows.map((row) => row.column_name);
}

export async function replayOrganization(
  db: Database,
  store: EventStore,
  orgId: string,
  projections: readonly Projection[],
  onProgress: (eventsReplayed: number) => void = () => undefined,
): Promise<ReplayReport> {
  const { rows: schemaRows } = await db.query<{ schema: string }>('SELECT current_schema() AS schema');
  const live = identifier(schemaRows[0]?.schema ?? 'public');
  const scratch = `ll_replay_${randomBytes(6).toString('hex')}`;
  const tables = projections.flatMap((projection) => projection.tables.map(identifier));
  await db.exec(
    `CREATE SCHEMA ${scratch};\n` +
      tables
        .map((table) => `CREATE TABLE ${scratch}.${table} (LIKE ${live}.${table} INCLUDING ALL);`)
        .join('\n'),
  );
  try {
    const prefix = orgStreamPrefix(orgId);
    let eventsReplayed = 0;
    let from = START;
    /** Replays the organization's events after `from` up to `upTo` into the scratch tables. */
    const replayUpTo = async (upTo: Position): Promise<void> => {
      for (;;) {
        const page = await store.readAll({
          from,
          filter: { streamPrefix: prefix },
          maxCount: REPLAY_BATCH_MAX,
        });
        const events = page.events.filter((event) => comparePositions(event.position, upTo) <= 0);
        if (events.length > 0) {
          await db.transaction(async (tx) => {
            // Unqualified table names now find the scratch copies first.
            await tx.query(`SET LOCAL search_path TO ${scratch}, ${live}`);
            for (const projection of projections) {
              const wanted = new Set(projection.eventTypes);
              const mine = events.filter((event) => wanted.has(event.type));
              if (mine.length > 0) await projection.apply(tx, mine);
            }
          });
          eventsReplayed += events.length;
          onProgress(eventsReplayed);
        }
        if (events.length < page.events.length) {
          from = events.at(-1)?.position ?? from;
          return;
        }
        from = page.next;
        if (page.isEnd) return;
      }
    };
    // The live projections keep moving while we compare: replay up to where they stand, compare,
    // and if this organization's events were projected meanwhile, catch up and compare again.
    let report: Omit<ReplayReport, 'eventsReplayed' | 'liveMoved'> | null = null;
    for (let attempt = 0; attempt < REPLAY_SETTLE_ATTEMPTS_MAX; attempt += 1) {
      const before = await liveCheckpoint(db, projections);
      await replayUpTo(before);
      report = await compare(db, live, scratch, tables, orgId, projections);
      const after = await liveCheckpoint(db, projections);
      const moved = await store.readAll({ from: before, filter: { streamPrefix: prefix }, maxCount: 1 });
      const first = moved.events[0];
      if (first === undefined || comparePositions(first.position, after) > 0)
        return { ...report, eventsReplayed, liveMoved: false };
    }
    if (report === null) throw new Error('REPLAY_SETTLE_ATTEMPTS_MAX must be at least 1');
    return { ...report, eventsReplayed, liveMoved: true };
  } finally {
    await db.exec(`DROP SCHEMA IF EXISTS ${scratch} CASCADE`);
  }
}

async function compare(
  db: Database,
  live: string,
  scratch: string,
  tables: readonly string[],
  orgId: string,
  projections: readonly Projection[],
): Promise<Omit<ReplayReport, 'eventsReplayed' | 'liveMoved'>> {
  const compared: { table: string; liveRows: number; rebuiltRows: number }[] = [];
  const skippedTables: string[] = [];
  const differences: RowDifference[] = [];
  let differingRows = 0;
  for (const table of tables) {
    const columns = await columnsOf(db, live, table);
    const key = await primaryKeyOf(db, live, table);
    if (!columns.includes('org_id') || key.length === 0) {
      skippedTables.push(table);
      continue;
    }
    const keyList = key.map(identifier).join(', ');
    const sides = `(SELECT ${keyList}, to_jsonb(t) AS row FROM ${live}.${table} t WHERE org_id = $1) l
       FULL JOIN (SELECT ${keyList}, to_jsonb(t) AS row FROM ${scratch}.${table} t WHERE org_id = $1) b
       USING (${keyList})`;
    const { rows: counts } = await db.query<{ live: string; rebuilt: string; differing: string }>(
      `SELECT count(l.row)::text AS live, count(b.row)::text AS rebuilt,
              count(*) FILTER (WHERE l.row IS DISTINCT FROM b.row)::text AS differing
         FROM ${sides}`,
      [orgId],
    );
    const count = counts[0];
    compared.push({ table, liveRows: Number(count?.live ?? 0), rebuiltRows: Number(count?.rebuilt ?? 0) });
    const differing = Number(count?.differing ?? 0);
    differingRows += differing;
    if (differing === 0 || differences.length >= REPLAY_DIFFERENCES_MAX) continue;
    const { rows } = await db.query<{
      live: Record<string, unknown> | null;
      rebuilt: Record<string, unknown> | null;
    }>(
      `SELECT l.row AS live, b.row AS rebuilt FROM ${sides}
        WHERE l.row IS DISTINCT FROM b.row ORDER BY ${keyList} LIMIT $2`,
      [orgId, REPLAY_DIFFERENCES_MAX - differences.length],
    );
    for (const row of rows) differences.push(...rowDifferences(table, key, row.live, row.rebuilt));
  }
  return {
    orgId,
    projections: projections.map((projection) => projection.name),
    tables: compared,
    skippedTables,
    differences: differences.slice(0, REPLAY_DIFFERENCES_MAX),
    differingRows,
  };
}

function redact(column: string, value: unknown): unknown {
  return REDACTED_COLUMN.test(column) && value !== null ? '[redacted]' : value;
}

function redactRow(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([column, value]) => [column, redact(column, value)]));
}

function rowDifferences(
  table: string,
  key: readonly string[],
  live: Record<string, unknown> | null,
  rebuilt: Record<string, unknown> | null,
): RowDifference[] {
  const present = live ?? rebuilt ?? {};
  const keyOf = Object.fromEntries(key.map((column) => [column, present[column]]));
  if (live === null || rebuilt === null) {
    return [
      {
        table,
        key: keyOf,
        column: null,
        live: live === null ? null : redactRow(live),
        rebuilt: rebuilt === null ? null : redactRow(rebuilt),
      },
    ];
  }
  const columns = [...new Set([...Object.keys(live), ...Object.keys(rebuilt)])];
  return columns
    .filter((column) => JSON.stringify(live[column]) !== JSON.stringify(rebuilt[column]))
    .map((column) => ({
      table,
      key: keyOf,
      column,
      live: redact(column, live[column] ?? null),
      rebuilt: redact(column, rebuilt[column] ?? null),
    }));
}
