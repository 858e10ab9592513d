/** An event with its whole envelope (SPEC §2) as the audit reads and the export carry it. */
import { z } from 'zod';
import { formatPosition } from '../../adapters/eventstore/position.js';
import type { RecordedEvent } from '../../adapters/eventstore/port.js';

export const envelope = z.object({
  eventId: z.string(),
  type: z.string(),
  schemaVersion: z.number(),
  data: z.unknown(),
  streamName: z.string(),
  orgId: z.string(),
  revision: z.string(),
  position: z.string(),
  occurredAt: z.string(),
  actor: z.object({ kind: z.string(), id: z.string(), role: z.string().nullable() }),
  channel: z.object({
    kind: z.string(),
    clientName: z.string().nullable(),
    clientVersion: z.string().nullable(),
  }),
  correlationId: z.string(),
  causationId: z.string(),
  requestId: z.string().nullable(),
  idempotencyKey: z.string().nullable(),
  prevHash: z.string(),
  hash: z.string(),
});

export type Envelope = z.infer<typeof envelope>;

export function toEnvelope(event: RecordedEvent): Envelope {
  return {
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    streamName: event.streamName,
    orgId: event.orgId,
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
