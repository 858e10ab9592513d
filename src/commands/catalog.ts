/**
 * The shape of the two catalogs. A command or query is defined once — name, description,
 * schemas, scope, role, annotations, REST route — and REST routes, MCP tools and OpenAPI are
 * generated from the definition, so the protocols cannot drift apart.
 */
import type { z } from 'zod';
import type { Position } from '../adapters/eventstore/port.js';
import type { MinimumRole, Scope } from '../domain/access.js';
import type { CommandContext, QueryContext } from './context.js';

export interface ToolAnnotations {
  readonly readOnlyHint?: boolean;
  readonly destructiveHint?: boolean;
  readonly idempotentHint?: boolean;
  readonly openWorldHint?: boolean;
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
