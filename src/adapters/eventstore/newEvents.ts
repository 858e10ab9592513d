/**
 * Checks and normalizes what a writer proposes before any adapter touches storage: every
 * refusal happens here, names the field, and leaves nothing written.
 */
import { canonicalJson, NotJsonError, type JsonValue } from '../../domain/canonicalJson.js';
import { LedgerlineError, ValidationError } from '../../domain/errors.js';
import { parseStreamName } from '../../domain/streamName.js';
import { isUuid, uuidv7 } from '../ids.js';
import { canonicalContent, sha256Hex } from './hashChain.js';
import type { ActorKind, ChannelKind, EventMetadata, ExpectedRevision, NewEvent } from './port.js';

/** At most this many events in one append. */
export const APPEND_EVENTS_MAX = 5_000;
/**
 * One event's data and metadata, canonically encoded, at most this many bytes: room for a
 * ledger batch of plain transfers as one TransfersCreated (see TRANSFERS_EVENT_BYTES_MAX).
 * EventStoreDB itself takes events up to 16 MiB within its MaxAppendSize.
 */
export const EVENT_BYTES_MAX = 1024 * 1024;
/**
 * A whole append at most this many bytes of canonical data and metadata: room for a batch of
 * 1,000 ledger transfers in one atomic append. EventStoreDB's own default MaxAppendSize is
 * 1 MiB; run it with EVENTSTORE_MAX_APPEND_SIZE=4194304 (deploy/docker-compose.yml does), or
 * it refuses appends between the two sizes itself (answered as APPEND_TOO_LARGE).
 */
export const APPEND_BYTES_MAX = 4 * 1024 * 1024;
export const SCHEMA_VERSION_MAX = 1_000;
const ID_LENGTH_MAX = 200;
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9_.]{0,127}$/;
const ACTOR_KINDS: ReadonlySet<string> = new Set<ActorKind>(['member', 'api_key', 'system', 'provider']);
const CHANNEL_KINDS: ReadonlySet<string> = new Set<ChannelKind>(['rest', 'mcp', 'cli', 'callback', 'system']);

/** The envelope metadata as stored and hashed: every optional field present, as null. */
export interface StoredMetadata {
  readonly [key: string]: JsonValue;
  readonly actor: { readonly kind: ActorKind; readonly id: string; readonly role: string | null };
  readonly channel: {
    readonly kind: ChannelKind;
    readonly clientName: string | null;
    readonly clientVersion: string | null;
  };
  readonly correlationId: string;
  readonly causationId: string;
  readonly requestId: string | null;
  readonly idempotencyKey: string | null;
}

export interface PreparedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: JsonValue;
  readonly metadata: StoredMetadata;
  /** ISO 8601, milliseconds, UTC. */
  readonly occurredAt: string;
  /** Hex SHA-256 of the canonical content (the inner digest of the chain). */
  readonly contentHash: string;
  /** The canonical encodings of data and metadata, reused for storage. */
  readonly dataJson: string;
  readonly metadataJson: string;
  /** Canonical bytes of data + metadata, for size limits. */
  readonly bytes: number;
}

export interface PreparedAppend {
  readonly stream: string;
  /** The organization id, or `platform`. */
  readonly scope: string;
  readonly events: readonly PreparedEvent[];
  readonly expected: ExpectedRevision;
  readonly bytes: number;
}

