/**
 * The live event feed of the caller's organization: `GET /v1/events` (Server-Sent Events) and
 * `/v1/ws` (WebSocket), the same content on both. Authentication as on every route (Bearer API
 * key or access token); the scope is `audit:read`, because the feed is the audit trail as it
 * happens (every event type, every actor). The organization comes from the credential only.
 *
 * Parameters (query string): `types` (comma list of event types), `categories` (comma list of
 * stream categories: `ledger`, `organization`, …), `lastEventId` (a global position; the
 * `Last-Event-ID` header, which EventSource sends on reconnect, wins over it).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { authorize } from '../../commands/pipeline.js';
import type { Services } from '../../commands/context.js';
import type { Principal } from '../../commands/principal.js';
import { LedgerlineError, ValidationError, isLedgerlineError } from '../../domain/errors.js';
import type { BusEvent } from '../bus/busEvent.js';
import { parsePosition } from '../eventstore/position.js';
import type { FeedHub } from '../feed/hub.js';
import {
  FeedSession,
  type FeedCloseReason,
  type FeedSelection,
  type FeedSessionOptions,
  type FeedSink,
} from '../feed/session.js';
import { authenticate } from './authenticate.js';

/** Open feed connections a process serves, and one organization may hold. */
export const FEED_CONNECTIONS_MAX = 1_000;
export const FEED_CONNECTIONS_PER_ORG_MAX = 100;
/** At most this many types or categories in one filter, each at most this long. */
const FILTER_ITEMS_MAX = 50;
const FILTER_NAME = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;
/** A WebSocket whose unsent data passes this is treated like a full socket buffer. */
const WS_BUFFERED_BYTES_HIGH = 64 * 1024;
/** Messages from the client are not expected; anything larger than this closes it. */
const WS_MESSAGE_BYTES_MAX = 1024;
/** EventSource reconnects this long after a dropped connection. */
const SSE_RETRY_MS = 2_000;

const FEED_DEFINITION = {
  scope: 'audit:read',
  minRole: 'any',
  audience: 'organization',
  name: 'stream_events',
} as const;

export interface LiveFeedOptions extends FeedSessionOptions {
  readonly hub: FeedHub;
}

function filterList(value: unknown, field: string): ReadonlySet<string> | null {
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string') throw new ValidationError(field, 'must be given once, as a comma list');
  const items = value.split(',').map((item) => item.trim());
  if (items.length > FILTER_ITEMS_MAX) throw new ValidationError(field, `at most ${FILTER_ITEMS_MAX} names`);
  for (const item of items) {
    if (!FILTER_NAME.test(item)) throw new ValidationError(field, `"${item.slice(0, 100)}" is not a name`);
  }
  return new Set(items);
}

function selectionOf(principal: Principal, query: Record<string, unknown>, header: unknown): FeedSelection {
  const known = new Set(['types', 'categories', 'lastEventId']);
  for (const name of Object.keys(query)) {
    if (!known.has(name)) throw new ValidationError(name, 'is not a parameter of the event feed');
  }
  const fromHeader = typeof header === 'string' && header !== '' ? header : undefined;
  const last = fromHeader ?? query['lastEventId'];
  if (last !== undefined && typeof last !== 'string')
    throw new ValidationError('lastEventId', 'must be given once');
  return {
    orgId: principal.orgId,
    types: filterList(query['types'], 'types'),
    categories: filterList(query['categories'], 'categories'),
    after:
      last === undefined || last === ''
        ? null
        : parsePosition(last, fromHeader ? 'Last-Event-ID' : 'lastEventId'),
  };
}

