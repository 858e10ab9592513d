import { z } from 'zod';
import { formatPosition } from '../../adapters/eventstore/position.js';
import { LedgerlineError, ValidationError } from '../../domain/errors.js';
import { parseStreamName } from '../../domain/streamName.js';
import { defineQuery } from '../catalog.js';
import * as s from '../schemas.js';

const STREAM_PAGE_MAX = 500;

const envelope = z.object({
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

export const auditReadStream = defineQuery({
  name: 'audit_read_stream',
  title: 'Read a stream with its envelopes',
  description:
    'The events of one of the organization’s streams, in revision order, with their full envelope (actor, channel, correlation, hash chain), a page at a time. Another organization’s stream answers as missing.',
  params: z
    .strictObject({
      stream: z.string().min(1).max(256),
      fromRevision: z.coerce.number().int().min(0).optional(),
      cursor: s.pageParams.cursor,
      limit: z.coerce.number().int().min(1).max(STREAM_PAGE_MAX).default(100),
    })
    .refine((params) => params.fromRevision === undefined || params.cursor === undefined, {
      message: 'give either fromRevision or cursor, not both',
      path: ['cursor'],
    }),
  result: z.object({
    stream: z.string(),
    events: z.array(envelope),
    nextCursor: z.string().nullable(),
    nextRevision: z.string().nullable(),
  }),
  scope: 'audit:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/audit/streams/:stream' },
  async run(params, context) {
    const parsed = parseStreamName(params.stream);
    // Another organization's stream is indistinguishable from one that does not exist.
    if (!parsed || parsed.scope !== context.principal.orgId)
      throw new LedgerlineError('NOT_FOUND', 'No such stream.');
    const cursor = s.decodeCursor(params.cursor);
    const fromRevision = cursor === null ? (params.fromRevision ?? 0) : Number(cursor);
    if (!Number.isSafeInteger(fromRevision) || fromRevision < 0)
      throw new ValidationError('cursor', 'is not a cursor this list gave');
    const events = await context.services.store.readStream(params.stream, {
      from: BigInt(fromRevision),
      maxCount: params.limit + 1,
    });
    // A missing stream is missing whatever revision is asked for; past the end of one that
    // exists is an empty page.
    if (
      events.length === 0 &&
      (fromRevision === 0 ||
        (await context.services.store.readStream(params.stream, { from: 0n, maxCount: 1 })).length === 0)
    )
      throw new LedgerlineError('NOT_FOUND', 'No such stream.');
    const page = events.slice(0, params.limit);
    const next = events.length > params.limit ? ((page.at(-1)?.revision ?? 0n) + 1n).toString() : null;
    return {
      stream: params.stream,
      events: page.map((event) => ({
        ...event,
        revision: event.revision.toString(),
        position: formatPosition(event.position),
        occurredAt: event.occurredAt.toISOString(),
      })),
      nextCursor: next === null ? null : s.encodeCursor(next),
      nextRevision: next,
    };
  },
});
