/**
 * Rebuild: empty a projection's tables, forget its checkpoint, and replay every event into
 * it — `ledgerline projections rebuild [name]`. The truncate and the checkpoint reset are one
 * transaction; a projector running elsewhere sees its checkpoint moved and re-reads it, so the
 * two never apply one batch twice.
 */
import type { Database } from '../adapters/db/database.js';
import type { EventStore, Position } from '../adapters/eventstore/port.js';
import { LedgerlineError } from '../domain/errors.js';
import type { Projection } from './projection.js';
import { Projector } from './projector.js';

/** Events per transaction while rebuilding: larger than live batches, since nobody waits on lag. */
export const REBUILD_BATCH_MAX = 4_000;

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
  await db.transaction(async (tx) => {
    const tables = projections.flatMap((projection) => projection.tables);
    if (tables.length > 0) await tx.query(`TRUNCATE ${tables.join(', ')}`);
    await tx.query('DELETE FROM ll_projection_checkpoints WHERE name = ANY ($1::text[])', [
      projections.map((projection) => projection.name),
    ]);
  });
  let eventsRead = 0;
  const projector = new Projector(db, store, projections, {
    batchMax: REBUILD_BATCH_MAX,
    onBatch: (events, position) => {
      eventsRead += events;
      onProgress({ eventsRead, position });
    },
  });
  const eventsApplied = await projector.catchUp();
  return { eventsRead, eventsApplied };
}
