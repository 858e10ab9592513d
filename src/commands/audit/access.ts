/**
 * Whose audit trail or read models a read is about. Without a grant id, the caller's own
 * organization (from the credential). With one, the granting organization, while the grant lives: the grant must
 * name the caller's organization as grantee, be neither revoked nor expired (checked now, at
 * the read, against the grant's own stream), and hold the scope the read needs; the caller
 * must be an auditor member of the grantee or one of its API keys carrying audit:read. Any
 * grant that does not name the caller's organization answers exactly like a missing one (404).
 * Every read under a grant is recorded in the granting organization's access stream before it
 * is answered.
 */
import { z } from 'zod';
import type { RecordedEvent } from '../../adapters/eventstore/port.js';
import {
  evolveGrant,
  grantRefusal,
  initialGrant,
  type AuditAccessRecorded,
  type AuditGrantEvent,
  type AuditGrantState,
  type GrantScope,
} from '../../domain/audit/grants.js';
import { LedgerlineError } from '../../domain/errors.js';
import { streamName } from '../../domain/streamName.js';
import type { QueryContext, Services } from '../context.js';
import type { Principal } from '../principal.js';

/** A grant issued a moment ago may not be projected yet: wait this long for it once. */
const NEW_GRANT_CATCH_UP_MS = 2_000;
/** A grant stream holds an issue and at most one revocation. */
const GRANT_EVENTS_MAX = 16;
/** What the access log keeps of a target: stream names are at most 256 characters. */
const TARGET_LENGTH_MAX = 300;

export const grantId = z.string().regex(/^grt_[0-9A-Z]{26}$/, 'must be an audit grant id (grt_…)');

/** Read another organization under this audit grant (see audit_list_grants); omit for your own. */
export const grantParam = grantId
  .optional()
  .describe(
    'To read another organization under an audit grant it gave your organization, that grant’s id (grt_…; see audit_list_grants with as=grantee). Omit to read your own organization.',
  );

export function grantStream(orgId: string, id: string): string {
  return streamName(orgId, 'auditgrant', id);
}

export function accessStream(orgId: string, id: string): string {
  return streamName(orgId, 'auditaccess', id);
}

export interface AuditTarget {
  /** The organization whose data the read is about. */
  readonly orgId: string;
  /** The grant it is read under, or null for the caller's own organization. */
  readonly grantId: string | null;
}

function notFound(): LedgerlineError {
  return new LedgerlineError('NOT_FOUND', 'No such audit grant.');
}

/** The grant's current state, from its own stream (never a lagging read model). */
export async function loadGrant(services: Services, orgId: string, id: string): Promise<AuditGrantState> {
  const events = await services.store.readStream(grantStream(orgId, id), { maxCount: GRANT_EVENTS_MAX });
  return events.reduce(
    (state: AuditGrantState, event: RecordedEvent) =>
      evolveGrant(state, { type: event.type, data: event.data } as AuditGrantEvent),
    initialGrant,
  );
}

async function granterOf(services: Services, id: string, granteeOrgId: string): Promise<string | null> {
  const lookup = async (): Promise<string | null> => {
    const { rows } = await services.db.query<{ org_id: string }>(
      'SELECT org_id FROM rm_audit_grants WHERE grant_id = $1 AND grantee_org_id = $2',
      [id, granteeOrgId],
    );
    return rows[0]?.org_id ?? null;
  };
  const found = await lookup();
  if (found !== null) return found;
  return (await services.consistency.waitForCaughtUp(NEW_GRANT_CATCH_UP_MS)) ? lookup() : null;
}

/**
 * The organization a read is about, checked as the module comment says; under a grant the read
 * (`operation` on `target`) is recorded first, so no read under a grant goes unlogged.
 */
export async function resolveAuditTarget(
  services: Services,
  principal: Principal,
  id: string | undefined,
  scope: GrantScope,
  operation: string,
  target: string,
  now: Date,
): Promise<AuditTarget> {
  if (id === undefined) return { orgId: principal.orgId, grantId: null };
  const orgId = await granterOf(services, id, principal.orgId);
  if (orgId === null) throw notFound();
  const state = await loadGrant(services, orgId, id);
  const refusal = grantRefusal(state, principal.orgId, scope, now.toISOString());
  // Revoked and expired grants are gone for the grantee: exactly like one that never was.
  if (refusal === 'missing' || refusal === 'revoked' || refusal === 'expired') throw notFound();
  if (refusal === 'scope')
    throw new LedgerlineError('FORBIDDEN', `This audit grant does not include ${scope}.`, {
      requiredScope: scope,
    });
  // A key is judged by its own scopes (a read-model query only demands ledger:read of it), a
  // member by its role.
  const mayReadAcross =
    principal.actor.kind === 'api_key'
      ? principal.scopes.includes('audit:read')
      : principal.role === 'auditor';
  if (!mayReadAcross) {
    throw new LedgerlineError(
      'FORBIDDEN',
      'Reading under an audit grant needs a member with the auditor role, or an API key with audit:read.',
      { requiredRole: 'auditor' },
    );
  }
  await recordAccess(services, principal, { orgId, grantId: id }, operation, target, now);
  return { orgId, grantId: id };
}

/** What a read-model query takes to read another organization: a grant's id, holding `scope`. */
export function readModelGrantParam(scope: GrantScope): typeof grantParam {
  return grantParam.describe(
    `To read another organization’s read models under an audit grant it gave your organization (the grant must hold ${scope}; you must be an auditor, or use an API key with audit:read), that grant’s id (grt_…; see audit_list_grants with as=grantee). Every such read is recorded in that organization’s access log. Omit to read your own organization.`,
  );
}

/** What a read-model query's description says of reading another organization under a grant. */
export function readModelGrantNote(scope: GrantScope): string {
  return ` With grantId, the organization that gave your organization that audit grant (${scope}), as the grant allows; the read is recorded in its access log.`;
}

/**
 * The organization a read-model query reads: the caller's own without a grant id, or — under a
 * live grant holding `scope` — the granting organization, with the read recorded first
 * (`operation` on `target`, for example `ledger_get_balance` on `account assets:cash`).
 */
export async function readModelOrg(
  context: QueryContext,
  id: string | undefined,
  scope: GrantScope,
  operation: string,
  target: string,
): Promise<string> {
  const resolved = await resolveAuditTarget(
    context.services,
    context.principal,
    id,
    scope,
    operation,
    target,
    context.now,
  );
  return resolved.orgId;
}

async function recordAccess(
  services: Services,
  principal: Principal,
  grant: { orgId: string; grantId: string },
  operation: string,
  target: string,
  now: Date,
): Promise<void> {
  const event: AuditAccessRecorded = {
    type: 'AuditAccessRecorded',
    data: {
      grantId: grant.grantId,
      granteeOrgId: principal.orgId,
      operation,
      target: target.slice(0, TARGET_LENGTH_MAX),
    },
  };
  await services.store.append(
    accessStream(grant.orgId, grant.grantId),
    [
      {
        type: event.type,
        data: event.data,
        occurredAt: now,
        metadata: {
          actor: {
            kind: principal.actor.kind === 'api_key' ? 'api_key' : principal.actor.kind,
            id: principal.actor.id,
            role: principal.role,
          },
          channel: principal.channel,
          correlationId: principal.requestId,
          causationId: principal.requestId,
          requestId: principal.requestId,
        },
      },
    ],
    // Reads are recorded in the order they land; nothing is decided on this stream.
    'any',
  );
}
