/**
 * One MCP session's server: tools, resources, resource subscriptions and prompts, all from the
 * catalogs, every call through the same pipeline as REST (channel `mcp`, with the client's
 * name and version from `initialize` in each event's envelope).
 */
import { randomUUID } from 'node:crypto';
/* eslint-disable @typescript-eslint/no-deprecated -- the low-level Server on purpose: tools and
   resources here are generated from the catalogs and listed per credential, with JSON schemas as
   the catalog makes them, which the high-level McpServer cannot do. */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type Resource,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { Channel } from '../adapters/eventstore/port.js';
import { approvalGate } from '../commands/approvals/gate.js';
import type { AnyQuery } from '../commands/catalog.js';
import type { ProgressReporter, Services } from '../commands/context.js';
import { CONSISTENCY_WAIT_MAX_MS, executeCommand, runQuery } from '../commands/pipeline.js';
import type { Principal } from '../commands/principal.js';
import { parseInput } from '../commands/validation.js';
import { LedgerlineError, ValidationError } from '../domain/errors.js';
import { parsePosition } from '../adapters/eventstore/position.js';
import { allowed, toolAllowed, type McpCatalog } from './catalog.js';
import { asLedgerlineError, RESOURCE_NOT_FOUND, resourceError, toolError } from './errors.js';
import { getPrompt, listPrompts } from './prompts.js';
import { expandTemplate, matchResource, type ResourceTemplateSpec } from './resourceTemplates.js';
import { SessionState, SUBSCRIPTIONS_PER_SESSION_MAX } from './session.js';
import { idempotencyKeyArgument, splitArguments } from './toolSpecs.js';
import { committedChanges, type ChangeSource } from './changes.js';

export const SERVER_NAME = 'ledgerline';
export const SERVER_VERSION = '0.1.0';
/** Resources per resources/list page. */
export const RESOURCE_PAGE_SIZE = 50;
/** A client name or version longer than this is cut before it reaches an event envelope. */
const CLIENT_INFO_LENGTH_MAX = 100;

export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface McpSessionOptions {
  readonly services: Services;
  readonly catalog: McpCatalog;
  /** Who calls, per request: HTTP takes it from the request's authInfo, stdio from its key. */
  readonly principalOf: (extra: Extra) => Promise<Principal>;
  /** For rate limits and logs. */
  readonly clientAddress: string;
  /** Where subscriptions hear of changes; this process's projector when absent. */
  readonly changes?: ChangeSource;
}

export interface McpSession {
  readonly server: Server;
  readonly state: SessionState;
  /** Stops watching for resource changes (the transport closes itself). */
  dispose(): void;
}

const INSTRUCTIONS_BASE = `ledgerline: a multi-tenant, event-sourced ledger. Your credential decides your organization and what you may do; the tools listed are exactly the ones you may call. Every change is an event with you (and this client) recorded as its actor and channel. Amounts are decimal strings, never numbers. Pass idempotency_key on changes so retries are safe. A "pending_approval" answer means a human must approve over REST first; follow it with get_approval.`;

/** The server's instructions, with every resource the catalog serves (so they never drift). */
function instructionsFor(catalog: McpCatalog): string {
  const resources = catalog.templates.map(
    (template) =>
      `${template.options.uri}${template.options.subscribe === undefined ? '' : ' (subscribe for updates)'}`,
  );
  return `${INSTRUCTIONS_BASE} Resources: ${resources.join(', ')}.`;
}

function newRequestId(): string {
  return `mcp_${randomUUID().replaceAll('-', '')}`;
}

function cut(value: string | undefined): string | null {
  return value === undefined ? null : value.slice(0, CLIENT_INFO_LENGTH_MAX);
}

/** Progress notifications that only ever go forwards (the protocol asks for that). */
function progressOf(extra: Extra): { report: ProgressReporter; last(): number } | null {
  const token = extra._meta?.progressToken;
  if (token === undefined) return null;
  let last = -1;
  return {
    report(done, total, message) {
      if (done <= last) return;
      last = done;
      void extra
        .sendNotification({
          method: 'notifications/progress',
          params: {
            progressToken: token,
            progress: done,
            ...(total === null ? {} : { total }),
            ...(message === undefined ? {} : { message }),
          },
        })
        .catch(() => undefined);
    },
    last: () => last,
  };
}

/** A subscription re-read refused for a passing reason is tried again after this long at most… */
const RECHECK_RETRY_MS_MAX = 60_000;
/** …and after this long when the refusal does not say when to retry. */
const RECHECK_RETRY_MS_DEFAULT = 5_000;

