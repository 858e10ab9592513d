/**
 * The audit reads: a stream with its envelopes, an organization's events in global order,
 * and the hash-chain verification of a stream or a whole organization. Each reads the
 * caller's own organization, or — with a grantId — the organization that granted the caller's
 * organization an audit grant (see access.ts).
 */
import { z } from 'zod';
import { comparePositions, formatPosition, parsePosition } from '../../adapters/eventstore/position.js';
import type { Position } from '../../adapters/eventstore/port.js';
import { START } from '../../adapters/eventstore/port.js';
import { LedgerlineError, ValidationError } from '../../domain/errors.js';
import { orgStreamPrefix, parseStreamName } from '../../domain/streamName.js';
import { defineQuery } from '../catalog.js';
import * as s from '../schemas.js';
import { grantParam, resolveAuditTarget } from './access.js';
import { envelope, toEnvelope } from './envelope.js';
import { verifyOrganization } from './verifyOrganization.js';

const STREAM_PAGE_MAX = 500;
/** Events audit_list_events looks at per request, matching or not: a request stays bounded. */
export const EVENTS_SCAN_MAX = 20_000;
/** Events read from the store per round trip while scanning. */
const EVENTS_READ_PAGE = 1_000;
/** Events one audit_verify_stream request checks before answering with a cursor to go on. */
export const VERIFY_EVENTS_PER_REQUEST_MAX = 100_000;
const TYPES_MAX = 20;

function notFoundStream(): LedgerlineError {
  return new LedgerlineError('NOT_FOUND', 'No such stream.');
}

