/** What a member may do: role, the scopes that role carries, and the member's active API keys. */
import { z } from 'zod';
import { ROLE_SCOPES, type Role } from '../../domain/access.js';
import { LedgerlineError } from '../../domain/errors.js';
import { defineQuery } from '../catalog.js';
import * as s from '../schemas.js';

/** Keys listed with a member's permissions, at most; list_api_keys pages through all of them. */
const PERMISSION_KEYS_MAX = 50;

export const getMemberPermissions = defineQuery({
  name: 'get_member_permissions',
  title: 'A member’s permissions',
  description:
    'What one member of the caller’s organization may do: role, status, the scopes the role carries, and the scopes of the member’s active API keys (never their secrets).',
  params: z.strictObject({ memberId: s.memberId }),
  result: z.object({
    memberId: z.string(),
    role: z.string(),
    status: z.string(),
    grants: z.object({
      scopes: z.array(z.string()),
      apiKeys: z.array(z.object({ keyId: z.string(), name: z.string(), scopes: z.array(z.string()) })),
    }),
  }),
  scope: null,
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/members/:memberId/permissions' },
  mcp: {
    resource: {
      uri: 'users://{user_id}/permissions',
      name: 'Member permissions',
      vars: { user_id: 'memberId' },
      list: {
        query: 'list_members',
        params: (item) => ({ user_id: String(item['memberId']) }),
        title: (item) => `Permissions of ${String(item['name'])}`,
      },
    },
  },
  async run(params, context) {
    const orgId = context.principal.orgId;
    const { rows } = await context.services.db.query<{ role: Role; status: string }>(
      'SELECT role, status FROM rm_members WHERE org_id = $1 AND member_id = $2',
      [orgId, params.memberId],
    );
    const row = rows[0];
    if (!row) throw new LedgerlineError('NOT_FOUND', 'No such member.');
    const { rows: keys } = await context.services.db.query<{
      key_id: string;
      name: string;
      scopes: string[];
    }>(
      `SELECT key_id, name, scopes FROM rm_api_keys WHERE org_id = $1 AND created_by = $2 AND status = 'active'
        ORDER BY key_id LIMIT $3`,
      [orgId, params.memberId, PERMISSION_KEYS_MAX],
    );
    return {
      memberId: params.memberId,
      role: row.role,
      status: row.status,
      grants: {
        scopes: [...ROLE_SCOPES[row.role]],
        apiKeys: keys.map((key) => ({ keyId: key.key_id, name: key.name, scopes: key.scopes })),
      },
    };
  },
});
