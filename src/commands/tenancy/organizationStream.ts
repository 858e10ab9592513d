import { LedgerlineError } from '../../domain/errors.js';
import { streamName } from '../../domain/streamName.js';
import {
  decideOrganization,
  organizationDecider,
  type Actor,
  type OrganizationCommand,
  type OrganizationResult,
} from '../../domain/tenancy/organization.js';
import { executeOnStream } from '../aggregate.js';
import type { CommandOutcome } from '../catalog.js';
import type { CommandContext } from '../context.js';
import type { Principal } from '../principal.js';

export const organizationAggregate = organizationDecider;

export function organizationStream(orgId: string): string {
  return streamName(orgId, 'organization', orgId);
}

export function sessionStream(orgId: string, sessionId: string): string {
  return streamName(orgId, 'session', sessionId);
}

/** The acting member as the organization aggregate sees it. */
export function actorOf(principal: Principal): Actor {
  return { id: principal.memberId, role: principal.role, scopes: principal.scopes };
}

/** The caller of a command that needs one (every audience but public). */
export function callerOf(context: CommandContext): Principal {
  if (!context.principal) throw new LedgerlineError('UNAUTHENTICATED', 'Authentication is required.');
  return context.principal;
}

/**
 * The caller, who must be a person logged in (an access token): decisions an agent's API key
 * must never take (approving what it asked for, resolving what the books disagree on).
 */
export function personOnly(context: CommandContext, name: string): Principal {
  const principal = callerOf(context);
  if (principal.actor.kind !== 'member') {
    throw new LedgerlineError(
      'FORBIDDEN',
      `${name} is for a person logged in (an access token), not an API key.`,
    );
  }
  return principal;
}

/**
 * Decides `command` on an organization's stream (the caller's own unless `orgId` is given, for
 * platform commands) and appends what it decided.
 */
export async function decideOnOrganization(
  context: CommandContext,
  command: (principal: Principal) => OrganizationCommand,
  orgId?: string,
): Promise<CommandOutcome<OrganizationResult>> {
  const principal = callerOf(context);
  const target = orgId ?? principal.orgId;
  const decided = command(principal);
  const now = context.now.toISOString();
  return executeOnStream(context, organizationStream(target), organizationAggregate, (state) =>
    decideOrganization(decided, state, now),
  );
}
