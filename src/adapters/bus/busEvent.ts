/**
 * What travels on the bus and the live feeds: an event's full envelope (SPEC §2) in its wire
 * form — positions and revisions as strings, times as ISO text — with anything secret in its
 * data replaced. Events never hold a plaintext secret, but hashes of passwords and API keys,
 * and the vault's ciphertexts, have no business outside the event store either.
 */
import type { JsonValue } from '../../domain/canonicalJson.js';
import { parseStreamName } from '../../domain/streamName.js';
import { formatPosition } from '../eventstore/position.js';
import type { RecordedEvent } from '../eventstore/port.js';

export interface BusEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: JsonValue;
  readonly streamName: string;
  readonly orgId: string;
  /** The stream's category (`organization`, `ledger`, …); `_` for a stream outside the naming rule. */
  readonly category: string;
  readonly revision: string;
  /** The global position, `<commit>-<prepare>`: the live feeds' event id, for resuming. */
  readonly position: string;
  readonly occurredAt: string;
  readonly actor: { readonly kind: string; readonly id: string; readonly role: string | null };
  readonly channel: {
    readonly kind: string;
    readonly clientName: string | null;
    readonly clientVersion: string | null;
  };
  readonly correlationId: string;
  readonly causationId: string;
  readonly requestId: string | null;
  readonly idempotencyKey: string | null;
  readonly prevHash: string;
  readonly hash: string;
}

/** Data fields whose values never leave the event store. */
const SECRET_FIELD = /password|secret|ciphertext|token|private|wrapped|passkey|credential/i;
export const REDACTED = '[redacted]';
/** Nesting deeper than this is cut: events are small, and the walk must be bounded. */
const REDACT_DEPTH_MAX = 32;

/** Keys whose verdict is remembered, at most: event data reuses a small set of field names. */
const KEY_VERDICTS_MAX = 4_096;
const keyVerdicts = new Map<string, boolean>();

function isSecretField(key: string): boolean {
  let verdict = keyVerdicts.get(key);
  if (verdict === undefined) {
    verdict = SECRET_FIELD.test(key);
    if (keyVerdicts.size < KEY_VERDICTS_MAX) keyVerdicts.set(key, verdict);
  }
  return verdict;
}

/**
 * `value` with every secret field's value replaced. What holds nothing to replace is returned
 * as it is, not copied (a batch of a thousand transfers has nothing secret in it): callers
 * treat event data as read-only, as every reader of an event does.
 */
export function redactSecrets(value: JsonValue, depth = 0): JsonValue {
  if (depth > REDACT_DEPTH_MAX) return REDACTED;
  if (Array.isArray(value)) {
    const items = value as readonly JsonValue[];
    let copy: JsonValue[] | null = null;
    for (let i = 0; i < items.length; i += 1) {
      const item = items[i] as JsonValue;
      const redacted = redactSecrets(item, depth + 1);
      if (copy === null && redacted !== item) copy = items.slice(0, i);
      copy?.push(redacted);
    }
    return copy ?? items;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Readonly<Record<string, JsonValue>>;
    const keys = Object.keys(record);
    let copy: Record<string, JsonValue> | null = null;
    for (let i = 0; i < keys.length; i += 1) {
      const key = keys[i] as string;
      const item = record[key] as JsonValue;
      const redacted = isSecretField(key) ? REDACTED : redactSecrets(item, depth + 1);
      if (copy === null && redacted !== item) {
        copy = {};
        for (let j = 0; j < i; j += 1) {
          const earlier = keys[j] as string;
          copy[earlier] = record[earlier] as JsonValue;
        }
      }
      if (copy !== null) copy[key] = redacted;
    }
    return copy ?? value;
  }
  return value;
}

export function categoryOf(streamName: string): string {
  return parseStreamName(streamName)?.category ?? '_';
}

export function toBusEvent(event: RecordedEvent): BusEvent {
  return {
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: redactSecrets(event.data),
    streamName: event.streamName,
    orgId: event.orgId,
    category: categoryOf(event.streamName),
    revision: event.revision.toString(),
    position: formatPosition(event.position),
    occurredAt: event.occurredAt.toISOString(),
    actor: { kind: event.actor.kind, id: event.actor.id, role: event.actor.role },
    channel: {
      kind: event.channel.kind,
      clientName: event.channel.clientName,
      clientVersion: event.channel.clientVersion,
    },
    correlationId: event.correlationId,
    causationId: event.causationId,
    requestId: event.requestId,
    idempotencyKey: event.idempotencyKey,
    prevHash: event.prevHash,
    hash: event.hash,
  };
}
