import { z } from 'zod';
import { LedgerlineError } from '../../domain/errors.js';
import { defineQuery } from '../catalog.js';
import * as s from '../schemas.js';

const organization = z.object({
  orgId: z.string(),
  name: z.string(),
  plan: z.string(),
  status: z.string(),
  settings: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const member = z.object({
  memberId: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.string(),
  status: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const apiKey = z.object({
  keyId: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  expiresAt: z.string().nullable(),
  createdBy: z.string(),
  status: z.string(),
  environment: z.string(),
  createdAt: z.string(),
});

interface OrganizationRow {
  readonly org_id: string;
  readonly name: string;
  readonly plan: string;
  readonly status: string;
  readonly settings: Record<string, unknown>;
  readonly created_at: Date;
  readonly updated_at: Date;
}

function toOrganization(row: OrganizationRow): z.infer<typeof organization> {
  return {
    orgId: row.org_id,
    name: row.name,
    plan: row.plan,
    status: row.status,
    settings: row.settings,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

const ORGANIZATION_COLUMNS = 'org_id, name, plan, status, settings, created_at, updated_at';

export const getOrganization = defineQuery({
  name: 'get_organization',
  title: 'The caller’s organization',
  description: 'Name, plan, status and settings of the organization the credential belongs to.',
  params: z.strictObject({}),
  result: organization,
  scope: null,
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/organization' },
  async run(_params, context) {
    const { rows } = await context.services.db.query<OrganizationRow>(
      `SELECT ${ORGANIZATION_COLUMNS} FROM rm_organizations WHERE org_id = $1`,
      [context.principal.orgId],
    );
    const row = rows[0];
    if (!row) throw new LedgerlineError('NOT_FOUND', 'No such organization.');
    return toOrganization(row);
  },
});

export const listOrganizations = defineQuery({
  name: 'list_organizations',
  title: 'All organizations',
  description:
    'Every organization on the platform, oldest first, a page at a time. Platform administrators only.',
  params: z.strictObject({ ...s.pageParams }),
  result: s.page(organization),
  scope: null,
  minRole: 'super_admin',
  audience: 'platform',
  rest: { path: '/v1/organizations' },
  async run(params, context) {
    const after = s.decodeCursor(params.cursor);
    const { rows } = await context.services.db.query<OrganizationRow>(
      `SELECT ${ORGANIZATION_COLUMNS} FROM rm_organizations WHERE ($1::text IS NULL OR org_id > $1)
        ORDER BY org_id LIMIT $2`,
      [after, params.limit + 1],
    );
    return s.pageOf(rows, params.limit, toOrganization, (item) => item.orgId);
  },
});

interface MemberRow {
  readonly member_id: string;
  readonly email: string;
  readonly name: string;
  readonly role: string;
  readonly status: string;
  readonly created_at: Date;
  readonly updated_at: Date;
}

function toMember(row: MemberRow): z.infer<typeof member> {
  return {
    memberId: row.member_id,
    email: row.email,
    name: row.name,
    role: row.role,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

const MEMBER_COLUMNS = 'member_id, email, name, role, status, created_at, updated_at';

export const listMembers = defineQuery({
  name: 'list_members',
  title: 'Members of the organization',
  description: 'The staff of the caller’s organization with their roles and status, a page at a time.',
  params: z.strictObject({ ...s.pageParams, status: z.enum(['active', 'deactivated']).optional() }),
  result: s.page(member),
  scope: null,
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/members' },
  async run(params, context) {
    const after = s.decodeCursor(params.cursor);
    const { rows } = await context.services.db.query<MemberRow>(
      `SELECT ${MEMBER_COLUMNS} FROM rm_members
        WHERE org_id = $1 AND ($2::text IS NULL OR member_id > $2) AND ($3::text IS NULL OR status = $3)
        ORDER BY member_id LIMIT $4`,
      [context.principal.orgId, after, params.status ?? null, params.limit + 1],
    );
    return s.pageOf(rows, params.limit, toMember, (item) => item.memberId);
  },
});

export const getMember = defineQuery({
  name: 'get_member',
  title: 'A member’s profile',
  description: 'One member of the caller’s organization: email, name, role, status.',
  params: z.strictObject({ memberId: s.memberId }),
  result: member,
  scope: null,
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/members/:memberId' },
  mcp: {
    resource: {
      uri: 'users://{user_id}/profile',
      name: 'Member profile',
      vars: { user_id: 'memberId' },
      list: {
        query: 'list_members',
        params: (item) => ({ user_id: String(item['memberId']) }),
        title: (item) => `Profile of ${String(item['name'])}`,
      },
    },
  },
  async run(params, context) {
    const { rows } = await context.services.db.query<MemberRow>(
      `SELECT ${MEMBER_COLUMNS} FROM rm_members WHERE org_id = $1 AND member_id = $2`,
      [context.principal.orgId, params.memberId],
    );
    const row = rows[0];
    if (!row) throw new LedgerlineError('NOT_FOUND', 'No such member.');
    return toMember(row);
  },
});

interface KeyRow {
  readonly key_id: string;
  readonly name: string;
  readonly scopes: string[];
  readonly expires_at: Date | null;
  readonly created_by: string;
  readonly status: string;
  readonly environment: string;
  readonly created_at: Date;
}

export const listApiKeys = defineQuery({
  name: 'list_api_keys',
  title: 'API keys of the organization',
  description:
    'The organization’s API keys with their scopes, expiry and status (never their secrets), a page at a time.',
  params: z.strictObject({ ...s.pageParams, status: z.enum(['active', 'revoked']).optional() }),
  result: s.page(apiKey),
  scope: null,
  minRole: 'org_admin',
  audience: 'organization',
  rest: { path: '/v1/api-keys' },
  async run(params, context) {
    const after = s.decodeCursor(params.cursor);
    const { rows } = await context.services.db.query<KeyRow>(
      `SELECT key_id, name, scopes, expires_at, created_by, status, environment, created_at FROM rm_api_keys
        WHERE org_id = $1 AND ($2::text IS NULL OR key_id > $2) AND ($3::text IS NULL OR status = $3)
        ORDER BY key_id LIMIT $4`,
      [context.principal.orgId, after, params.status ?? null, params.limit + 1],
    );
    return s.pageOf(
      rows,
      params.limit,
      (row) => ({
        keyId: row.key_id,
        name: row.name,
        scopes: row.scopes,
        expiresAt: row.expires_at?.toISOString() ?? null,
        createdBy: row.created_by,
        status: row.status,
        environment: row.environment,
        createdAt: row.created_at.toISOString(),
      }),
      (item) => item.keyId,
    );
  },
});
