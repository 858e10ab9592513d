/** The grants an organization gave or holds, and the log of reads made under them. */
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.js';
import { defineQuery } from '../catalog.js';
import * as s from '../schemas.js';
import { grantId } from './access.js';

interface GrantRow {
  readonly grant_id: string;
  readonly org_id: string;
  readonly grantee_org_id: string;
  readonly scopes: string[];
  readonly expires_at: Date;
  readonly status: string;
  readonly reason: string | null;
  readonly granted_by: string;
  readonly revoked_at: Date | null;
  readonly created_at: Date;
}

const grant = z.object({
  grantId: z.string(),
  orgId: z.string().describe('The granting organization, whose data the grant opens.'),
  granteeOrgId: z.string(),
  scopes: z.array(z.string()),
  expiresAt: z.string(),
  status: z.enum(['active', 'revoked', 'expired']),
  reason: z.string().nullable(),
  grantedBy: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

export const auditListGrants = defineQuery({
  name: 'audit_list_grants',
  title: 'List audit grants',
  description:
    'Audit grants of the caller’s organization, oldest first: with as=granter (the default) the grants it gave to auditor organizations, with as=grantee the grants other organizations gave it — pass such a grant’s grantId to the audit reads (audit_verify_stream, audit_read_stream, audit_list_events, export) to read that organization. Status is computed now: active, revoked, or expired.',
  params: z.strictObject({
    as: z.enum(['granter', 'grantee']).default('granter'),
    ...s.pageParams,
  }),
  result: s.page(grant),
  scope: 'audit:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/audit/grants' },
  async run(params, context) {
    const column = params.as === 'granter' ? 'org_id' : 'grantee_org_id';
    const { rows } = await context.services.db.query<GrantRow>(
      `SELECT grant_id, org_id, grantee_org_id, scopes, expires_at, status, reason, granted_by, revoked_at, created_at
         FROM rm_audit_grants WHERE ${column} = $1 AND ($2::text IS NULL OR grant_id > $2::text)
        ORDER BY grant_id LIMIT $3`,
      [context.principal.orgId, s.decodeCursor(params.cursor), params.limit + 1],
    );
    const now = context.now.getTime();
    return s.pageOf(
      rows,
      params.limit,
      (row) => ({
        grantId: row.grant_id,
        orgId: row.org_id,
        granteeOrgId: row.grantee_org_id,
        scopes: row.scopes,
        expiresAt: row.expires_at.toISOString(),
        status:
          row.status === 'revoked'
            ? ('revoked' as const)
            : row.expires_at.getTime() <= now
              ? ('expired' as const)
              : ('active' as const),
        reason: row.reason,
        grantedBy: row.granted_by,
        createdAt: row.created_at.toISOString(),
        revokedAt: row.revoked_at?.toISOString() ?? null,
      }),
      (item) => item.grantId,
    );
  },
});

interface AccessRow {
  readonly commit_position: string;
  readonly prepare_position: string;
  readonly event_id: string;
  readonly grant_id: string;
  readonly grantee_org_id: string;
  readonly actor_kind: string;
  readonly actor_id: string;
  readonly actor_role: string | null;
  readonly operation: string;
  readonly target: string;
  readonly accessed_at: Date;
}

const POSITION_KEY = /^(\d{1,20})-(\d{1,20})$/;

export const auditListAccessLog = defineQuery({
  name: 'audit_list_access_log',
  title: 'List reads made under audit grants',
  description:
    'Every read an auditor organization made of this organization’s data under an audit grant, oldest first: when, which grant, which organization and credential (member or API key), which operation (for example audit_verify_stream or audit_export) and what it read. Filter by grantId. Recorded before each read is answered, as events in this organization’s own streams.',
  params: z.strictObject({ grantId: grantId.optional(), ...s.pageParams }),
  result: s.page(
    z.object({
      eventId: z.string(),
      position: z.string(),
      grantId: z.string(),
      granteeOrgId: z.string(),
      actor: z.object({ kind: z.string(), id: z.string(), role: z.string().nullable() }),
      operation: z.string(),
      target: z.string(),
      accessedAt: z.string(),
    }),
  ),
  scope: 'audit:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/audit/access-log' },
  async run(params, context) {
    const cursor = s.decodeCursor(params.cursor);
    const after = cursor === null ? null : POSITION_KEY.exec(cursor);
    if (cursor !== null && !after) throw new ValidationError('cursor', 'is not a cursor this list gave');
    const { rows } = await context.services.db.query<AccessRow>(
      `SELECT commit_position::text, prepare_position::text, event_id, grant_id, grantee_org_id, actor_kind,
              actor_id, actor_role, operation, target, accessed_at
         FROM rm_audit_access_log
        WHERE org_id = $1 AND ($2::text IS NULL OR grant_id = $2::text)
          AND ($3::numeric IS NULL OR (commit_position, prepare_position) > ($3::numeric, $4::numeric))
        ORDER BY commit_position, prepare_position LIMIT $5`,
      [
        context.principal.orgId,
        params.grantId ?? null,
        after?.[1] ?? null,
        after?.[2] ?? null,
        params.limit + 1,
      ],
    );
    return s.pageOf(
      rows,
      params.limit,
      (row) => ({
        eventId: row.event_id,
        position: `${row.commit_position}-${row.prepare_position}`,
        grantId: row.grant_id,
        granteeOrgId: row.grantee_org_id,
        actor: { kind: row.actor_kind, id: row.actor_id, role: row.actor_role },
        operation: row.operation,
        target: row.target,
        accessedAt: row.accessed_at.toISOString(),
      }),
      (item) => item.position,
    );
  },
});
