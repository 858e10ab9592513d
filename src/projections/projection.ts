import type { SqlClient } from '../adapters/db/database.js';
import type { RecordedEvent } from '../adapters/eventstore/port.js';

/**
 * A read model: which events it needs, how a batch of them changes its tables (inside the
 * projector's transaction, together with the checkpoint), and which tables a rebuild empties.
 */
export interface Projection {
  readonly name: string;
  /** The tables this projection alone writes; a rebuild truncates them. */
  readonly tables: readonly string[];
  /** Only these event types reach `apply`; the checkpoint still advances past the others. */
  readonly eventTypes: readonly string[];
  /** Applies a batch in order. Batched SQL, please: this is the replay hot path. */
  apply(tx: SqlClient, events: readonly RecordedEvent[]): Promise<void>;
}
