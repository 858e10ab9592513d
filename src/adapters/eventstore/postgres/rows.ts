import type { JsonValue } from '../../../domain/canonicalJson.js';
import type { StoredMetadata } from '../newEvents.js';
import type { RecordedEvent } from '../port.js';

/**
 * The columns every read selects, text-cast where pg and PGlite would disagree on types; `data`
 * is the expression the data comes from (a read may leave out data it remembers).
 */
export function eventColumns(data = 'data'): string {
  return `transaction_id::text AS commit, global_position::text AS prepare, stream_name,
  stream_revision::text AS revision, event_id::text AS event_id, event_type, schema_version, org_id, ${data} AS data,
  metadata, occurred_at, encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash`;
}

export const EVENT_COLUMNS = eventColumns();

export interface EventRow {
  readonly commit: string;
  readonly prepare: string;
  readonly stream_name: string;
  readonly revision: string;
  readonly event_id: string;
  readonly event_type: string;
  readonly schema_version: number;
  readonly org_id: string;
  readonly data: JsonValue;
  readonly metadata: StoredMetadata;
  readonly occurred_at: Date;
  readonly prev_hash: string;
  readonly hash: string;
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  const { metadata } = row;
  return {
    eventId: row.event_id,
    type: row.event_type,
    schemaVersion: row.schema_version,
    data: row.data,
    streamName: row.stream_name,
    orgId: row.org_id,
    revision: BigInt(row.revision),
    position: { commit: BigInt(row.commit), prepare: BigInt(row.prepare) },
    occurredAt: row.occurred_at,
    actor: { kind: metadata.actor.kind, id: metadata.actor.id, role: metadata.actor.role },
    channel: {
      kind: metadata.channel.kind,
      clientName: metadata.channel.clientName,
      clientVersion: metadata.channel.clientVersion,
    },
    correlationId: metadata.correlationId,
    causationId: metadata.causationId,
    requestId: metadata.requestId,
    idempotencyKey: metadata.idempotencyKey,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
