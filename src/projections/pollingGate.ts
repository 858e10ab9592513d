/**
 * Read-your-writes when the projector runs in another process (`ledgerline project`): watch
 * the checkpoint table instead of the projector's memory.
 */
import type { Database } from '../adapters/db/database.js';
import { comparePositions } from '../adapters/eventstore/position.js';
import { START, type EventStore, type Position } from '../adapters/eventstore/port.js';
import type { ConsistencyGate } from '../commands/context.js';

export const CHECKPOINT_POLL_MS = 20;

export function pollingGate(
  db: Database,
  projectionNames: readonly string[],
  store: EventStore,
): ConsistencyGate {
  const least = (): Promise<Position> => leastCheckpoint(db, projectionNames);
  async function waitFor(position: Position, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (comparePositions(await least(), position) >= 0) return true;
      if (Date.now() + CHECKPOINT_POLL_MS > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, CHECKPOINT_POLL_MS));
    }
  }
  return {
    waitFor,
    async waitForCaughtUp(timeoutMs) {
      // Without the store's head there is nothing to wait for: callers go on.
      if (!store.headPosition) return false;
      const head = await store.headPosition();
      return head === null || waitFor(head, timeoutMs);
    },
  };
}

/** The position every named projection has passed (START while one has never run). */
export async function leastCheckpoint(db: Database, projectionNames: readonly string[]): Promise<Position> {
  const { rows } = await db.query<{ commit_position: string; prepare_position: string; n: string }>(
    `SELECT commit_position::text, prepare_position::text, count(*) OVER ()::text AS n
       FROM ll_projection_checkpoints WHERE name = ANY ($1::text[])
      ORDER BY commit_position, prepare_position LIMIT 1`,
    [projectionNames],
  );
  const row = rows[0];
  // A projection that has never run has no row: it is at the start.
  if (!row || Number(row.n) < projectionNames.length) return START;
  return { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) };
}
