/**
 * How a ledgerline event is laid out in EventStoreDB, and back.
 *
 * - The ESDB event id is the event id, the ESDB type the event type, the data the event data as
 *   JSON (content type application/json, so ESDB's UI and projections can read it).
 * - The custom metadata holds the normalized envelope of SPEC §2 exactly as newEvents.ts
 *   normalized and hashed it (actor, channel, correlationId, causationId, requestId,
 *   idempotencyKey), plus `$correlationId` / `$causationId` (the keys ESDB's own system
 *   projections read, e.g. `$by_correlation_id`), `schemaVersion`, `occurredAt` (ISO 8601) and
 *   the chain links `prevHash` / `hash`.
 * - Stream name, revision and position come from ESDB; the organization from the stream name.
 *
 * Reading back rebuilds the very fields `recordedContentHash` hashes, so a stream verifies here
 * exactly as it does on PostgreSQL.
 */
import { jsonEvent, type JSONEventData, type JSONType } from '@eventstore/db-client';
import type { JsonValue } from '../../../domain/canonicalJson.js';
import { LedgerlineError } from '../../../domain/errors.js';
import { parseStreamName } from '../../../domain/streamName.js';
import type { PreparedEvent, StoredMetadata } from '../newEvents.js';
import type { ActorKind, ChannelKind, Position, RecordedEvent } from '../port.js';

/** The custom metadata of every event the adapter writes. */
export interface EsdbEventMetadata extends StoredMetadata {
  readonly $correlationId: string;
  readonly $causationId: string;
  readonly schemaVersion: number;
  readonly occurredAt: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** One prepared event as the client appends it: explicit id (jsonEvent would invent one). */
export function toEventData(event: PreparedEvent, prevHash: string, hash: string): JSONEventData {
  const metadata: EsdbEventMetadata = {
    ...event.metadata,
    $correlationId: event.metadata.correlationId,
    $causationId: event.metadata.causationId,
    schemaVersion: event.schemaVersion,
    occurredAt: event.occurredAt,
    prevHash,
    hash,
  };
  return jsonEvent({
    id: event.eventId,
    type: event.type,
    // The client sends JSON.stringify(data) whatever its JSON type (a bare number, null or boolean
    // too); its type only names the common shapes. The value was checked by prepareAppend.
    data: event.data as JSONType,
    metadata,
  });
}

/** The fields of a read event the adapter uses, as the client hands them over. */
export interface EsdbRecordedEvent {
  readonly streamId: string;
  readonly id: string;
  readonly isJson: boolean;
  readonly revision: bigint;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
  /** Set on stream and `$all` reads by servers from 22.6 on. */
  readonly position?: Position | undefined;
}

/** False for system streams, event-id claims and any stream ledgerline did not name. */
export function isLedgerlineStream(streamName: string): boolean {
  return parseStreamName(streamName) !== null;
}

/**
 * The port's event from a ledgerline stream's ESDB event. Anything that does not have the
 * layout above is refused loudly: it was not written by this adapter, and verifying or
 * projecting it as if it were would be worse than stopping.
 */
export function toRecordedEvent(event: EsdbRecordedEvent): RecordedEvent {
  const where = `event ${event.revision} of ${event.streamId}`;
  const name = parseStreamName(event.streamId);
  if (!name) throw corrupt(where, 'is not in a ledgerline stream');
  if (!event.isJson) throw corrupt(where, 'is not JSON');
  if (event.position === undefined) {
    throw corrupt(where, 'carries no position (EventStoreDB 22.6 or later is required)');
  }
  const raw: unknown = event.metadata;
  if (typeof raw !== 'object' || raw === null || raw instanceof Uint8Array) {
    throw corrupt(where, 'has no ledgerline metadata');
  }
  const metadata = raw as Record<string, unknown>;
  const actor = record(metadata['actor'], `${where}: metadata.actor`);
  const channel = record(metadata['channel'], `${where}: metadata.channel`);
  const occurredAt = new Date(text(metadata['occurredAt'], `${where}: metadata.occurredAt`));
  if (Number.isNaN(occurredAt.getTime())) throw corrupt(where, 'has an invalid occurredAt');
  const schemaVersion = metadata['schemaVersion'];
  if (typeof schemaVersion !== 'number' || !Number.isSafeInteger(schemaVersion)) {
    throw corrupt(where, 'has no integer schemaVersion');
  }
  return {
    eventId: event.id,
    type: event.type,
    schemaVersion,
    // Parsed by the client from the stored JSON text.
    data: event.data as JsonValue,
    streamName: event.streamId,
    orgId: name.scope,
    revision: event.revision,
    position: { commit: event.position.commit, prepare: event.position.prepare },
    occurredAt,
    actor: {
      kind: text(actor['kind'], `${where}: metadata.actor.kind`) as ActorKind,
      id: text(actor['id'], `${where}: metadata.actor.id`),
      role: nullableText(actor['role'], `${where}: metadata.actor.role`),
    },
    channel: {
      kind: text(channel['kind'], `${where}: metadata.channel.kind`) as ChannelKind,
      clientName: nullableText(channel['clientName'], `${where}: metadata.channel.clientName`),
      clientVersion: nullableText(channel['clientVersion'], `${where}: metadata.channel.clientVersion`),
    },
    correlationId: text(metadata['correlationId'], `${where}: metadata.correlationId`),
    causationId: text(metadata['causationId'], `${where}: metadata.causationId`),
    requestId: nullableText(metadata['requestId'], `${where}: metadata.requestId`),
    idempotencyKey: nullableText(metadata['idempotencyKey'], `${where}: metadata.idempotencyKey`),
    prevHash: text(metadata['prevHash'], `${where}: metadata.prevHash`),
    hash: text(metadata['hash'], `${where}: metadata.hash`),
  };
}

function corrupt(where: string, problem: string): LedgerlineError {
  return new LedgerlineError('INTERNAL', `EventStoreDB ${where} ${problem}.`, { where });
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LedgerlineError('INTERNAL', `EventStoreDB ${field} is not an object.`, { field });
  }
  return value as Record<string, unknown>;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw new LedgerlineError('INTERNAL', `EventStoreDB ${field} is not a string.`, { field });
  }
  return value;
}

function nullableText(value: unknown, field: string): string | null {
  return value === null ? null : text(value, field);
}
