import { z } from 'zod';
import { PLANS } from '../../domain/tenancy/events.js';
import { decideOrganization, evolveOrganization } from '../../domain/tenancy/organization.js';
import { SUPER_ADMIN } from '../../domain/access.js';
import { defineCommand } from '../catalog.js';
import { executeOnStream } from '../aggregate.js';
import * as s from '../schemas.js';
import { approvalPolicySchema } from '../approvals/policySchema.js';
import {
  callerOf,
  decideOnOrganization,
  organizationAggregate,
  organizationStream,
} from './organizationStream.js';

const settings = z.strictObject({
  defaultCurrency: z
    .string()
    .regex(/^[A-Z]{3,12}$/, 'must be an asset code such as KES')
    .optional(),
  rateLimitPerMinute: z.number().int().min(1).max(1_000_000).nullable().optional(),
  rateLimitPerDay: z.number().int().min(1).max(1_000_000_000).nullable().optional(),
  monthlyCommandQuota: z.number().int().min(1).max(1_000_000_000).nullable().optional(),
  approvalPolicy: approvalPolicySchema.optional(),
});

/** Only the settings a request named, so merging never writes undefined. */
function definedSettings(input: z.infer<typeof settings>) {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
}

export const createOrganization = defineCommand({
  name: 'create_organization',
  title: 'Create an organization',
  description:
    'Creates a new tenant organization with its plan and settings, and optionally its first org admin. Platform administrators only. Answers the new organization id.',
  input: z.strictObject({
    name: s.name,
    plan: z.enum(PLANS).default('free'),
    settings: settings.default({}),
    admin: z.strictObject({ email: s.email, name: s.name, password: s.password }).optional(),
  }),
  output: z.object({ orgId: z.string(), adminMemberId: z.string().nullable() }),
  scope: null,
  minRole: SUPER_ADMIN,
  audience: 'platform',
  annotations: { destructiveHint: false, idempotentHint: true },
  rest: { method: 'POST', path: '/v1/organizations', status: 201 },
  async run(input, context) {
    const { services } = context;
    const orgId = services.newId('org');
    const admin = input.admin
      ? {
          memberId: services.newId('usr'),
          ...input.admin,
          passwordHash: await services.passwords.hash(input.admin.password),
        }
      : null;
    const now = context.now.toISOString();
    const outcome = await executeOnStream(
      context,
      organizationStream(orgId),
      organizationAggregate,
      (state) => {
        const created = decideOrganization(
          {
            type: 'CreateOrganization',
            orgId,
            name: input.name,
            plan: input.plan,
            settings: definedSettings(input.settings),
          },
          state,
          now,
        );
        if (!created.ok || !admin) return created;
        const withOrg = created.events.reduce(evolveOrganization, state);
        const member = decideOrganization(
          {
            type: 'CreateMember',
            memberId: admin.memberId,
            email: admin.email,
            name: admin.name,
            role: 'org_admin',
            passwordHash: admin.passwordHash,
          },
          withOrg,
          now,
        );
        return member.ok
          ? { ok: true, events: [...created.events, ...member.events], result: created.result }
          : member;
      },
    );
    return { ...outcome, output: { orgId, adminMemberId: admin?.memberId ?? null } };
  },
});

function platformOrgCommand(
  name: string,
  title: string,
  description: string,
  path: string,
  type: 'Suspend' | 'Reactivate',
) {
  return defineCommand({
    name,
    title,
    description,
    input: z.strictObject({ orgId: s.orgId, reason: s.reason }),
    output: z.object({ orgId: z.string(), status: z.string() }),
    scope: null,
    minRole: SUPER_ADMIN,
    audience: 'platform',
    annotations: { destructiveHint: true, idempotentHint: true },
    rest: { method: 'POST', path },
    async run(input, context) {
      const outcome = await decideOnOrganization(
        context,
        () => ({ type, reason: input.reason }),
        input.orgId,
      );
      return {
        ...outcome,
        output: { orgId: input.orgId, status: type === 'Suspend' ? 'suspended' : 'active' },
      };
    },
  });
}

export const suspendOrganization = platformOrgCommand(
  'suspend_organization',
  'Suspend an organization',
  'Suspends an organization: its data stays readable (auditors need it) but every command it sends is refused with ORG_SUSPENDED until it is reactivated. Platform administrators only.',
  '/v1/organizations/:orgId/suspend',
  'Suspend',
);

export const reactivateOrganization = platformOrgCommand(
  'reactivate_organization',
  'Reactivate an organization',
  'Lifts a suspension so the organization can send commands again. Platform administrators only.',
  '/v1/organizations/:orgId/reactivate',
  'Reactivate',
);

export const changeOrganizationPlan = defineCommand({
  name: 'change_organization_plan',
  title: 'Change an organization’s plan',
  description: 'Moves an organization to the free, pro or enterprise plan. Platform administrators only.',
  input: z.strictObject({ orgId: s.orgId, plan: z.enum(PLANS) }),
  output: z.object({ orgId: z.string(), plan: z.enum(PLANS) }),
  scope: null,
  minRole: SUPER_ADMIN,
  audience: 'platform',
  annotations: { idempotentHint: true },
  rest: { method: 'POST', path: '/v1/organizations/:orgId/plan' },
  async run(input, context) {
    const outcome = await decideOnOrganization(
      context,
      () => ({ type: 'ChangePlan', plan: input.plan }),
      input.orgId,
    );
    return { ...outcome, output: { orgId: input.orgId, plan: input.plan } };
  },
});

export const updateOrganizationSettings = defineCommand({
  name: 'update_organization_settings',
  title: 'Update organization settings',
  description:
    'Changes the caller’s organization settings (default currency, requests per minute and per day, monthly command quota; null returns a limit to the plan’s default; the approval policy for AI agents); fields left out keep their value. Org admins only, with members:write (organization administration) — an API key needs that scope too. Never an MCP tool: the settings hold the approval policy that guards agents, so an agent cannot loosen it.',
  input: settings,
  output: z.object({ orgId: z.string() }),
  // A scope, not only a role: an org admin's key holds just the scopes it was given, and a
  // read-only key must not change limits or the approval policy.
  scope: 'members:write',
  minRole: 'org_admin',
  audience: 'organization',
  restOnly: true,
  annotations: { idempotentHint: true },
  rest: { method: 'PATCH', path: '/v1/organization/settings' },
  async run(input, context) {
    const outcome = await decideOnOrganization(context, () => ({
      type: 'ChangeSettings',
      settings: definedSettings(input),
    }));
    return { ...outcome, output: { orgId: callerOf(context).orgId } };
  },
});