export function prepareAppend(
  stream: unknown,
  events: unknown,
  expected: unknown,
  now: () => Date,
): PreparedAppend {
  if (typeof stream !== 'string') throw new ValidationError('stream', 'must be a string');
  const name = parseStreamName(stream);
  if (!name) {
    throw new ValidationError(
      'stream',
      `"${stream.slice(0, 80)}" is not a stream name of the form {orgId}.{category}-{entityId}`,
    );
  }
  checkExpected(expected);
  if (!Array.isArray(events)) throw new ValidationError('events', 'must be an array');
  if (events.length === 0) throw new ValidationError('events', 'must hold at least one event');
  if (events.length > APPEND_EVENTS_MAX) {
    throw new ValidationError('events', `holds ${events.length} events; at most ${APPEND_EVENTS_MAX}`);
  }
  const clock = now();
  const seen = new Set<string>();
  let bytes = 0;
  const prepared: PreparedEvent[] = [];
  let rootId: string | null = null;
  // Events of one command usually share one metadata object: normalize and encode it once.
  const envelopes = new Map<unknown, Envelope>();
  for (const [index, event] of (events as unknown[]).entries()) {
    const eventId = checkEventId(event, index);
    if (seen.has(eventId))
      throw new ValidationError(`events[${index}].eventId`, 'repeats an id in this append');
    seen.add(eventId);
    rootId ??= eventId;
    const raw = (event as NewEvent).metadata as unknown;
    let envelope = envelopes.get(raw);
    if (!envelope) {
      const metadata = normalizeMetadata(raw, `events[${index}].metadata`, rootId);
      envelope = { metadata, json: canonicalJson(metadata) };
      if (typeof raw === 'object' && raw !== null) envelopes.set(raw, envelope);
    }
    const one = prepareEvent(stream, event as NewEvent, index, eventId, envelope, clock);
    bytes += one.bytes;
    prepared.push(one);
  }
  if (bytes > APPEND_BYTES_MAX) {
    throw new LedgerlineError(
      'APPEND_TOO_LARGE',
      `events: the append is ${bytes} bytes; at most ${APPEND_BYTES_MAX}. Split it into smaller appends.`,
      { field: 'events', bytes, limit: APPEND_BYTES_MAX },
    );
  }
  return { stream, scope: name.scope, events: prepared, expected: expected as ExpectedRevision, bytes };
}

function checkExpected(expected: unknown): void {
  if (expected === 'any' || expected === 'no_stream') return;
  if (typeof expected === 'bigint' && expected >= 0n && expected < 1n << 62n) return;
  throw new ValidationError('expectedRevision', "must be a non-negative bigint, 'no_stream' or 'any'");
}

function checkEventId(event: unknown, index: number): string {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new ValidationError(`events[${index}]`, 'must be an object');
  }
  const { eventId } = event as { eventId?: unknown };
  if (eventId === undefined) return uuidv7();
  if (typeof eventId !== 'string' || !isUuid(eventId)) {
    throw new ValidationError(`events[${index}].eventId`, 'must be a lowercase UUID');
  }
  return eventId;
}

interface Envelope {
  readonly metadata: StoredMetadata;
  readonly json: string;
}

function prepareEvent(
  stream: string,
  event: NewEvent,
  index: number,
  eventId: string,
  envelope: Envelope,
  clock: Date,
): PreparedEvent {
  const at = `events[${index}]`;
  const type: unknown = event.type;
  if (typeof type !== 'string' || !EVENT_TYPE.test(type)) {
    throw new ValidationError(
      `${at}.type`,
      'must be a name like PaymentInitiated (letters, digits, _ and .)',
    );
  }
  const schemaVersion: unknown = event.schemaVersion ?? 1;
  if (
    !Number.isSafeInteger(schemaVersion) ||
    (schemaVersion as number) < 1 ||
    (schemaVersion as number) > SCHEMA_VERSION_MAX
  ) {
    throw new ValidationError(`${at}.schemaVersion`, `must be an integer from 1 to ${SCHEMA_VERSION_MAX}`);
  }
  const data: unknown = event.data;
  if (data === undefined) throw new ValidationError(`${at}.data`, 'is required');
  let dataJson: string;
  try {
    dataJson = canonicalJson(data, `${at}.data`);
  } catch (error) {
    if (error instanceof NotJsonError) throw new ValidationError(error.path, error.reason);
    throw error;
  }
  const { metadata, json: metadataJson } = envelope;
  const occurredAt = checkOccurredAt(event.occurredAt, `${at}.occurredAt`, clock);
  const bytes = Buffer.byteLength(dataJson, 'utf8') + Buffer.byteLength(metadataJson, 'utf8');
  if (bytes > EVENT_BYTES_MAX) {
    throw new LedgerlineError(
      'APPEND_TOO_LARGE',
      `${at}: the event is ${bytes} bytes; at most ${EVENT_BYTES_MAX}`,
      {
        field: at,
        bytes,
        limit: EVENT_BYTES_MAX,
      },
    );
  }
  const version = schemaVersion as number;
  const hash = sha256Hex(
    canonicalContent(
      { streamName: stream, eventId, type, schemaVersion: version, occurredAt },
      dataJson,
      metadataJson,
    ),
  );
  return {
    eventId,
    type,
    schemaVersion: version,
    data: data as JsonValue,
    metadata,
    occurredAt,
    contentHash: hash,
    dataJson,
    metadataJson,
    bytes,
  };
}

