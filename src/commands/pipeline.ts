/**
 * The handler pipeline every command and query runs through, whatever the protocol:
 * validate → authorize (scope, role, organization status) → limit (rate, quota) → idempotency →
 * run → answer.
 */
import { roleAtLeast, SUPER_ADMIN } from '../domain/access.js';
import { isLedgerlineError, LedgerlineError } from '../domain/errors.js';
import { formatPosition } from '../adapters/eventstore/position.js';
import type { Position } from '../adapters/eventstore/port.js';
import type { AnyCommand, AnyQuery, Audience } from './catalog.js';
import type { CommandContext, QueryContext } from './context.js';
import { IdempotencyStore, requestHash } from './idempotency.js';
import { canonicalJson } from '../domain/canonicalJson.js';
import type { Principal } from './principal.js';
import { parseInput } from './validation.js';
import { watchIsolation } from './isolationWatch.js';

/** SPEC §3: a query waits at most this long for consistentWith. */
export const CONSISTENCY_WAIT_MAX_MS = 2_000;

export interface Answer {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
  /** True when the answer is a replay of an earlier request with the same idempotency key. */
  readonly replayed: boolean;
}

export function authorize(
  definition: {
    scope: AnyCommand['scope'];
    minRole: AnyCommand['minRole'];
    audience: Audience;
    name: string;
  },
  principal: Principal | null,
): asserts principal is Principal {
  if (definition.audience === 'public') return;
  if (!principal)
    throw new LedgerlineError(
      'UNAUTHENTICATED',
      'Send Authorization: Bearer with an API key or access token.',
    );
  if (definition.audience === 'platform' && principal.role !== SUPER_ADMIN) {
    throw new LedgerlineError('FORBIDDEN', `${definition.name} is for platform administrators.`);
  }
  if (!roleAtLeast(principal.role, definition.minRole)) {
    throw new LedgerlineError(
      'FORBIDDEN',
      `${definition.name} needs the ${definition.minRole} role or higher.`,
      {
        requiredRole: definition.minRole,
      },
    );
  }
  if (definition.scope !== null && !principal.scopes.includes(definition.scope)) {
    throw new LedgerlineError('FORBIDDEN', `${definition.name} needs the ${definition.scope} scope.`, {
      requiredScope: definition.scope,
    });
  }
}

async function assertOrganizationActive(context: CommandContext, principal: Principal): Promise<void> {
  if ((await context.services.credentials.organizationStatus(principal.orgId)) === 'suspended') {
    throw new LedgerlineError(
      'ORG_SUSPENDED',
      'The organization is suspended; its data can be read but nothing changed.',
    );
  }
}

function positionText(position: Position | null): string | null {
  return position ? formatPosition(position) : null;
}

export async function executeCommand(
  command: AnyCommand,
  rawInput: unknown,
  context: CommandContext,
): Promise<Answer> {
  // A public command's input (a login's password) is compared or hashed, never stored and never
  // fingerprinted (no idempotency key): whatever a member's password holds, they can log in.
  const input: unknown = parseInput(command.input, rawInput, 'input', command.audience !== 'public');
  const principal = context.principal;
  authorize(command, principal);
  // MCP never lists these; refusing here too keeps any other path from reaching them.
  if (command.restOnly && context.channel.kind === 'mcp') {
    throw new LedgerlineError('FORBIDDEN', `${command.name} is for people over REST, never for MCP clients.`);
  }
  if (command.audience === 'organization' && !command.allowWhenSuspended) {
    await assertOrganizationActive(context, principal);
  }
  // Public commands (log in, refresh) have no organization yet; the login limiter covers them.
  if (command.audience !== 'public') {
    await context.services.limits?.admit(principal.orgId, 'command', context.now);
  }
  const key = command.audience === 'public' ? null : context.idempotencyKey;
  const idempotency = key === null ? null : new IdempotencyStore(context.services.db);
  if (idempotency && key !== null) {
    const claim = await idempotency.claim(
      principal.orgId,
      key,
      command.name,
      // Keyed: inputs may hold secrets (a password, provider credentials).
      context.services.tokens.fingerprint('idempotency', `${command.name}\n${canonicalJson(input ?? null)}`),
      // Keys claimed before fingerprints were keyed, until they expire.
      requestHash(command.name, input),
    );
    if (claim.kind === 'replay')
      return { status: claim.status, body: claim.body as Record<string, unknown>, replayed: true };
  }
  try {
    const outcome = (await context.gate?.(command, input, context)) ?? (await command.run(input, context));
    const body = {
      ...(outcome.output as Record<string, unknown>),
      revision: outcome.revision === null ? null : outcome.revision.toString(),
      position: positionText(outcome.position),
    };
    const status = command.rest.status ?? 200;
    if (idempotency && key !== null) {
      const kept: Record<string, unknown> = { ...body };
      for (const field of command.secretOutput ?? []) if (field in kept) kept[field] = '[shown once]';
      await idempotency.complete(principal.orgId, key, status, kept);
    }
    return { status, body, replayed: false };
  } catch (error) {
    await watchIsolation(context.services, principal, command.name, input, error);
    if (idempotency && key !== null) {
      // A refusal is an answer too: replaying it keeps a retry from running the command later.
      if (isLedgerlineError(error) && error.status < 500) {
        await idempotency.complete(principal.orgId, key, error.status, errorBody(error, context.requestId));
      } else {
        await idempotency.abandon(principal.orgId, key);
      }
    }
    throw error;
  }
}

export function errorBody(error: LedgerlineError, requestId: string): Record<string, unknown> {
  return { error: { code: error.code, message: error.message, details: error.details, requestId } };
}

export async function runQuery(
  query: AnyQuery,
  rawParams: unknown,
  principal: Principal | null,
  context: Omit<QueryContext, 'principal'>,
  consistentWith: Position | null,
): Promise<unknown> {
  const params: unknown = parseInput(query.params, rawParams, 'params');
  authorize(query, principal);
  await context.services.limits?.admit(principal.orgId, 'request', context.now);
  if (consistentWith) {
    const reached = await context.services.consistency.waitFor(consistentWith, CONSISTENCY_WAIT_MAX_MS);
    if (!reached) {
      throw new LedgerlineError(
        'NOT_YET_CONSISTENT',
        'The read models did not reach that position within 2 seconds.',
        {
          consistentWith: formatPosition(consistentWith),
        },
      );
    }
  }
  try {
    return await query.run(params, { ...context, principal });
  } catch (error) {
    await watchIsolation(context.services, principal, query.name, params, error);
    throw error;
  }
}