export function registerLiveFeed(app: FastifyInstance, services: Services, options: LiveFeedOptions): void {
  const sessions = new Set<FeedSession>();
  const perOrg = new Map<string, number>();

  async function admit(authorization: string | undefined, requestId: string): Promise<Principal> {
    const principal = await authenticate(authorization, services, { kind: 'rest' }, requestId);
    authorize(FEED_DEFINITION, principal);
    // Opening a feed is one request against the organization's rate limits.
    await services.limits?.admit(principal.orgId, 'request', services.clock());
    if (
      sessions.size >= FEED_CONNECTIONS_MAX ||
      (perOrg.get(principal.orgId) ?? 0) >= FEED_CONNECTIONS_PER_ORG_MAX
    ) {
      throw new LedgerlineError('RATE_LIMITED', 'Too many live feed connections are open.', {
        retryAfterSeconds: 5,
      });
    }
    return principal;
  }

  /** Starts a session; the returned function releases it when the transport closes. */
  function open(principal: Principal, selection: FeedSelection, sink: FeedSink): () => void {
    const session = new FeedSession(services.store, options.hub, selection, sink, options);
    sessions.add(session);
    perOrg.set(principal.orgId, (perOrg.get(principal.orgId) ?? 0) + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      session.end();
      sessions.delete(session);
      const left = (perOrg.get(principal.orgId) ?? 1) - 1;
      if (left <= 0) perOrg.delete(principal.orgId);
      else perOrg.set(principal.orgId, left);
    };
    session.start().catch((error: unknown) => {
      services.log.warn(
        { error: error instanceof Error ? error.message : String(error) },
        'live feed failed',
      );
      session.close('server_shutdown');
    });
    return release;
  }

  app.get(
    '/v1/events',
    {
      schema: {
        // Not a catalog operation (the OpenAPI document holds exactly those); README documents it.
        hide: true,
        operationId: 'stream_events',
        summary: 'Live event feed (Server-Sent Events)',
        description:
          'The organization’s events as they are committed, as Server-Sent Events: `id` is the event’s global position, `data` its envelope (secrets redacted). Resume with `Last-Event-ID` (or `lastEventId`): the events after it are replayed first. Filter with `types` and `categories` (comma lists). Comment lines are heartbeats. Needs the audit:read scope.',
        tags: ['events'],
        security: [{ bearer: [] }],
        querystring: {
          type: 'object',
          properties: {
            types: { type: 'string', description: 'Comma list of event types.' },
            categories: { type: 'string', description: 'Comma list of stream categories.' },
            lastEventId: { type: 'string', description: 'Resume after this position.' },
          },
        },
      },
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const principal = await admit(request.headers.authorization, request.id);
      const selection = selectionOf(
        principal,
        (request.query ?? {}) as Record<string, unknown>,
        request.headers['last-event-id'],
      );
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      raw.write(`retry: ${SSE_RETRY_MS}\n\n`);
      let closed = false;
      const sink: FeedSink = {
        write: (event) => raw.write(sseEvent(event)),
        heartbeat: () => {
          if (!closed) raw.write(': heartbeat\n\n');
        },
        drained: () =>
          new Promise((resolve) => {
            if (closed) {
              resolve();
              return;
            }
            raw.once('drain', resolve);
            raw.once('close', resolve);
          }),
        close: (reason: FeedCloseReason) => {
          if (closed) return;
          closed = true;
          raw.end(`event: close\ndata: ${JSON.stringify(reason)}\n\n`);
        },
      };
      const release = open(principal, selection, sink);
      raw.on('close', () => {
        closed = true;
        release();
      });
    },
  );

  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MESSAGE_BYTES_MAX });
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/v1/ws') {
      // Another upgrade handler may own this path; with none, nobody would ever answer it.
      if (app.server.listenerCount('upgrade') === 1) socket.destroy();
      return;
    }
    const requestId = `req_${randomUUID().replaceAll('-', '')}`;
    void (async () => {
      let principal: Principal;
      let selection: FeedSelection;
      try {
        principal = await admit(request.headers.authorization, requestId);
        selection = selectionOf(
          principal,
          Object.fromEntries(url.searchParams),
          request.headers['last-event-id'],
        );
      } catch (error) {
        refuseUpgrade(socket, error, requestId);
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
        let pendingSend: Promise<void> = Promise.resolve();
        const sink: FeedSink = {
          write: (event) => {
            pendingSend = new Promise((resolve) => {
              ws.send(JSON.stringify({ id: event.position, event }), () => {
                resolve();
              });
            });
            return ws.bufferedAmount < WS_BUFFERED_BYTES_HIGH;
          },
          heartbeat: () => {
            if (ws.readyState === ws.OPEN) ws.ping();
          },
          drained: () => pendingSend,
          close: (reason) => {
            ws.close(reason.code === 'server_shutdown' ? 1001 : 1008, reason.code);
          },
        };
        const release = open(principal, selection, sink);
        ws.on('close', release);
        ws.on('error', release);
        // The feed is one-way: anything the client sends is ignored.
        ws.on('message', () => undefined);
      });
    })();
  });

  app.get('/v1/ws', { schema: { hide: true } }, (request, reply) => {
    return reply
      .code(426)
      .header('upgrade', 'websocket')
      .send({
        error: {
          code: 'VALIDATION_FAILED',
          message: '/v1/ws is a WebSocket endpoint: connect with Upgrade: websocket.',
          details: {},
          requestId: request.id,
        },
      });
  });

  // Open feeds would keep the server from closing: end them first, telling clients why.
  app.addHook('preClose', (done) => {
    for (const session of [...sessions]) session.close('server_shutdown');
    for (const client of wss.clients) client.terminate();
    wss.close();
    done();
  });
}

function sseEvent(event: BusEvent): string {
  // JSON.stringify never emits a raw newline, so the event is one data line.
  return `id: ${event.position}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** An HTTP answer on the raw socket, in the registry's envelope, before any upgrade. */
function refuseUpgrade(socket: Duplex, error: unknown, requestId: string): void {
  const known = isLedgerlineError(error) ? error : null;
  const status = known?.status ?? 500;
  const body = JSON.stringify({
    error: {
      code: known?.code ?? 'INTERNAL',
      message: known?.message ?? 'An internal error occurred.',
      details: known?.details ?? {},
      requestId,
    },
  });
  const retryAfter = known?.details['retryAfterSeconds'];
  const lines = [
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Refused'}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    `x-request-id: ${requestId}`,
    ...(typeof retryAfter === 'number' ? [`retry-after: ${retryAfter}`] : []),
    ...(status === 401 ? ['www-authenticate: Bearer realm="ledgerline", error="invalid_token"'] : []),
    'connection: close',
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
