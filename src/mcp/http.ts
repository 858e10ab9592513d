/**
 * MCP over HTTP on the fastify app: Streamable HTTP at /mcp (sessions, resumable with
 * Last-Event-ID), and the legacy HTTP+SSE transport at /sse + /messages. Every request carries
 * `Authorization: Bearer` (API key or access token) and becomes the same Principal as REST,
 * handed to the session as authInfo; a session answers only the credential that opened it.
 */
/* eslint-disable @typescript-eslint/no-deprecated -- SSEServerTransport is the legacy HTTP+SSE
   transport, served on purpose at /sse + /messages for older clients (SPEC §8). */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { authenticate } from '../adapters/http/authenticate.js';
import type { Services } from '../commands/context.js';
import type { Principal } from '../commands/principal.js';
import { isLedgerlineError, LedgerlineError } from '../domain/errors.js';
import type { McpCatalog } from './catalog.js';
import { refuseOrigin, type OriginPolicy } from './originGuard.js';
import { SessionEventStore } from './resumableEvents.js';
import type { ChangeSource } from './changes.js';
import { createMcpSession, type Extra, type McpSession } from './server.js';

/** Open sessions per process (both transports); the idle ones go first when it is full. */
export const MCP_SESSIONS_MAX = 1_000;
/** A session nobody used for this long may be closed to make room. */
export const MCP_SESSION_IDLE_MS = 30 * 60 * 1000;

export const MCP_PATH = '/mcp';
export const SSE_PATH = '/sse';
export const MESSAGES_PATH = '/messages';

interface OpenSession {
  readonly session: McpSession;
  readonly actorId: string;
  readonly transport: StreamableHTTPServerTransport | SSEServerTransport;
  lastUsed: number;
}

export interface McpHttpOptions {
  readonly services: Services;
  readonly catalog: McpCatalog;
  readonly origins: OriginPolicy;
  /** Where resource subscriptions hear of changes (the event bus); the projector when absent. */
  readonly changes?: ChangeSource;
}

type AuthenticatedRequest = IncomingMessage & { auth?: AuthInfo };

function jsonRpcError(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.code(status).send({ jsonrpc: '2.0', error: { code, message }, id: null });
}

function principalFromExtra(extra: Extra): Promise<Principal> {
  const principal = extra.authInfo?.extra?.['principal'] as Principal | undefined;
  if (!principal) return Promise.reject(new LedgerlineError('UNAUTHENTICATED'));
  return Promise.resolve(principal);
}

