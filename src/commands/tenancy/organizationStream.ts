import { streamName } from '../../domain/streamName.js';
import { organizationDecider, type Actor } from '../../domain/tenancy/organization.js';
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
