import type { Database } from '../../src/adapters/db/database.js';
import type { Tamper } from '../eventstore/conformance.js';

/** Edits the events table directly, as an attacker with database access would. */
export function sqlTamper(db: Database): Tamper {
  return {
    async editData(stream, revision, data) {
      await db.query(
        'UPDATE ll_events SET data = $3::jsonb WHERE stream_name = $1 AND stream_revision = $2',
        [stream, revision.toString(), JSON.stringify(data)],
      );
    },
    async deleteEvent(stream, revision) {
      await db.query('DELETE FROM ll_events WHERE stream_name = $1 AND stream_revision = $2', [
        stream,
        revision.toString(),
      ]);
    },
    async swapEvents(stream, a, b) {
      await db.transaction(async (tx) => {
        const move =
          'UPDATE ll_events SET stream_revision = $3 WHERE stream_name = $1 AND stream_revision = $2';
        await tx.query(move, [stream, a.toString(), '-1000']);
        await tx.query(move, [stream, b.toString(), a.toString()]);
        await tx.query(move, [stream, '-1000', b.toString()]);
      });
    },
  };
}
