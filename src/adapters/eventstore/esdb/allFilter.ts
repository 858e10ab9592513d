/**
 * The port's EventFilter on `$all`, split between the server and the adapter.
 *
 * EventStoreDB filters a subscription on one thing: the stream name or the event type. The
 * stream-name prefix is the one to send when there is one (an organization is `{orgId}.`, SPEC
 * §2): it is the selective part, and it also keeps out system streams (`$…`) and the adapter's
 * event-id claim streams. Without a prefix, a list of event types goes to the server as an
 * anchored, escaped regex on the type; with neither, a regex on ledgerline's stream names.
 * Whatever the server could not filter is checked here, and so is what it did filter, so the
 * two cannot disagree (the server's regex dialect is .NET's, not JavaScript's).
 */
import { eventTypeFilter, streamNameFilter, type Filter, type Position } from '@eventstore/db-client';
import type { EventFilter } from '../port.js';
import { isLedgerlineStream, type EsdbRecordedEvent } from './eventRecords.js';

/** Ledgerline's stream names start with an organization id or `platform`, then a dot. */
const LEDGERLINE_STREAM_REGEX = '^(?:platform|org_[A-Za-z0-9]+)\\.';

/**
 * Checkpoints every `multiplier × 32` events the server considered (32 is its default search
 * window). 1 keeps them frequent: they are what lets a read of a selective filter end, and a
 * subscription resume past events it was never sent.
 */
export const CHECKPOINT_INTERVAL_MULTIPLIER = 1;

export type CheckpointListener = (position: Position) => void;

export interface AllFilter {
  /** The server-side filter; built per call because it carries the checkpoint listener. */
  server(onCheckpoint: CheckpointListener): Filter;
  /** The whole filter, checked on every event the server sends. */
  matches(event: EsdbRecordedEvent): boolean;
}

export function allFilter(filter: EventFilter = {}): AllFilter {
  const prefix = filter.streamPrefix === '' ? undefined : filter.streamPrefix;
  const types = filter.eventTypes === undefined ? undefined : new Set(filter.eventTypes);
  const options = (onCheckpoint: CheckpointListener) => ({
    checkpointInterval: CHECKPOINT_INTERVAL_MULTIPLIER,
    checkpointReached: (_subscription: unknown, position: Position) => {
      onCheckpoint(position);
    },
  });
  return {
    server(onCheckpoint) {
      if (prefix !== undefined) return streamNameFilter({ prefixes: [prefix], ...options(onCheckpoint) });
      if (types !== undefined && types.size > 0) {
        const alternatives = [...types].map(escapeRegex).join('|');
        return eventTypeFilter({ regex: `^(?:${alternatives})$`, ...options(onCheckpoint) });
      }
      return streamNameFilter({ regex: LEDGERLINE_STREAM_REGEX, ...options(onCheckpoint) });
    },
    matches(event) {
      if (event.type.startsWith('$') || !isLedgerlineStream(event.streamId)) return false;
      if (prefix !== undefined && !event.streamId.startsWith(prefix)) return false;
      return types === undefined || types.has(event.type);
    },
  };
}

/** Escapes what is special in both .NET and JavaScript regular expressions. */
function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
