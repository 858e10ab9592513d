import type { SqlClient } from '../adapters/db/database.js';
import type { Position, RecordedEvent } from '../adapters/eventstore/port.js';

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
  /**
   * A rebuild's fast path, when the events live in the same database (ll_events): fills the
   * emptied tables from every event up to and including `upTo` with set-based SQL, in the
   * rebuild's transaction, without their indexes (rebuilt afterwards). It must leave exactly
   * the rows `apply` would; the rebuild-equals-live property tests hold it to that.
   */
  rebuildInSql?(tx: SqlClient, upTo: Position): Promise<void>;
  /**
   * A rebuild has just emptied `tables`, in its transaction: whatever this projection records
   * about how its rows were written (the ledger's key canary) starts over with them.
   */
  emptied?(tx: SqlClient): Promise<void>;
}