/** When a refused re-read may succeed: the refusal's retryAfterSeconds, or a default. */
function retryDelayMs(error: unknown): number {
  const details = (error instanceof McpError ? error.data : undefined) as
    { details?: { retryAfterSeconds?: unknown } } | undefined;
  const seconds = details?.details?.retryAfterSeconds;
  return typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : RECHECK_RETRY_MS_DEFAULT;
}

function cancelled(signal: AbortSignal): void {
  if (signal.aborted)
    throw new LedgerlineError('CANCELLED', 'The call was cancelled before anything was written.');
}

interface ListCursor {
  /** 0: the plain resources; n > 0: the n-th listable template's instances. */
  readonly source: number;
  readonly inner: string | null;
}

function encodeListCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.source, cursor.inner]), 'utf8').toString('base64url');
}

function decodeListCursor(cursor: string | undefined, sources: number): ListCursor {
  if (cursor === undefined) return { source: 0, inner: null };
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      Number.isInteger(parsed[0]) &&
      (parsed[0] as number) >= 0 &&
      (parsed[0] as number) < sources &&
      (parsed[1] === null || typeof parsed[1] === 'string')
    ) {
      return { source: parsed[0] as number, inner: parsed[1] as string | null };
    }
  } catch {
    // Fall through: not a cursor this server gave.
  }
  throw new McpError(ErrorCode.InvalidParams, 'cursor: is not a cursor this server gave');
}

