import { z } from 'zod';
import { MEMBER_ROLES } from '../../domain/access.js';
import { defineCommand } from '../catalog.js';
import * as s from '../schemas.js';
import { actorOf, decideOnOrganization } from './organizationStream.js';

export const createMember = defineCommand({
  name: 'create_member',
  title: 'Create a member',
  description:
    'Adds a staff member to the caller’s organization with an email, name, role (viewer, user, manager, org_admin, auditor) and initial password. The email must be new in the organization. Org admins only.',
  input: z.strictObject({ email: s.email, name: s.name, role: z.enum(MEMBER_ROLES), password: s.password }),
  output: z.object({ memberId: z.string() }),
  scope: 'members:write',
  minRole: 'org_admin',
  audience: 'organization',
  annotations: { idempotentHint: true },
  rest: { method: 'POST', path: '/v1/members', status: 201 },
  async run(input, context) {
    const memberId = context.services.newId('usr');
    const passwordHash = await context.services.passwords.hash(input.password);
    const outcome = await decideOnOrganization(context, (principal) => ({
      type: 'CreateMember',
      memberId,
      email: input.email,
      name: input.name,
      // The platform organization's members are super admins; everywhere else, the role asked for.
      role: principal.orgId === 'platform' ? 'super_admin' : input.role,
      passwordHash,
    }));
    return { ...outcome, output: { memberId } };
  },
});

export const deactivateMember = defineCommand({
  name: 'deactivate_member',
  title: 'Deactivate a member',
  description:
    'Deactivates a member of the caller’s organization: they can no longer log in, and their sessions cannot be refreshed. The last admin cannot be deactivated. Org admins only.',
  input: z.strictObject({ memberId: s.memberId }),
  output: z.object({ memberId: z.string(), status: z.string() }),
  scope: 'members:write',
  minRole: 'org_admin',
  audience: 'organization',
  annotations: { destructiveHint: true, idempotentHint: true },
  rest: { method: 'POST', path: '/v1/members/:memberId/deactivate' },
  async run(input, context) {
    const outcome = await decideOnOrganization(context, (principal) => ({
      type: 'DeactivateMember',
      actor: actorOf(principal),
      memberId: input.memberId,
    }));
    return { ...outcome, output: { memberId: input.memberId, status: 'deactivated' } };
  },
});

export const updateUserProfile = defineCommand({
  name: 'update_user_profile',
  title: 'Update a member’s profile',
  description:
    'Changes a member’s display name and/or email. Members may change their own profile; org admins may change anyone’s in their organization.',
  input: z.strictObject({ memberId: s.memberId, name: s.name.optional(), email: s.email.optional() }),
  output: z.object({ memberId: z.string() }),
  scope: null,
  minRole: 'viewer',
  audience: 'organization',
  annotations: { idempotentHint: true },
  rest: { method: 'PATCH', path: '/v1/members/:memberId/profile' },
  async run(input, context) {
    const outcome = await decideOnOrganization(context, (principal) => ({
      type: 'UpdateProfile',
      actor: actorOf(principal),
      memberId: input.memberId,
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.email === undefined ? {} : { email: input.email }),
    }));
    return { ...outcome, output: { memberId: input.memberId } };
  },
});