function checkOccurredAt(value: unknown, field: string, clock: Date): string {
  const date = value ?? clock;
  if (!(date instanceof Date) || Number.isNaN(date.getTime()))
    throw new ValidationError(field, 'must be a valid Date');
  return date.toISOString();
}

function normalizeMetadata(value: unknown, field: string, rootId: string): StoredMetadata {
  if (typeof value !== 'object' || value === null)
    throw new ValidationError(field, 'is required (actor and channel)');
  const metadata = value as Partial<EventMetadata>;
  const actor = metadata.actor as unknown;
  if (typeof actor !== 'object' || actor === null) throw new ValidationError(`${field}.actor`, 'is required');
  const { kind: actorKind, id: actorId, role } = actor as { kind?: unknown; id?: unknown; role?: unknown };
  if (typeof actorKind !== 'string' || !ACTOR_KINDS.has(actorKind)) {
    throw new ValidationError(`${field}.actor.kind`, `must be one of ${[...ACTOR_KINDS].join(', ')}`);
  }
  const channel = metadata.channel as unknown;
  if (typeof channel !== 'object' || channel === null)
    throw new ValidationError(`${field}.channel`, 'is required');
  const {
    kind: channelKind,
    clientName,
    clientVersion,
  } = channel as {
    kind?: unknown;
    clientName?: unknown;
    clientVersion?: unknown;
  };
  if (typeof channelKind !== 'string' || !CHANNEL_KINDS.has(channelKind)) {
    throw new ValidationError(`${field}.channel.kind`, `must be one of ${[...CHANNEL_KINDS].join(', ')}`);
  }
  return {
    actor: {
      kind: actorKind as ActorKind,
      id: requiredText(actorId, `${field}.actor.id`),
      role: optionalText(role, `${field}.actor.role`),
    },
    channel: {
      kind: channelKind as ChannelKind,
      clientName: optionalText(clientName, `${field}.channel.clientName`),
      clientVersion: optionalText(clientVersion, `${field}.channel.clientVersion`),
    },
    correlationId: optionalText(metadata.correlationId, `${field}.correlationId`) ?? rootId,
    causationId: optionalText(metadata.causationId, `${field}.causationId`) ?? rootId,
    requestId: optionalText(metadata.requestId, `${field}.requestId`),
    idempotencyKey: optionalText(metadata.idempotencyKey, `${field}.idempotencyKey`),
  };
}

function requiredText(value: unknown, field: string): string {
  const text = optionalText(value, field);
  if (text === null) throw new ValidationError(field, 'is required');
  return text;
}

function optionalText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > ID_LENGTH_MAX) {
    throw new ValidationError(field, `must be a non-empty string of at most ${ID_LENGTH_MAX} characters`);
  }
  if (value.includes('\u0000')) throw new ValidationError(field, 'may not contain U+0000');
  return value;
}
