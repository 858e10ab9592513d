/**
 * Issuing and revoking audit grants: the granting organization's org admins open its audit
 * trail to an auditor organization for a while, with scopes, and close it again.
 */
import { z } from 'zod';
import {
  auditGrantDecider,
  decideGrant,
  GRANT_LIFETIME_DAYS_MAX,
  GRANT_SCOPES,
} from '../../domain/audit/grants.js';
import { ValidationError } from '../../domain/errors.js';
import { executeOnStream } from '../aggregate.js';
import { defineCommand } from '../catalog.js';
import * as s from '../schemas.js';
import { callerOf } from '../tenancy/organizationStream.js';
import { grantId, grantStream } from './access.js';

const DAY_MS = 86_400_000;

const grantScopes = z
  .array(z.enum(GRANT_SCOPES))
  .min(1)
  .max(GRANT_SCOPES.length)
  .refine((list) => new Set(list).size === list.length, 'must not repeat a scope');

export const auditGrantAccess = defineCommand({
  name: 'audit_grant_access',
  title: 'Grant an auditor organization read access',
  description: `Lets another organization (an audit firm, a regulator) read this organization's audit trail until expiresAt: its members with the auditor role, and its API keys with audit:read, may then verify the hash chains, read streams and events, export them, and read its read models, by passing the returned grantId. Scopes: audit:read (events, verify, export); ledger:read (the ledger read models — ledger_list_accounts, ledger_get_balance, ledger_list_transfers, ledger_get_transfer, ledger_account_history — and replay); payments:read (list_payments, get_payment, mpesa_transaction_history, mpesa_generate_report); fraud:read (list_fraud_alerts, get_customer_risk, generate_fraud_report). Expiry is required, in the future and at most ${GRANT_LIFETIME_DAYS_MAX} days away; every read made under the grant is listed by audit_list_access_log. Revoke with audit_revoke_grant. Org admins only.`,
  input: z.strictObject({
    granteeOrgId: s.orgId.describe('The auditor organization that may read (org_…).'),
    scopes: grantScopes,
    expiresAt: s.isoTime,
    reason: s.reason.optional(),
  }),
  output: z.object({
    grantId: z.string(),
    granteeOrgId: z.string(),
    scopes: z.array(z.string()),
    expiresAt: z.string(),
    status: z.string(),
  }),
  scope: 'members:write',
  minRole: 'org_admin',
  audience: 'organization',
  annotations: { idempotentHint: true },
  rest: { method: 'POST', path: '/v1/audit/grants', status: 201 },
  async run(input, context) {
    const principal = callerOf(context);
    if ((await context.services.credentials.organizationStatus(input.granteeOrgId)) === undefined)
      throw new ValidationError('granteeOrgId', 'is not an organization');
    const id = context.services.newId('grt');
    const expiresAt = new Date(input.expiresAt).toISOString();
    const outcome = await executeOnStream(
      context,
      grantStream(principal.orgId, id),
      auditGrantDecider,
      (state) =>
        decideGrant(
          {
            type: 'IssueAuditGrant',
            orgId: principal.orgId,
            grantId: id,
            granteeOrgId: input.granteeOrgId,
            scopes: input.scopes,
            expiresAt,
            expiresAtMax: new Date(context.now.getTime() + GRANT_LIFETIME_DAYS_MAX * DAY_MS).toISOString(),
            reason: input.reason ?? null,
            by: principal.actor.id,
          },
          state,
          context.now.toISOString(),
        ),
    );
    return {
      ...outcome,
      output: {
        grantId: id,
        granteeOrgId: input.granteeOrgId,
        scopes: input.scopes,
        expiresAt,
        status: 'active',
      },
    };
  },
});

export const auditRevokeGrant = defineCommand({
  name: 'audit_revoke_grant',
  title: 'Revoke an audit grant',
  description:
    'Ends an audit grant this organization gave: from the next request on, the auditor organization reads it as if it did not exist. Revoking a revoked grant changes nothing. Org admins only.',
  input: z.strictObject({ grantId, reason: s.reason.optional() }),
  output: z.object({ grantId: z.string(), status: z.string() }),
  scope: 'members:write',
  minRole: 'org_admin',
  audience: 'organization',
  annotations: { destructiveHint: true, idempotentHint: true },
  rest: { method: 'POST', path: '/v1/audit/grants/:grantId/revoke' },
  async run(input, context) {
    const principal = callerOf(context);
    return executeOnStream(context, grantStream(principal.orgId, input.grantId), auditGrantDecider, (state) =>
      decideGrant(
        {
          type: 'RevokeAuditGrant',
          grantId: input.grantId,
          reason: input.reason ?? null,
          by: principal.actor.id,
        },
        state,
        context.now.toISOString(),
      ),
    );
  },
});