export const auditReadStream = defineQuery({
  name: 'audit_read_stream',
  title: 'Read a stream with its envelopes',
  description:
    'The events of one stream, in revision order, with their full envelope (actor, channel, correlation, hash chain), a page at a time: follow nextCursor until it is null. Reads the caller’s organization, or with grantId the organization that gave that audit grant. A stream of any other organization answers as missing.',
  params: z
    .strictObject({
      stream: z.string().min(1).max(256),
      fromRevision: z.coerce.number().int().min(0).optional(),
      grantId: grantParam,
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
  mcp: { tool: true, resource: { uri: 'audit://streams/{stream}', name: 'Audit stream' } },
  async run(params, context) {
    const target = await resolveAuditTarget(
      context.services,
      context.principal,
      params.grantId,
      'audit:read',
      'audit_read_stream',
      params.stream,
      context.now,
    );
    const parsed = parseStreamName(params.stream);
    // Another organization's stream is indistinguishable from one that does not exist.
    if (!parsed || parsed.scope !== target.orgId) throw notFoundStream();
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
      throw notFoundStream();
    const page = events.slice(0, params.limit);
    const next = events.length > params.limit ? ((page.at(-1)?.revision ?? 0n) + 1n).toString() : null;
    return {
      stream: params.stream,
      events: page.map(toEnvelope),
      nextCursor: next === null ? null : s.encodeCursor(next),
      nextRevision: next,
    };
  },
});

const brokenLink = z.object({
  stream: z.string(),
  revision: z.string(),
  reason: z.enum(['content_changed', 'chain_broken', 'revision_gap', 'head_mismatch']),
  expectedHash: z.string(),
  foundHash: z.string(),
});

export const auditVerifyStream = defineQuery({
  name: 'audit_verify_stream',
  title: 'Verify hash chains',
  description: `Recomputes the SHA-256 hash chain of one stream (give stream) or of every stream of the organization (omit it), and reports how many events were checked and the first broken link: the stream, the revision where the chain fails, why (content_changed: an event was edited; chain_broken or revision_gap: an event was deleted or moved; head_mismatch: the newest events were removed), and the expected and found hashes. ok=true means every event checked is exactly as written. A whole organization is checked in stream-name order, at most ${VERIFY_EVENTS_PER_REQUEST_MAX.toLocaleString('en')} events per request: while nextCursor is not null, call again with it to go on. Read-only; reads the caller's organization, or with grantId the organization that gave that audit grant.`,
  params: z.strictObject({
    stream: z.string().min(1).max(256).optional(),
    grantId: grantParam,
    cursor: s.pageParams.cursor,
  }),
  result: z.object({
    orgId: z.string(),
    ok: z.boolean(),
    streamsChecked: z.number(),
    eventsChecked: z.number(),
    brokenLink: brokenLink.nullable(),
    nextCursor: z.string().nullable(),
  }),
  scope: 'audit:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/audit/verify' },
  mcp: { tool: true },
  async run(params, context) {
    if (params.stream !== undefined && params.cursor !== undefined)
      throw new ValidationError('cursor', 'continues a whole-organization verify; leave out stream');
    const target = await resolveAuditTarget(
      context.services,
      context.principal,
      params.grantId,
      'audit:read',
      'audit_verify_stream',
      params.stream ?? 'organization',
      context.now,
    );
    const store = context.services.store;
    if (params.stream !== undefined) {
      const parsed = parseStreamName(params.stream);
      if (!parsed || parsed.scope !== target.orgId) throw notFoundStream();
      const result = await store.verifyStream(params.stream);
      if (result.eventsChecked === 0 && result.ok) throw notFoundStream();
      return {
        orgId: target.orgId,
        ok: result.ok,
        streamsChecked: 1,
        eventsChecked: result.eventsChecked,
        brokenLink: result.ok
          ? null
          : { ...result.brokenLink, revision: result.brokenLink.revision.toString() },
        nextCursor: null,
      };
    }
    const after = s.decodeCursor(params.cursor);
    if (after !== null && !after.startsWith(orgStreamPrefix(target.orgId)))
      throw new ValidationError('cursor', 'is not a cursor this verify gave');
    const result = await verifyOrganization(store, target.orgId, {
      afterStream: after,
      eventsMax: VERIFY_EVENTS_PER_REQUEST_MAX,
      // MCP: progress notifications while it walks, and a cancelled call stops between streams.
      onProgress: ({ streamsChecked, eventsChecked }) => {
        if (context.signal?.aborted) throw new LedgerlineError('CANCELLED');
        context.progress?.(eventsChecked, null, `${streamsChecked} streams, ${eventsChecked} events checked`);
      },
    });
    return {
      orgId: target.orgId,
      ok: result.ok,
      streamsChecked: result.streamsChecked,
      eventsChecked: result.eventsChecked,
      brokenLink: result.brokenLink
        ? { ...result.brokenLink, revision: result.brokenLink.revision.toString() }
        : null,
      nextCursor: result.nextStream === null ? null : s.encodeCursor(result.nextStream),
    };
  },
});

const CHANNELS = ['rest', 'mcp', 'cli', 'callback', 'system'] as const;
const ACTOR_KINDS = ['member', 'api_key', 'system', 'provider'] as const;

export const auditListEvents = defineQuery({
  name: 'audit_list_events',
  title: 'List an organization’s events',
  description: `Every event of the organization in global order (the order they were committed), with its full envelope, filtered by type (comma-separated, up to ${TYPES_MAX}), actor (actorKind, actorId), channel, and time (occurredFrom inclusive, occurredTo exclusive, ISO 8601), starting after a position (after) when given. Paged: each request looks at no more than ${EVENTS_SCAN_MAX.toLocaleString('en')} events, so a page may hold fewer than limit events (even none) while nextCursor is not null; keep following nextCursor until it is null. Read-only; reads the caller's organization, or with grantId the organization that gave that audit grant.`,
  params: z
    .strictObject({
      type: z
        .string()
        .max(2_000)
        .optional()
        .describe('Event types, comma-separated, for example TransfersCreated,AccountOpened.'),
      actorKind: z.enum(ACTOR_KINDS).optional(),
      actorId: z.string().min(1).max(200).optional(),
      channel: z.enum(CHANNELS).optional(),
      occurredFrom: s.isoTime.optional(),
      occurredTo: s.isoTime.optional(),
      after: z
        .string()
        .max(45)
        .optional()
        .describe('A position ("<commit>-<prepare>"): only events after it.'),
      grantId: grantParam,
      ...s.pageParams,
    })
    .refine((params) => params.after === undefined || params.cursor === undefined, {
      message: 'give either after or cursor, not both',
      path: ['cursor'],
    }),
  result: z.object({ orgId: z.string(), items: z.array(envelope), nextCursor: z.string().nullable() }),
  scope: 'audit:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/audit/events' },
  async run(params, context) {
    const types =
      params.type === undefined
        ? undefined
        : params.type
            .split(',')
            .map((type) => type.trim())
            .filter((type) => type !== '');
    if (types !== undefined && (types.length === 0 || types.length > TYPES_MAX))
      throw new ValidationError('type', `must name 1 to ${TYPES_MAX} event types`);
    const cursor = s.decodeCursor(params.cursor);
    let from: Position = START;
    if (cursor !== null) from = parsePosition(cursor, 'cursor');
    else if (params.after !== undefined) from = parsePosition(params.after, 'after');
    const occurredFrom = params.occurredFrom === undefined ? null : new Date(params.occurredFrom).getTime();
    const occurredTo = params.occurredTo === undefined ? null : new Date(params.occurredTo).getTime();
    const target = await resolveAuditTarget(
      context.services,
      context.principal,
      params.grantId,
      'audit:read',
      'audit_list_events',
      'organization',
      context.now,
    );
    const matches = (event: Parameters<typeof toEnvelope>[0]): boolean => {
      const at = event.occurredAt.getTime();
      return (
        (params.actorKind === undefined || event.actor.kind === params.actorKind) &&
        (params.actorId === undefined || event.actor.id === params.actorId) &&
        (params.channel === undefined || event.channel.kind === params.channel) &&
        (occurredFrom === null || at >= occurredFrom) &&
        (occurredTo === null || at < occurredTo)
      );
    };
    const items: ReturnType<typeof toEnvelope>[] = [];
    let scanned = 0;
    let position = from;
    for (;;) {
      const page = await context.services.store.readAll({
        from: position,
        filter: { streamPrefix: orgStreamPrefix(target.orgId), ...(types ? { eventTypes: types } : {}) },
        maxCount: Math.min(EVENTS_READ_PAGE, EVENTS_SCAN_MAX - scanned),
      });
      for (const event of page.events) {
        scanned += 1;
        position = event.position;
        if (!matches(event)) continue;
        items.push(toEnvelope(event));
        // One more than the page shows says there is more; the cursor is the last shown.
        if (items.length > params.limit) {
          const shown = items.slice(0, params.limit);
          return {
            orgId: target.orgId,
            items: shown,
            nextCursor: s.encodeCursor(shown.at(-1)?.position ?? ''),
          };
        }
      }
      if (comparePositions(page.next, position) > 0) position = page.next;
      if (page.isEnd) return { orgId: target.orgId, items, nextCursor: null };
      if (scanned >= EVENTS_SCAN_MAX)
        return { orgId: target.orgId, items, nextCursor: s.encodeCursor(formatPosition(position)) };
    }
  },
});