export function createMcpSession(options: McpSessionOptions): McpSession {
  const { services, catalog } = options;
  const state = new SessionState();
  const server = new Server(
    { name: SERVER_NAME, version: SERVER_VERSION, title: 'ledgerline' },
    {
      capabilities: {
        tools: { listChanged: false },
        resources: { subscribe: true, listChanged: false },
        prompts: { listChanged: false },
      },
      instructions: instructionsFor(catalog),
    },
  );

  const channel = (): Channel => {
    const client = server.getClientVersion();
    return { kind: 'mcp', clientName: cut(client?.name), clientVersion: cut(client?.version) };
  };

  const principalFor = async (extra: Extra, requestId: string): Promise<Principal> => {
    const principal = await options.principalOf(extra);
    return { ...principal, channel: channel(), requestId };
  };

  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => {
    const principal = await principalFor(extra, newRequestId());
    return {
      tools: catalog.tools
        .filter((tool) => toolAllowed(tool, principal))
        .map((tool) => ({
          name: tool.name,
          title: tool.title,
          description: tool.description,
          inputSchema: tool.inputSchema,
          outputSchema: tool.outputSchema,
          annotations: tool.annotations,
        })),
    };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const requestId = newRequestId();
    const principal = await principalFor(extra, requestId);
    const tool = catalog.toolsByName.get(request.params.name);
    // A tool outside the credential's rights is not listed, and a call to it is a call to no tool.
    if (!tool || !toolAllowed(tool, principal)) {
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name.slice(0, 100)}`);
    }
    const progress = progressOf(extra);
    const now = services.clock();
    try {
      const { input, idempotencyKey } = splitArguments(request.params.arguments);
      progress?.report(0, null, `${tool.name}: checking the arguments`);
      cancelled(extra.signal);
      let body: Readonly<Record<string, unknown>>;
      if (tool.definition.kind === 'command') {
        const key = parseInput(idempotencyKeyArgument, idempotencyKey, 'idempotency_key') ?? null;
        const answer = await executeCommand(tool.definition.command, input, {
          principal,
          services,
          now,
          requestId,
          idempotencyKey: tool.definition.command.audience === 'public' ? null : key,
          clientAddress: options.clientAddress,
          channel: principal.channel,
          gate: approvalGate,
          ...(progress ? { progress: progress.report } : {}),
          signal: extra.signal,
        });
        body = answer.body;
        state.remember(body['position']);
        if (progress) {
          const written = body['position'];
          progress.report(progress.last() + 1, null, `written at position ${String(written)}`);
          if (typeof written === 'string') {
            await services.consistency.waitFor(parsePosition(written), CONSISTENCY_WAIT_MAX_MS);
          }
          const done = progress.last() + 1;
          progress.report(done, done, 'done: the read models reflect it');
        }
      } else {
        if (idempotencyKey !== undefined)
          throw new ValidationError('idempotency_key', 'is for changes; this tool only reads');
        body = (await runQuery(
          tool.definition.query,
          input,
          principal,
          { services, now, ...(progress ? { progress: progress.report } : {}), signal: extra.signal },
          state.position,
        )) as Record<string, unknown>;
        if (progress) {
          const done = progress.last() + 1;
          progress.report(done, done, 'done');
        }
      }
      return { content: [{ type: 'text', text: JSON.stringify(body) }], structuredContent: { ...body } };
    } catch (error) {
      const failure = asLedgerlineError(error);
      if (failure.code === 'INTERNAL')
        services.log.error({ err: error, tool: tool.name, requestId }, 'MCP tool failed');
      return toolError(failure, requestId);
    } finally {
      // The SDK drops the answer to a cancelled call, so the log is where its end is seen.
      if (extra.signal.aborted)
        services.log.info({ tool: tool.name, requestId }, 'MCP tool call cancelled by the client');
    }
  });

  const templateAllowed = (template: ResourceTemplateSpec, principal: Principal): boolean =>
    allowed(template.query, principal);

  const readResource = async (uri: string, principal: Principal): Promise<unknown> => {
    const matched = matchResource(catalog.templates, uri);
    if (!matched || !templateAllowed(matched.template, principal)) {
      throw new McpError(RESOURCE_NOT_FOUND, `No resource ${uri.slice(0, 200)}`);
    }
    try {
      return await runQuery(
        matched.template.query,
        matched.params,
        principal,
        { services, now: services.clock() },
        state.position,
      );
    } catch (error) {
      throw resourceError(asLedgerlineError(error), principal.requestId);
    }
  };

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const principal = await principalFor(extra, newRequestId());
    const result = await readResource(request.params.uri, principal);
    return {
      contents: [{ uri: request.params.uri, mimeType: 'application/json', text: JSON.stringify(result) }],
    };
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, async (_request, extra) => {
    const principal = await principalFor(extra, newRequestId());
    return {
      resourceTemplates: catalog.templates
        .filter((template) => !template.static && templateAllowed(template, principal))
        .map((template) => ({
          uriTemplate: template.options.uri,
          name: template.options.name,
          title: template.query.title,
          description: template.query.description,
          mimeType: 'application/json',
        })),
    };
  });

  server.setRequestHandler(ListResourcesRequestSchema, async (request, extra) => {
    const principal = await principalFor(extra, newRequestId());
    const listable = catalog.templates.filter(
      (template) => template.options.list && templateAllowed(template, principal),
    );
    const sources = listable.length + 1;
    let cursor = decodeListCursor(request.params?.cursor, sources);
    const resources: Resource[] = [];
    // Each round reads one page of one source; an empty source moves to the next, so this ends.
    for (let round = 0; round <= sources; round += 1) {
      if (cursor.source === 0) {
        for (const template of catalog.templates) {
          if (template.static && templateAllowed(template, principal)) {
            resources.push({
              uri: template.options.uri,
              name: template.options.name,
              title: template.query.title,
              description: template.query.description,
              mimeType: 'application/json',
            });
          }
        }
        if (sources === 1) return { resources };
        cursor = { source: 1, inner: null };
        if (resources.length > 0) return { resources, nextCursor: encodeListCursor(cursor) };
        continue;
      }
      const template = listable[cursor.source - 1];
      const list = template?.options.list;
      const listQuery = list ? catalog.queriesByName.get(list.query) : undefined;
      let next: string | null = null;
      if (template && list && listQuery && allowed(listQuery, principal)) {
        const page = (await runQuery(
          listQuery,
          { limit: RESOURCE_PAGE_SIZE, ...(cursor.inner === null ? {} : { cursor: cursor.inner }) },
          principal,
          { services, now: services.clock() },
          state.position,
        ).catch((error: unknown) => {
          throw resourceError(asLedgerlineError(error), principal.requestId);
        })) as { items: Record<string, unknown>[]; nextCursor: string | null };
        for (const item of page.items) {
          resources.push({
            uri: expandTemplate(template, list.params(item)),
            name: template.options.name,
            title: list.title(item),
            mimeType: 'application/json',
          });
        }
        next = page.nextCursor;
      }
      if (next !== null) cursor = { source: cursor.source, inner: next };
      else if (cursor.source + 1 < sources) cursor = { source: cursor.source + 1, inner: null };
      else return { resources };
      if (resources.length > 0) return { resources, nextCursor: encodeListCursor(cursor) };
    }
    return { resources };
  });

  // Subscriptions: re-read a subscribed resource when its organization commits an event of a
  // category it watches, and tell the client only when what it would read has changed.
  let watchedOrg: string | null = null;
  let subscriber: Principal | null = null;
  const pending: { again: boolean; running: Promise<void> | null } = { again: false, running: null };
  let retry: ReturnType<typeof setTimeout> | null = null;
  const recheck = async (): Promise<void> => {
    const principal = subscriber;
    if (!principal) return;
    let retryAfterMs: number | null = null;
    for (const [uri, before] of [...state.subscriptions]) {
      let now: string;
      try {
        now = JSON.stringify(await readResource(uri, principal));
      } catch (error) {
        if (error instanceof McpError && error.code === RESOURCE_NOT_FOUND) {
          now = JSON.stringify({ error: 'NOT_FOUND' });
        } else {
          // A passing refusal (the organization's rate limit, the store away) says nothing about
          // the resource: no notification now, and one more re-read once it may succeed.
          retryAfterMs = Math.min(retryAfterMs ?? RECHECK_RETRY_MS_MAX, retryDelayMs(error));
          continue;
        }
      }
      if (now !== before && state.subscriptions.has(uri)) {
        state.subscriptions.set(uri, now);
        await server.sendResourceUpdated({ uri }).catch(() => undefined);
      }
    }
    if (retryAfterMs !== null && retry === null) {
      services.log.info({ retryAfterMs }, 'MCP subscription re-read refused; it is tried again later');
      retry = setTimeout(() => {
        retry = null;
        onChange([...watchedCategories()]);
      }, retryAfterMs);
      retry.unref();
    }
  };
  const watchedCategories = (): Set<string> => {
    const categories = new Set<string>();
    for (const uri of state.subscriptions.keys()) {
      for (const category of matchResource(catalog.templates, uri)?.template.options.subscribe?.categories ??
        []) {
        categories.add(category);
      }
    }
    return categories;
  };
  const onChange = (changed: readonly string[]): void => {
    if (state.subscriptions.size === 0) return;
    const categories = watchedCategories();
    if (!changed.some((category) => categories.has(category))) return;
    if (pending.running) {
      pending.again = true;
      return;
    }
    const wantsMore = (): boolean => pending.again;
    const run = async (): Promise<void> => {
      // Commits that arrive while a recheck runs ask for one more; the flag is set from outside.
      for (let more = true; more;) {
        pending.again = false;
        await recheck();
        more = wantsMore();
      }
    };
    pending.running = run()
      .catch((error: unknown) => {
        services.log.warn({ err: error }, 'MCP subscription recheck failed');
      })
      .finally(() => {
        pending.running = null;
      });
  };
  const changes = options.changes ?? (services.committed ? committedChanges(services.committed) : null);
  let stopWatching: (() => void) | null = null;

  server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
    const principal = await principalFor(extra, newRequestId());
    const uri = request.params.uri;
    const matched = matchResource(catalog.templates, uri);
    if (!matched?.template.options.subscribe) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Resource ${uri.slice(0, 200)} does not support subscriptions`,
      );
    }
    const current = await readResource(uri, principal);
    if (!state.subscriptions.has(uri) && state.subscriptions.size >= SUBSCRIPTIONS_PER_SESSION_MAX) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `A session holds at most ${SUBSCRIPTIONS_PER_SESSION_MAX} subscriptions`,
      );
    }
    state.subscriptions.set(uri, JSON.stringify(current));
    subscriber = principal;
    // One organization per session (its credential's): start listening with the first subscription.
    if (watchedOrg === null) {
      watchedOrg = principal.orgId;
      stopWatching = changes?.(principal.orgId, onChange) ?? null;
    }
    return {};
  });

  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    state.subscriptions.delete(request.params.uri);
    return {};
  });

  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: listPrompts() }));

  server.setRequestHandler(GetPromptRequestSchema, (request) => {
    const args = request.params.arguments ?? {};
    const spec = listPrompts().find((prompt) => prompt.name === request.params.name);
    if (!spec)
      throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${request.params.name.slice(0, 100)}`);
    for (const argument of spec.arguments ?? []) {
      if (argument.required && (args[argument.name] ?? '').trim() === '') {
        throw new McpError(ErrorCode.InvalidParams, `${argument.name}: is required for prompt ${spec.name}`);
      }
    }
    const prompt = getPrompt(request.params.name, args);
    if (!prompt)
      throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${request.params.name.slice(0, 100)}`);
    return prompt;
  });

  return {
    server,
    state,
    dispose() {
      stopWatching?.();
      if (retry !== null) clearTimeout(retry);
      state.subscriptions.clear();
    },
  };
}

/** The queries reachable as resources, for documentation and tests. */
export function resourceQueries(catalog: McpCatalog): AnyQuery[] {
  return catalog.templates.map((template) => template.query);
}
