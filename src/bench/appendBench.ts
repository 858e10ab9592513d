/**
 * Event-store appends on real PostgreSQL, side by side with a raw INSERT of the same rows
 * into a table with the same columns and indexes, and with Emmett's PostgreSQL event store,
 * all in one run against one server.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../adapters/db/migrate.js';
import { openPostgres } from '../adapters/db/postgresDatabase.js';
import { SqlEventStore } from '../adapters/eventstore/postgres/sqlEventStore.js';
import type { EventMetadata, EventStore, NewEvent } from '../adapters/eventstore/port.js';
import { measure, type Measurement, type Scenario } from './measure.js';

export const CONCURRENCY = 16;
export const SINGLE_APPENDS = 6_000;
export const BATCH_APPENDS = 300;
export const BATCH_SIZE = 100;
export const STREAMS = 1_000;
/** No scenario runs longer than this, whatever its count. */
export const SCENARIO_TIME_MAX_MS = 30_000;

export const ORG = 'org_bench';

/** One command's envelope: every event an operation appends shares it, as a handler's would. */
export function benchMetadata(i: number): EventMetadata {
  return {
    actor: { kind: 'api_key', id: 'key_bench', role: 'user' },
    channel: { kind: 'rest' },
    requestId: `req_${i}`,
  };
}

export function benchEvent(i: number, metadata: EventMetadata = benchMetadata(i)): NewEvent {
  return {
    type: 'TransferPosted',
    data: {
      transferId: `tr_${i}`,
      debit: 'assets:cash',
      credit: 'revenue:fees',
      amount: '12.34',
      asset: 'KES',
    },
    metadata,
  };
}

export interface AppendBenchResult {
  readonly single: readonly Measurement[];
  readonly batch: readonly Measurement[];
}

/** `databaseUrl` names a scratch database this run may fill and that is dropped afterwards. */
export async function appendBench(
  databaseUrl: string,
  storeUnderTest?: EventStore,
  label = 'ledgerline (PostgreSQL)',
): Promise<AppendBenchResult> {
  const db = await openPostgres({ url: databaseUrl, poolSize: CONCURRENCY + 2 });
  await migrate(db);
  const store = storeUnderTest ?? new SqlEventStore(db);
  const raw = new pg.Pool({ connectionString: databaseUrl, max: CONCURRENCY + 2 });
  await raw.query('CREATE TABLE raw_events (LIKE ll_events INCLUDING ALL)');
  // LIKE … INCLUDING ALL copies the primary key and every index: the same rows, the same work.
  const { getPostgreSQLEventStore } = await import('@event-driven-io/emmett-postgresql');
  const emmett = getPostgreSQLEventStore(databaseUrl);
  const hash = Buffer.alloc(32, 7);

  const rawRow = (i: number): unknown[] => {
    const event = benchEvent(i);
    return [
      randomUUID(),
      `${ORG}.account-${i % STREAMS}`,
      i,
      JSON.stringify(event.data),
      JSON.stringify(event.metadata),
    ];
  };
  const rawSingle = async (i: number): Promise<void> => {
    await raw.query(
      `INSERT INTO raw_events (transaction_id, global_position, stream_name, stream_revision, event_id, event_type,
         schema_version, org_id, data, metadata, occurred_at, prev_hash, hash)
       VALUES (pg_current_xact_id(), nextval('ll_events_position_seq'), $2, $3, $1, 'TransferPosted', 1, '${ORG}', $4, $5, now(), $6, $6)`,
      [...rawRow(i + 10_000_000), hash],
    );
  };
  const rawBatch = async (i: number): Promise<void> => {
    const rows = Array.from({ length: BATCH_SIZE }, (_, k) => rawRow(20_000_000 + i * BATCH_SIZE + k));
    await raw.query(
      `INSERT INTO raw_events (transaction_id, global_position, stream_name, stream_revision, event_id, event_type,
         schema_version, org_id, data, metadata, occurred_at, prev_hash, hash)
       SELECT pg_current_xact_id(), nextval('ll_events_position_seq'), s, r, id, 'TransferPosted', 1, '${ORG}', d, m, now(), $6, $6
         FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::jsonb[], $5::jsonb[]) AS t(id, s, r, d, m)`,
      [0, 1, 2, 3, 4].map((column) => rows.map((row) => row[column])).concat([hash]),
    );
  };

  const scenarios = (eventsPerOperation: number, total: number): Scenario[] => {
    const base = { total, concurrency: CONCURRENCY, eventsPerOperation, timeMaxMs: SCENARIO_TIME_MAX_MS };
    const events = (i: number): NewEvent[] => {
      const metadata = benchMetadata(i);
      return Array.from({ length: eventsPerOperation }, (_, k) =>
        benchEvent(i * eventsPerOperation + k, metadata),
      );
    };
    return [
      { ...base, name: 'raw INSERT (baseline)', operation: eventsPerOperation === 1 ? rawSingle : rawBatch },
      {
        ...base,
        name: label,
        operation: async (i) => {
          await store.append(`${ORG}.account-${i % STREAMS}`, events(i), 'any');
        },
      },
      {
        ...base,
        name: 'Emmett PostgreSQL (baseline)',
        operation: async (i) => {
          await emmett.appendToStream(
            `account-${i % STREAMS}`,
            events(i).map((event) => ({
              type: event.type,
              data: event.data as Record<string, unknown>,
              metadata: { ...event.metadata },
            })),
          );
        },
      },
    ];
  };

  try {
    // Warm every path (schema creation, prepared plans, connections) outside the measurement.
    await rawSingle(-1);
    await store.append(`${ORG}.account-warmup`, [benchEvent(-1)], 'any');
    await emmett.appendToStream('account-warmup', [{ type: 'TransferPosted', data: { warm: true } }]);
    const single: Measurement[] = [];
    for (const scenario of scenarios(1, SINGLE_APPENDS)) single.push(await measure(scenario));
    const batch: Measurement[] = [];
    for (const scenario of scenarios(BATCH_SIZE, BATCH_APPENDS)) batch.push(await measure(scenario));
    return { single, batch };
  } finally {
    await emmett.close();
    await raw.end();
    await db.close();
  }
}
