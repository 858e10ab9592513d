/**
 * The shape of the two catalogs. A command or query is defined once — name, description,
 * schemas, scope, role, annotations, REST route — and REST routes, MCP tools and OpenAPI are
 * generated from the definition, so the protocols cannot drift apart.
 */
import type { z } from 'zod';
import type { Position } from '../adapters/eventstore/port.js';
import type { MinimumRole, Scope } from '../domain/access.js';
import type { ApprovalKind } from '../domain/approvals/policy.js';
import type { CommandContext, QueryContext } from './context.js';

export interface ToolAnnotations {
  readonly readOnlyHint?: boolean;
  readonly destructiveHint?: boolean;
  readonly idempotentHint?: boolean;
  readonly openWorldHint?: boolean;
}

/**
 * What the approval policy (SPEC §6) weighs for a command arriving over MCP: its kind, and
 * the money it would move as far as its input says (the gate looks up the asset of an account
 * and the amount of a transfer named by id).
 */
export interface ApprovalSubject<Input> {
  readonly kind: ApprovalKind;
  readonly moves?: (input: Input) => readonly {
    readonly amount: string | null;
    readonly asset?: string | null;
    readonly account?: string;
    readonly transferId?: string;
  }[];
}

/** How a query appears over MCP (SPEC §8). */
export interface McpQueryOptions {
  /** Also a read-only tool, named as the query. */
  readonly tool?: boolean;
  /** A resource template; each `{var}` fills the param `vars[var]` (or the param of that name). */
  readonly resource?: McpResourceOptions;
}

export interface McpResourceOptions {
  readonly uri: string;
  readonly name: string;
  readonly vars?: Readonly<Record<string, string>>;
  /**
   * resources/subscribe: when an event of these categories commits for the organization, a
   * subscribed resource is read again and `notifications/resources/updated` sent if it changed.
   */
  readonly subscribe?: { readonly categories: readonly string[] };
  /** resources/list: a list query (paged by cursor) and, for each item, its params and title. */
  readonly list?: {
    readonly query: string;
    params(item: Record<string, unknown>): Readonly<Record<string, string>>;
    title(item: Record<string, unknown>): string;
  };
}

export type HttpMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Who may run an operation beyond scope and role. */
export type Audience =
  /** Members and keys of an organization, on their own organization. */
  | 'organization'
  /** Super admins only, naming the target organization in the input. */
  | 'platform'
  /** No credential: the operation authenticates by its own input (log in, refresh). */
  | 'public';

export interface CommandOutcome<Output> {
  readonly output: Output;
  /** The stream written (or read, when nothing changed). */
  readonly stream: string | null;
  readonly revision: bigint | null;
  /** The global position of the last event written; pass it as consistentWith. */
  readonly position: Position | null;
}

export interface CommandDefinition<Input = unknown, Output = unknown> {
  readonly kind: 'command';
  /** The MCP tool name and the OpenAPI operationId. */
  readonly name: string;
  readonly title: string;
  /** Written for a model as much as a person: what it does, what it costs, when not to use it. */
  readonly description: string;
  readonly input: z.ZodType<Input>;
  readonly output: z.ZodType<Output>;
  readonly scope: Scope | null;
  readonly minRole: MinimumRole;
  readonly audience: Audience;
  /** Suspended organizations may still run this (logging out, for one). */
  readonly allowWhenSuspended?: boolean;
  /** Output fields holding a secret shown once: never kept in a stored answer (idempotency). */
  readonly secretOutput?: readonly string[];
  readonly annotations: ToolAnnotations;
  /** Moves money (MCP: destructiveHint). */
  readonly movesMoney?: boolean;
  /** Calls an outside provider (MCP: openWorldHint). */
  readonly callsProvider?: boolean;
  /** Never an MCP tool, whatever the caller's scopes (approving is for people, SPEC §6). */
  readonly restOnly?: boolean;
  /** Subject to the organization's approval policy when it arrives over MCP. */
  readonly approval?: ApprovalSubject<Input>;
  readonly rest: { readonly method: HttpMethod; readonly path: string; readonly status?: 200 | 201 };
  run(input: Input, context: CommandContext): Promise<CommandOutcome<Output>>;
}

export interface QueryDefinition<Params = unknown, Result = unknown> {
  readonly kind: 'query';
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly params: z.ZodType<Params>;
  readonly result: z.ZodType<Result>;
  readonly scope: Scope | null;
  readonly minRole: MinimumRole;
  readonly audience: Exclude<Audience, 'public'>;
  readonly rest: { readonly path: string };
  readonly mcp?: McpQueryOptions;
  run(params: Params, context: QueryContext): Promise<Result>;
}

/** Keeps each definition's own types while collecting them into one list. */
export function defineCommand<Input, Output>(
  definition: Omit<CommandDefinition<Input, Output>, 'kind'>,
): CommandDefinition<Input, Output> {
  return { kind: 'command', ...definition };
}

export function defineQuery<Params, Result>(
  definition: Omit<QueryDefinition<Params, Result>, 'kind'>,
): QueryDefinition<Params, Result> {
  return { kind: 'query', ...definition };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the catalog holds every definition, each with its own types
export type AnyCommand = CommandDefinition<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- likewise for queries
export type AnyQuery = QueryDefinition<any, any>;