export function registerMcpRoutes(app: FastifyInstance, options: McpHttpOptions): void {
  const { services, catalog } = options;
  const sessions = new Map<string, OpenSession>();

  const makeRoom = (): boolean => {
    if (sessions.size < MCP_SESSIONS_MAX) return true;
    const now = Date.now();
    for (const [id, open] of sessions) {
      if (now - open.lastUsed > MCP_SESSION_IDLE_MS) {
        sessions.delete(id);
        void open.transport.close();
      }
      if (sessions.size < MCP_SESSIONS_MAX) return true;
    }
    return false;
  };

  const newSession = (clientAddress: string): McpSession =>
    createMcpSession({
      services,
      catalog,
      principalOf: principalFromExtra,
      clientAddress,
      ...(options.changes ? { changes: options.changes } : {}),
    });

  /** Origin and Host, then the credential: null when the reply has been sent already. */
  const admit = async (request: FastifyRequest, reply: FastifyReply): Promise<Principal | null> => {
    const refused = refuseOrigin(options.origins, request.headers.origin, request.headers.host);
    if (refused) {
      await jsonRpcError(reply, 403, -32000, `Forbidden: ${refused}`);
      return null;
    }
    try {
      const principal = await authenticate(
        request.headers.authorization,
        services,
        { kind: 'mcp' },
        request.id,
      );
      if (principal) return principal;
    } catch (error) {
      if (!isLedgerlineError(error) || error.code !== 'UNAUTHENTICATED') throw error;
    }
    void reply.header(
      'www-authenticate',
      request.headers.authorization === undefined
        ? 'Bearer realm="ledgerline"'
        : 'Bearer realm="ledgerline", error="invalid_token"',
    );
    await jsonRpcError(reply, 401, -32001, 'Send Authorization: Bearer with an API key or access token.');
    return null;
  };

  const attach = (request: FastifyRequest, principal: Principal): AuthenticatedRequest => {
    const raw = request.raw as AuthenticatedRequest;
    // The credential itself stays out of authInfo: only who it is.
    raw.auth = {
      token: '',
      clientId: principal.actor.id,
      scopes: [...principal.scopes],
      extra: { principal },
    };
    return raw;
  };

  const sessionFor = (id: string | undefined, principal: Principal): OpenSession | null => {
    if (id === undefined) return null;
    const open = sessions.get(id);
    // Another credential's session answers exactly like one that does not exist.
    if (!open || open.actorId !== principal.actor.id) return null;
    open.lastUsed = Date.now();
    return open;
  };

  const streamable = async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> => {
    const principal = await admit(request, reply);
    if (!principal) return reply;
    const header = request.headers['mcp-session-id'];
    const sessionId = typeof header === 'string' ? header : undefined;
    let open = sessionFor(sessionId, principal);
    if (!open) {
      if (sessionId !== undefined) return jsonRpcError(reply, 404, -32001, 'Session not found');
      const body: unknown = request.body;
      const initializing =
        request.method === 'POST' &&
        (Array.isArray(body)
          ? body.some((message) => isInitializeRequest(message))
          : isInitializeRequest(body));
      if (!initializing)
        return jsonRpcError(reply, 400, -32000, 'Bad Request: no session; send initialize first');
      if (!makeRoom()) return jsonRpcError(reply, 503, -32000, 'Too many open MCP sessions; try again later');
      const session = newSession(request.ip);
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore: new SessionEventStore(),
        onsessioninitialized: (id) => {
          sessions.set(id, { session, actorId: principal.actor.id, transport, lastUsed: Date.now() });
        },
      });
      transport.onclose = () => {
        if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
        session.dispose();
      };
      await session.server.connect(transport);
      open = { session, actorId: principal.actor.id, transport, lastUsed: Date.now() };
    }
    const transport = open.transport;
    if (!(transport instanceof StreamableHTTPServerTransport)) {
      return jsonRpcError(reply, 400, -32000, 'This session uses the SSE transport; post to /messages');
    }
    reply.hijack();
    await transport.handleRequest(attach(request, principal), reply.raw, request.body);
    return undefined;
  };

  const routeOptions = { schema: { hide: true } };
  app.post(MCP_PATH, routeOptions, streamable);
  app.get(MCP_PATH, routeOptions, streamable);
  app.delete(MCP_PATH, routeOptions, streamable);

  app.get(SSE_PATH, routeOptions, async (request, reply) => {
    const principal = await admit(request, reply);
    if (!principal) return reply;
    if (!makeRoom()) return jsonRpcError(reply, 503, -32000, 'Too many open MCP sessions; try again later');
    reply.hijack();
    const transport = new SSEServerTransport(MESSAGES_PATH, reply.raw);
    const session = newSession(request.ip);
    sessions.set(transport.sessionId, {
      session,
      actorId: principal.actor.id,
      transport,
      lastUsed: Date.now(),
    });
    transport.onclose = () => {
      sessions.delete(transport.sessionId);
      session.dispose();
    };
    await session.server.connect(transport);
    return undefined;
  });

  app.post(MESSAGES_PATH, routeOptions, async (request, reply) => {
    const principal = await admit(request, reply);
    if (!principal) return reply;
    const id = (request.query as Record<string, unknown> | undefined)?.['sessionId'];
    const open = sessionFor(typeof id === 'string' ? id : undefined, principal);
    if (!open || !(open.transport instanceof SSEServerTransport)) {
      return jsonRpcError(reply, 404, -32001, 'Session not found');
    }
    reply.hijack();
    await open.transport.handlePostMessage(attach(request, principal), reply.raw, request.body);
    return undefined;
  });

  // Before the server stops listening: open SSE streams would otherwise hold it open.
  app.addHook('preClose', async () => {
    const open = [...sessions.values()];
    sessions.clear();
    await Promise.all(open.map((entry) => entry.transport.close().catch(() => undefined)));
  });
}
