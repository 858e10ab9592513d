/**
 * Rebuild: empty a projection's tables, forget its checkpoint, and replay every event into
 * it — `ledgerline projections rebuild [name]`. The truncate and the checkpoint reset are one
 * transaction; a projector running elsewhere sees its checkpoint moved and re-reads it, so the
 * two never apply one batch twice.
 *
 * When the events are in the same database (the SQL event store) and a projection can rebuild
 * itself in SQL, that same transaction also projects every event up to a bound, with the
 * tables' indexes dropped and built again after the load, and sets the checkpoint there:
 * readers of those tables wait for the commit and then see the whole result, never a half
 * rebuilt one. The projector then projects whatever came after the bound, as usual.
 */
import type { Database, SqlClient } from '../adapters/db/database.js';
import { SqlEventStore } from '../adapters/eventstore/postgres/sqlEventStore.js';
import { comparePositions } from '../adapters/eventstore/position.js';
import { START, type EventStore, type Position } from '../adapters/eventstore/port.js';
import { LedgerlineError } from '../domain/errors.js';
import type { Projection } from './projection.js';
import { Projector } from './projector.js';
import { withoutIndexes } from './withoutIndexes.js';

/** Events per transaction while rebuilding: larger than live batches, since nobody waits on lag. */
export const REBUILD_BATCH_MAX = 4_000;
/** Sort memory for building a rebuilt table's indexes (PostgreSQL's default is 64 MB). */
const REBUILD_INDEX_MEMORY = '256MB';

export interface RebuildProgress {
  readonly eventsRead: number;
  readonly position: Position;
}

export function selectProjections(all: readonly Projection[], name: string | undefined): Projection[] {
  if (name === undefined) return [...all];
  const chosen = all.filter((projection) => projection.name === name);
  if (chosen.length === 0) {
    throw new LedgerlineError(
      'NOT_FOUND',
      `No projection named "${name}"; there are: ${all.map((projection) => projection.name).join(', ')}.`,
    );
  }
  return chosen;
}

export async function rebuildProjections(
  db: Database,
  store: EventStore,
  projections: readonly Projection[],
  onProgress: (progress: RebuildProgress) => void = () => undefined,
): Promise<{ eventsRead: number; eventsApplied: number }> {
  const inSql =
    store instanceof SqlEventStore && store.storesEventsIn(db)
      ? projections.filter((projection) => projection.rebuildInSql !== undefined)
      : [];
  let eventsRead = 0;
  let eventsApplied = 0;
  const bulk = await db.transaction(async (tx) => {
    const tables = projections.flatMap((projection) => projection.tables);
    if (tables.length > 0) await tx.query(`TRUNCATE ${tables.join(', ')}`);
    for (const projection of projections) await projection.emptied?.(tx);
    await tx.query('DELETE FROM ll_projection_checkpoints WHERE name = ANY ($1::text[])', [
      projections.map((projection) => projection.name),
    ]);
    if (inSql.length === 0) return null;
    if (db.kind === 'postgres') await tx.query(`SET LOCAL maintenance_work_mem = '${REBUILD_INDEX_MEMORY}'`);
    return rebuildInSql(tx, inSql);
  });
  if (bulk !== null) {
    eventsRead = bulk.eventsRead;
    eventsApplied = bulk.eventsApplied;
    onProgress({ eventsRead, position: bulk.position });
  }
  // Projections not rebuilt in SQL start from the beginning: events up to the bound were counted.
  let position = bulk?.position ?? START;
  const projector = new Projector(db, store, projections, {
    batchMax: REBUILD_BATCH_MAX,
    onBatch: (_events, next) => {
      position = next;
    },
    onCommitted: (events) => {
      eventsRead += bulk
        ? events.filter((event) => comparePositions(event.position, bulk.position) > 0).length
        : events.length;
      onProgress({ eventsRead, position });
    },
  });
  eventsApplied += await projector.catchUp();
  return { eventsRead, eventsApplied };
}

/**
 * Projects every event below the oldest running transaction (nothing can appear beneath that
 * line any more: see migration 0001) and sets the projections' checkpoints to the last one.
 */
async function rebuildInSql(
  tx: SqlClient,
  projections: readonly Projection[],
): Promise<{ eventsRead: number; eventsApplied: number; position: Position } | null> {
  const { rows } = await tx.query<{ commit: string; prepare: string }>(
    `SELECT transaction_id::text AS commit, global_position::text AS prepare FROM ll_events
      WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
  );
  const last = rows[0];
  if (!last) return null;
  const position = { commit: BigInt(last.commit), prepare: BigInt(last.prepare) };
  for (const projection of projections) {
    await withoutIndexes(tx, projection.tables, async () => {
      await projection.rebuildInSql?.(tx, position);
    });
  }
  // One pass counts every event up to the bound and each projection's share of them.
  const { rows: counted } = await tx.query<Record<string, string>>(
    `SELECT count(*)::text AS all,
            ${projections.map((_, i) => `(count(*) FILTER (WHERE event_type = ANY ($${i + 3}::text[])))::text AS p${i}`).join(', ')}
       FROM ll_events WHERE (transaction_id, global_position) <= ($1::xid8, $2::bigint)`,
    [last.commit, last.prepare, ...projections.map((projection) => projection.eventTypes)],
  );
  const count = counted[0] ?? {};
  let eventsApplied = 0;
  for (const [i, projection] of projections.entries()) {
    const applied = Number(count[`p${i}`] ?? 0);
    eventsApplied += applied;
    await tx.query(
      `INSERT INTO ll_projection_checkpoints (name, commit_position, prepare_position, events_projected, updated_at)
       VALUES ($1, $2, $3, $4, now())`,
      [projection.name, last.commit, last.prepare, applied],
    );
  }
  return { eventsRead: Number(count['all'] ?? 0), eventsApplied, position };
}
