/**
 * The data of the large events this process appended lately, by event id. A ledger batch is
 * one event of a few hundred kilobytes; the projector in the same process reads it back a
 * moment later, which costs PostgreSQL the jsonb's decompression and text encoding and this
 * process the parsing of it again: about a twentieth of the CPU per transfer of the batch
 * endpoint. A read that may use memory asks for those events without their data and takes it
 * from here instead.
 *
 * The data kept is the value the append encoded (canonically) and stored, so it is the same
 * JSON value a read would give back (only the order of object keys may differ, which nothing
 * reads by), as long as nobody changes it after appending it: events are values, and the
 * domain that makes them never changes one. Entries are added once their append committed;
 * the oldest go first. A read that misses (another process's event, or one already
 * forgotten) reads the data from the table.
 */
import type { JsonValue } from '../../../domain/canonicalJson.js';

/** Smaller events are read back as they are: remembering them would save little. */
export const RECENT_DATA_BYTES_MIN = 16 * 1024;
/** Events remembered at most: a projector reads an event within a batch or two of its append. */
export const RECENT_DATA_EVENTS_MAX = 64;
/**
 * Canonical bytes remembered at most. The values are shared with whoever appended them (a
 * ledger book keeps its records), so this bounds what their staying reachable may hold on to.
 */
export const RECENT_DATA_BYTES_MAX = 32 * 1024 * 1024;

interface Entry {
  readonly data: JsonValue;
  readonly bytes: number;
}

export class RecentData {
  /** In insertion order: the first is the oldest. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  get size(): number {
    return this.entries.size;
  }

  /** Remembers a committed event's data, when it is large enough to be worth it. */
  remember(eventId: string, data: JsonValue, bytes: number): void {
    if (bytes < RECENT_DATA_BYTES_MIN || bytes > RECENT_DATA_BYTES_MAX || this.entries.has(eventId)) return;
    this.entries.set(eventId, { data, bytes });
    this.bytes += bytes;
    while (this.entries.size > RECENT_DATA_EVENTS_MAX || this.bytes > RECENT_DATA_BYTES_MAX) {
      const oldest = this.entries.entries().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value[0]);
      this.bytes -= oldest.value[1].bytes;
    }
  }

  /**
   * What is remembered now, as a lookup that later appends cannot change: a read sends these
   * ids with its query and takes their data from this lookup once the rows come back.
   */
  snapshot(): ReadonlyMap<string, JsonValue> {
    const lookup = new Map<string, JsonValue>();
    for (const [eventId, entry] of this.entries) lookup.set(eventId, entry.data);
    return lookup;
  }
}
