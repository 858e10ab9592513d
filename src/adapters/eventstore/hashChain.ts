/**
 * The per-stream hash chain (SPEC §2). Each event's `hash` is
 *
 *   hash = SHA-256( prevHash ‖ SHA-256( canonicalJson(content) ) )
 *
 * where `content` is everything a writer said about the event (stream, id, type, schema
 * version, data, envelope metadata, occurred-at) and `prevHash` is the previous event's hash
 * in the same stream (32 zero bytes for the first). The inner digest is computed by the
 * writer; the outer link may be computed where the previous hash is known (inside the
 * PostgreSQL append function), so an append stays one round trip. Any edit changes the
 * inner digest, any deletion or reordering breaks a link, and the stream head records the
 * last hash, so removing the newest event is caught too.
 */
import { createHash, hash } from 'node:crypto';
import { canonicalJson, type JsonValue } from '../../domain/canonicalJson.js';
import type { BrokenLink, RecordedEvent } from './port.js';

export const GENESIS_HASH = '0'.repeat(64);

/** The hashed fields of an event besides its data and metadata. */
export interface HashedFields {
  readonly streamName: string;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  /** ISO 8601 with milliseconds, UTC. */
  readonly occurredAt: string;
}

/**
 * canonicalJson({ ...fields, data, metadata }), composed from data and metadata that are
 * already canonically encoded so each event is walked once. The keys are written in
 * code-unit order: data, eventId, metadata, occurredAt, schemaVersion, streamName, type.
 */
export function canonicalContent(fields: HashedFields, dataJson: string, metadataJson: string): string {
  return (
    `{"data":${dataJson},"eventId":${JSON.stringify(fields.eventId)},"metadata":${metadataJson},` +
    `"occurredAt":${JSON.stringify(fields.occurredAt)},"schemaVersion":${JSON.stringify(fields.schemaVersion)},` +
    `"streamName":${JSON.stringify(fields.streamName)},"type":${JSON.stringify(fields.type)}}`
  );
}

export function sha256Hex(text: string): string {
  // The one-shot form: no Hash object per event (it runs for every event appended).
  return hash('sha256', text, 'hex');
}

export function linkHash(prevHash: string, content: string): string {
  return createHash('sha256')
    .update(Buffer.from(prevHash + content, 'hex'))
    .digest('hex');
}

/** The envelope metadata exactly as it is hashed and stored. */
export function envelopeMetadata(event: RecordedEvent): JsonValue {
  return {
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
  };
}

/** The inner digest of a stored event, recomputed from what was read back. */
export function recordedContentHash(event: RecordedEvent): string {
  const fields: HashedFields = {
    streamName: event.streamName,
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    occurredAt: event.occurredAt.toISOString(),
  };
  return sha256Hex(
    canonicalContent(fields, canonicalJson(event.data), canonicalJson(envelopeMetadata(event))),
  );
}

/**
 * Walks a stream's events in revision order and reports the first link that does not hold.
 * Feed it page after page; `finish` compares the walk with the stream head when the
 * adapter keeps one.
 */
export class ChainVerifier {
  private expectedRevision = 0n;
  private prevHash = GENESIS_HASH;
  private checked = 0;
  private broken: BrokenLink | null = null;

  constructor(private readonly stream: string) {}

  get eventsChecked(): number {
    return this.checked;
  }

  get brokenLink(): BrokenLink | null {
    return this.broken;
  }

  /** Returns false once a broken link is found (the caller may stop reading). */
  check(event: RecordedEvent): boolean {
    if (this.broken) return false;
    this.checked += 1;
    if (event.revision !== this.expectedRevision) {
      return this.fail(this.expectedRevision, 'revision_gap', this.prevHash, event.prevHash);
    }
    if (event.prevHash !== this.prevHash) {
      return this.fail(event.revision, 'chain_broken', this.prevHash, event.prevHash);
    }
    const expected = linkHash(this.prevHash, recordedContentHash(event));
    if (expected !== event.hash) return this.fail(event.revision, 'content_changed', expected, event.hash);
    this.prevHash = event.hash;
    this.expectedRevision += 1n;
    return true;
  }

  /** `head` is the stream's recorded last revision and hash, where the adapter keeps them. */
  finish(head: { readonly revision: bigint; readonly hash: string } | null): BrokenLink | null {
    if (this.broken || !head) return this.broken;
    const lastRevision = this.expectedRevision - 1n;
    if (head.revision !== lastRevision || head.hash !== this.prevHash) {
      this.fail(lastRevision + 1n, 'head_mismatch', head.hash, this.prevHash);
    }
    return this.broken;
  }

  private fail(
    revision: bigint,
    reason: BrokenLink['reason'],
    expectedHash: string,
    foundHash: string,
  ): false {
    this.broken = { stream: this.stream, revision, reason, expectedHash, foundHash };
    return false;
  }
}
