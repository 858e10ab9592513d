/**
 * The organization aggregate (SPEC §1): the organization, its members and its API keys, decided
 * by one writer. Every command, and every refusal the decider can produce.
 */
import { describe, expect, it } from 'vitest';
import { SCOPES, type Role, type Scope } from '../../src/domain/access.js';
import type { OrganizationEvent } from '../../src/domain/tenancy/events.js';
import {
  organizationDecider,
  type Actor,
  type OrganizationCommand,
} from '../../src/domain/tenancy/organization.js';
import { deciderSpec, SPEC_NOW } from '../support/decider.js';

const spec = deciderSpec(organizationDecider);

const ORG = 'org_01JACME0000000000000000000';
const PLATFORM = 'platform';

const orgCreated = (orgId = ORG): OrganizationEvent => ({
  type: 'OrganizationCreated',
  data: {
    orgId,
    name: 'Acme',
    plan: 'free',
    settings: { defaultCurrency: 'KES', rateLimitPerMinute: null, monthlyCommandQuota: null },
  },
});

const memberCreated = (memberId: string, role: Role, email = `${memberId}@acme.test`): OrganizationEvent => ({
  type: 'MemberCreated',
  data: { memberId, email, name: `Name of ${memberId}`, role, passwordHash: `hash-${memberId}` },
});

const deactivated = (memberId: string): OrganizationEvent => ({
  type: 'MemberDeactivated',
  data: { memberId },
});

const keyCreated = (
  keyId: string,
  scopes: Scope[],
  createdBy = 'usr_admin',
  role: Role = 'org_admin',
): OrganizationEvent => ({
  type: 'ApiKeyCreated',
  data: {
    keyId,
    name: `key ${keyId}`,
    scopes,
    expiresAt: null,
    createdBy,
    role,
    secretHash: `secret-${keyId}`,
    environment: 'live',
  },
});

const revoked = (keyId: string): OrganizationEvent => ({ type: 'ApiKeyRevoked', data: { keyId } });

const ADMIN: Actor = { id: 'usr_admin', role: 'org_admin', scopes: SCOPES };
const actor = (id: string, role: Role, scopes: readonly Scope[] = SCOPES): Actor => ({ id, role, scopes });

/** An organization with an admin, a manager, a viewer and a user. */
const staffed: OrganizationEvent[] = [
  orgCreated(),
  memberCreated('usr_admin', 'org_admin', 'admin@acme.test'),
  memberCreated('usr_manager', 'manager', 'manager@acme.test'),
  memberCreated('usr_viewer', 'viewer', 'viewer@acme.test'),
  memberCreated('usr_user', 'user', 'user@acme.test'),
];

const generate = (
  scopes: Scope[],
  by: Actor = ADMIN,
  expiresAt: string | null = null,
  keyId = 'key_new',
): OrganizationCommand => ({
  type: 'GenerateApiKey',
  actor: by,
  keyId,
  name: 'robot',
  scopes,
  expiresAt,
  secretHash: 'secret-new',
  environment: 'test',
});

describe('creating an organization', () => {
  it('creates it with the default settings, overridden by those given', () => {
    spec
      .given([])
      .when({
        type: 'CreateOrganization',
        orgId: ORG,
        name: 'Acme',
        plan: 'pro',
        settings: { defaultCurrency: 'USD', monthlyCommandQuota: 1000 },
      })
      .then(
        [
          {
            type: 'OrganizationCreated',
            data: {
              orgId: ORG,
              name: 'Acme',
              plan: 'pro',
              settings: { defaultCurrency: 'USD', rateLimitPerMinute: null, monthlyCommandQuota: 1000 },
            },
          },
        ],
        { orgId: ORG },
      );
  });

  it('refuses to create an organization that already exists', () => {
    spec
      .given([orgCreated()])
      .when({ type: 'CreateOrganization', orgId: ORG, name: 'Again', plan: 'free', settings: {} })
      .thenFails('ALREADY_EXISTS');
  });
});

describe('every command on an organization that does not exist', () => {
  const commands: OrganizationCommand[] = [
    { type: 'ChangeSettings', settings: { defaultCurrency: 'USD' } },
    { type: 'ChangePlan', plan: 'pro' },
    { type: 'Suspend', reason: 'fraud' },
    { type: 'Reactivate', reason: 'cleared' },
    {
      type: 'CreateMember',
      memberId: 'usr_x',
      email: 'x@acme.test',
      name: 'X',
      role: 'viewer',
      passwordHash: 'h',
    },
    { type: 'UpdateProfile', actor: ADMIN, memberId: 'usr_admin', name: 'New' },
    { type: 'DeactivateMember', actor: ADMIN, memberId: 'usr_viewer' },
    generate(['ledger:read']),
    { type: 'RevokeApiKey', keyId: 'key_a' },
    { type: 'UpdateApiKeyPermissions', actor: ADMIN, keyId: 'key_a', scopes: ['ledger:read'] },
  ];
  it.each(commands.map((command) => [command.type, command] as const))(
    'refuses %s with NOT_FOUND',
    (_type, command) => {
      spec.given([]).when(command).thenFails('NOT_FOUND');
    },
  );
});

describe('settings and plan', () => {
  it('keeps a per-day rate limit once set, and returns it to the plan default with null', () => {
    spec
      .given([orgCreated()])
      .when({ type: 'ChangeSettings', settings: { rateLimitPerDay: 5_000 } })
      .then(
        [
          {
            type: 'OrganizationSettingsChanged',
            data: {
              settings: {
                defaultCurrency: 'KES',
                rateLimitPerMinute: null,
                rateLimitPerDay: 5_000,
                monthlyCommandQuota: null,
              },
            },
          },
        ],
        { orgId: ORG },
      );
    spec
      .given([
        orgCreated(),
        {
          type: 'OrganizationSettingsChanged',
          data: {
            settings: {
              defaultCurrency: 'KES',
              rateLimitPerMinute: null,
              rateLimitPerDay: 5_000,
              monthlyCommandQuota: null,
            },
          },
        },
      ])
      .when({ type: 'ChangeSettings', settings: { rateLimitPerDay: null } })
      .then(
        [
          {
            type: 'OrganizationSettingsChanged',
            data: {
              settings: {
                defaultCurrency: 'KES',
                rateLimitPerMinute: null,
                rateLimitPerDay: null,
                monthlyCommandQuota: null,
              },
            },
          },
        ],
        { orgId: ORG },
      );
  });

  it('changes only the settings named, keeping the others', () => {
    spec
      .given([
        orgCreated(),
        {
          type: 'OrganizationSettingsChanged',
          data: { settings: { defaultCurrency: 'KES', rateLimitPerMinute: 60, monthlyCommandQuota: 500 } },
        },
      ])
      .when({ type: 'ChangeSettings', settings: { defaultCurrency: 'USD', rateLimitPerMinute: null } })
      .then(
        [
          {
            type: 'OrganizationSettingsChanged',
            data: {
              settings: { defaultCurrency: 'USD', rateLimitPerMinute: null, monthlyCommandQuota: 500 },
            },
          },
        ],
        { orgId: ORG },
      );
  });

  it('moves the organization to another plan', () => {
    spec
      .given([orgCreated()])
      .when({ type: 'ChangePlan', plan: 'enterprise' })
      .then([{ type: 'OrganizationPlanChanged', data: { plan: 'enterprise' } }], { orgId: ORG });
  });

  it('records nothing when the plan is already the one asked for', () => {
    spec
      .given([orgCreated(), { type: 'OrganizationPlanChanged', data: { plan: 'pro' } }])
      .when({ type: 'ChangePlan', plan: 'pro' })
      .thenNothingHappened({ orgId: ORG });
  });
});

describe('suspension', () => {
  it('suspends an active organization', () => {
    spec
      .given([orgCreated()])
      .when({ type: 'Suspend', reason: 'chargebacks' })
      .then([{ type: 'OrganizationSuspended', data: { reason: 'chargebacks' } }], {
        orgId: ORG,
        status: 'suspended',
      });
  });

  it('refuses to suspend an organization twice', () => {
    spec
      .given([orgCreated(), { type: 'OrganizationSuspended', data: { reason: 'first' } }])
      .when({ type: 'Suspend', reason: 'second' })
      .thenFails('INVALID_STATE');
  });

  it('refuses to suspend the platform itself', () => {
    spec
      .given([orgCreated(PLATFORM)])
      .when({ type: 'Suspend', reason: 'why not' })
      .thenFails('INVALID_STATE', { message: /platform/i });
  });

  it('reactivates a suspended organization', () => {
    spec
      .given([orgCreated(), { type: 'OrganizationSuspended', data: { reason: 'first' } }])
      .when({ type: 'Reactivate', reason: 'cleared' })
      .then([{ type: 'OrganizationReactivated', data: { reason: 'cleared' } }], {
        orgId: ORG,
        status: 'active',
      });
  });

  it('refuses to reactivate an organization that is active', () => {
    spec.given([orgCreated()]).when({ type: 'Reactivate', reason: 'cleared' }).thenFails('INVALID_STATE');
  });

  it('refuses to reactivate an organization already reactivated', () => {
    spec
      .given([
        orgCreated(),
        { type: 'OrganizationSuspended', data: { reason: 'first' } },
        { type: 'OrganizationReactivated', data: { reason: 'cleared' } },
      ])
      .when({ type: 'Reactivate', reason: 'again' })
      .thenFails('INVALID_STATE');
  });
});

describe('creating members', () => {
  const create = (
    email: string,
    role: Role = 'viewer',
    memberId = 'usr_new',
  ): Extract<OrganizationCommand, { type: 'CreateMember' }> => ({
    type: 'CreateMember',
    memberId,
    email,
    name: 'New Person',
    role,
    passwordHash: 'hash-new',
  });

  it.each(['viewer', 'user', 'manager', 'org_admin', 'auditor'] as const)(
    'adds a member with the %s role',
    (role) => {
      spec
        .given(staffed)
        .when(create('new@acme.test', role))
        .then(
          [
            {
              type: 'MemberCreated',
              data: {
                memberId: 'usr_new',
                email: 'new@acme.test',
                name: 'New Person',
                role,
                passwordHash: 'hash-new',
              },
            },
          ],
          { memberId: 'usr_new' },
        );
    },
  );

  it('refuses an email already in the organization, whatever its case', () => {
    spec
      .given(staffed)
      .when(create('Manager@ACME.test'))
      .thenFails('ALREADY_EXISTS', { details: { field: 'email' } });
  });

  it('refuses the email of a deactivated member too', () => {
    spec
      .given([...staffed, deactivated('usr_viewer')])
      .when(create('viewer@acme.test'))
      .thenFails('ALREADY_EXISTS');
  });

  it('accepts an email a member gave up by changing theirs', () => {
    spec
      .given([
        ...staffed,
        {
          type: 'MemberProfileUpdated',
          data: { memberId: 'usr_viewer', name: 'Viewer', email: 'elsewhere@acme.test' },
        },
      ])
      .when(create('viewer@acme.test'))
      .then([
        {
          type: 'MemberCreated',
          data: {
            memberId: 'usr_new',
            email: 'viewer@acme.test',
            name: 'New Person',
            role: 'viewer',
            passwordHash: 'hash-new',
          },
        },
      ]);
  });

  it('refuses a super admin in an organization', () => {
    spec
      .given(staffed)
      .when(create('root@acme.test', 'super_admin'))
      .thenFails('VALIDATION_FAILED', { details: { field: 'role' } });
  });

  it.each(['viewer', 'user', 'manager', 'org_admin', 'auditor'] as const)(
    'refuses a platform member with the %s role: platform members are super admins',
    (role) => {
      spec
        .given([orgCreated(PLATFORM)])
        .when(create('ops@platform.test', role))
        .thenFails('VALIDATION_FAILED', { details: { field: 'role' } });
    },
  );

  it('adds a super admin to the platform', () => {
    spec
      .given([orgCreated(PLATFORM)])
      .when(create('ops@platform.test', 'super_admin'))
      .then([
        {
          type: 'MemberCreated',
          data: {
            memberId: 'usr_new',
            email: 'ops@platform.test',
            name: 'New Person',
            role: 'super_admin',
            passwordHash: 'hash-new',
          },
        },
      ]);
  });

  // A member id names one member for good, as a key id names one key (which the decider does check).
  it('refuses a member id that is already taken', () => {
    spec
      .given(staffed)
      .when(create('fresh@acme.test', 'viewer', 'usr_viewer'))
      .thenFails('ALREADY_EXISTS');
  });
});

describe('updating a profile', () => {
  const update = (
    by: Actor,
    memberId: string,
    change: { name?: string; email?: string },
  ): OrganizationCommand => ({ type: 'UpdateProfile', actor: by, memberId, ...change });

  it('lets members change their own name, keeping their email', () => {
    spec
      .given(staffed)
      .when(update(actor('usr_viewer', 'viewer', []), 'usr_viewer', { name: 'Vera' }))
      .then(
        [
          {
            type: 'MemberProfileUpdated',
            data: { memberId: 'usr_viewer', name: 'Vera', email: 'viewer@acme.test' },
          },
        ],
        { memberId: 'usr_viewer' },
      );
  });

  it('lets members change their own email, keeping their name', () => {
    spec
      .given(staffed)
      .when(update(actor('usr_user', 'user'), 'usr_user', { email: 'u2@acme.test' }))
      .then([
        {
          type: 'MemberProfileUpdated',
          data: { memberId: 'usr_user', name: 'Name of usr_user', email: 'u2@acme.test' },
        },
      ]);
  });

  it('lets an org admin change anyone’s profile', () => {
    spec
      .given(staffed)
      .when(update(ADMIN, 'usr_viewer', { name: 'Renamed', email: 'renamed@acme.test' }))
      .then([
        {
          type: 'MemberProfileUpdated',
          data: { memberId: 'usr_viewer', name: 'Renamed', email: 'renamed@acme.test' },
        },
      ]);
  });

  it('lets a super admin change a platform member’s profile', () => {
    spec
      .given([
        orgCreated(PLATFORM),
        memberCreated('usr_root', 'super_admin'),
        memberCreated('usr_ops', 'super_admin'),
      ])
      .when(update(actor('usr_root', 'super_admin'), 'usr_ops', { name: 'Ops' }))
      .then([
        {
          type: 'MemberProfileUpdated',
          data: { memberId: 'usr_ops', name: 'Ops', email: 'usr_ops@acme.test' },
        },
      ]);
  });

  it.each(['viewer', 'user', 'manager', 'auditor'] as const)(
    'refuses a %s changing someone else’s profile',
    (role) => {
      spec
        .given([...staffed, memberCreated('usr_actor', role, 'actor@acme.test')])
        .when(update(actor('usr_actor', role), 'usr_admin', { name: 'Hijacked' }))
        .thenFails('FORBIDDEN');
    },
  );

  // SPEC §1/§6: a key holds only the scopes it was given. An org admin's key that was given
  // no members:write scope must not be able to rewrite other members' names and emails.
  it('refuses an org admin’s credential without members:write changing someone else’s profile', () => {
    spec
      .given(staffed)
      .when(update(actor('usr_admin', 'org_admin', ['ledger:read']), 'usr_viewer', { email: 'x@evil.test' }))
      .thenFails('FORBIDDEN');
  });

  it('still lets that credential change its own member’s profile', () => {
    spec
      .given(staffed)
      .when(update(actor('usr_admin', 'org_admin', ['ledger:read']), 'usr_admin', { name: 'Ada' }))
      .then([
        {
          type: 'MemberProfileUpdated',
          data: { memberId: 'usr_admin', name: 'Ada', email: 'admin@acme.test' },
        },
      ]);
  });

  it('refuses a profile that does not exist', () => {
    spec
      .given(staffed)
      .when(update(ADMIN, 'usr_nobody', { name: 'Ghost' }))
      .thenFails('NOT_FOUND');
  });

  it('refuses to change a deactivated member’s profile', () => {
    spec
      .given([...staffed, deactivated('usr_viewer')])
      .when(update(ADMIN, 'usr_viewer', { name: 'Back' }))
      .thenFails('INVALID_STATE');
  });

  it('refuses an email another member holds, whatever its case', () => {
    spec
      .given(staffed)
      .when(update(actor('usr_user', 'user'), 'usr_user', { email: 'VIEWER@acme.test' }))
      .thenFails('ALREADY_EXISTS', { details: { field: 'email' } });
  });

  it('accepts a change of case in one’s own email', () => {
    spec
      .given(staffed)
      .when(update(actor('usr_user', 'user'), 'usr_user', { email: 'User@Acme.test' }))
      .then([
        {
          type: 'MemberProfileUpdated',
          data: { memberId: 'usr_user', name: 'Name of usr_user', email: 'User@Acme.test' },
        },
      ]);
  });

  it('records nothing when nothing changes', () => {
    spec
      .given(staffed)
      .when(
        update(actor('usr_user', 'user'), 'usr_user', { name: 'Name of usr_user', email: 'user@acme.test' }),
      )
      .thenNothingHappened({ memberId: 'usr_user' });
  });

  it('frees the old email once a member changed theirs', () => {
    const state = spec
      .given(staffed)
      .when(update(ADMIN, 'usr_viewer', { email: 'new-viewer@acme.test' }))
      .then([
        {
          type: 'MemberProfileUpdated',
          data: { memberId: 'usr_viewer', name: 'Name of usr_viewer', email: 'new-viewer@acme.test' },
        },
      ]);
    expect(state.emails.has('viewer@acme.test')).toBe(false);
    expect(state.emails.get('new-viewer@acme.test')).toBe('usr_viewer');
  });
});

describe('deactivating members', () => {
  const deactivate = (by: Actor, memberId: string): OrganizationCommand => ({
    type: 'DeactivateMember',
    actor: by,
    memberId,
  });

  it('deactivates a member', () => {
    spec
      .given(staffed)
      .when(deactivate(ADMIN, 'usr_viewer'))
      .then([{ type: 'MemberDeactivated', data: { memberId: 'usr_viewer' } }], {
        memberId: 'usr_viewer',
        status: 'deactivated',
      });
  });

  it('deactivates an admin while another admin remains', () => {
    spec
      .given([...staffed, memberCreated('usr_admin2', 'org_admin')])
      .when(deactivate(ADMIN, 'usr_admin2'))
      .then([{ type: 'MemberDeactivated', data: { memberId: 'usr_admin2' } }]);
  });

  it('refuses a member that does not exist', () => {
    spec.given(staffed).when(deactivate(ADMIN, 'usr_nobody')).thenFails('NOT_FOUND');
  });

  it('refuses to deactivate a member twice', () => {
    spec
      .given([...staffed, deactivated('usr_viewer')])
      .when(deactivate(ADMIN, 'usr_viewer'))
      .thenFails('INVALID_STATE');
  });

  it('refuses members deactivating themselves', () => {
    spec
      .given([...staffed, memberCreated('usr_admin2', 'org_admin')])
      .when(deactivate(ADMIN, 'usr_admin'))
      .thenFails('INVALID_STATE', { message: /themselves/ });
  });

  it('refuses to deactivate the last admin', () => {
    spec
      .given(staffed)
      .when(deactivate(actor('usr_outsider', 'org_admin'), 'usr_admin'))
      .thenFails('INVALID_STATE', { message: /last admin/ });
  });

  it('counts only active admins when looking for another one', () => {
    spec
      .given([...staffed, memberCreated('usr_admin2', 'org_admin'), deactivated('usr_admin2')])
      .when(deactivate(actor('usr_outsider', 'org_admin'), 'usr_admin'))
      .thenFails('INVALID_STATE', { message: /last admin/ });
  });

  it('refuses to deactivate the last super admin of the platform', () => {
    spec
      .given([orgCreated(PLATFORM), memberCreated('usr_root', 'super_admin')])
      .when(deactivate(actor('usr_system', 'super_admin'), 'usr_root'))
      .thenFails('INVALID_STATE', { message: /last admin/ });
  });
});

describe('generating API keys', () => {
  it('creates a key acting with its creator’s role', () => {
    spec
      .given(staffed)
      .when(generate(['ledger:read', 'payments:write'], ADMIN, '2031-01-01T00:00:00.000Z'))
      .then(
        [
          {
            type: 'ApiKeyCreated',
            data: {
              keyId: 'key_new',
              name: 'robot',
              scopes: ['ledger:read', 'payments:write'],
              expiresAt: '2031-01-01T00:00:00.000Z',
              createdBy: 'usr_admin',
              role: 'org_admin',
              secretHash: 'secret-new',
              environment: 'test',
            },
          },
        ],
        { keyId: 'key_new' },
      );
  });

  it('creates a key that never expires', () => {
    spec
      .given(staffed)
      .when(generate(['fraud:review'], actor('usr_manager', 'manager', ['fraud:review'])))
      .then([
        {
          type: 'ApiKeyCreated',
          data: {
            keyId: 'key_new',
            name: 'robot',
            scopes: ['fraud:review'],
            expiresAt: null,
            createdBy: 'usr_manager',
            role: 'manager',
            secretHash: 'secret-new',
            environment: 'test',
          },
        },
      ]);
  });

  it('refuses scopes beyond the creator’s role, naming them', () => {
    const error = spec
      .given(staffed)
      .when(generate(['ledger:read', 'members:write', 'keys:write'], actor('usr_manager', 'manager')))
      .thenFails('FORBIDDEN', { details: { field: 'scopes' } });
    expect([...(error.details['scopes'] as string[])].sort()).toEqual(['keys:write', 'members:write']);
    expect(error.message).toContain('members:write');
    expect(error.message).toContain('keys:write');
    expect(error.message).not.toContain('ledger:read');
  });

  it('refuses audit:read to a viewer, whose role does not carry it', () => {
    const error = spec
      .given(staffed)
      .when(generate(['audit:read'], actor('usr_viewer', 'viewer')))
      .thenFails('FORBIDDEN');
    expect(error.details['scopes']).toEqual(['audit:read']);
  });

  it('refuses scopes beyond the acting credential’s own scopes, naming them', () => {
    const error = spec
      .given(staffed)
      .when(
        generate(
          ['ledger:read', 'ledger:write'],
          actor('usr_admin', 'org_admin', ['ledger:read', 'keys:write']),
        ),
      )
      .thenFails('FORBIDDEN', { details: { field: 'scopes', scopes: ['ledger:write'] } });
    expect(error.message).toContain('ledger:write');
  });

  it('refuses an expiry in the past', () => {
    spec
      .given(staffed)
      .when(generate(['ledger:read'], ADMIN, '2020-01-01T00:00:00.000Z'))
      .thenFails('VALIDATION_FAILED', { details: { field: 'expiresAt' } });
  });

  it('refuses an expiry of exactly now', () => {
    spec
      .given(staffed)
      .when(generate(['ledger:read'], ADMIN, SPEC_NOW))
      .thenFails('VALIDATION_FAILED', { details: { field: 'expiresAt' } });
  });

  it('accepts an expiry a millisecond from now', () => {
    spec
      .given(staffed)
      .when(generate(['ledger:read'], ADMIN, '2030-06-15T12:00:00.001Z'))
      .then([
        {
          type: 'ApiKeyCreated',
          data: {
            keyId: 'key_new',
            name: 'robot',
            scopes: ['ledger:read'],
            expiresAt: '2030-06-15T12:00:00.001Z',
            createdBy: 'usr_admin',
            role: 'org_admin',
            secretHash: 'secret-new',
            environment: 'test',
          },
        },
      ]);
  });

  it('refuses a key id already in use', () => {
    spec
      .given([...staffed, keyCreated('key_new', ['ledger:read'])])
      .when(generate(['ledger:read']))
      .thenFails('ALREADY_EXISTS');
  });
});

describe('revoking API keys', () => {
  it('revokes an active key', () => {
    spec
      .given([...staffed, keyCreated('key_a', ['ledger:read'])])
      .when({ type: 'RevokeApiKey', keyId: 'key_a' })
      .then([{ type: 'ApiKeyRevoked', data: { keyId: 'key_a' } }], { keyId: 'key_a', status: 'revoked' });
  });

  it('refuses to revoke a key twice', () => {
    spec
      .given([...staffed, keyCreated('key_a', ['ledger:read']), revoked('key_a')])
      .when({ type: 'RevokeApiKey', keyId: 'key_a' })
      .thenFails('INVALID_STATE');
  });

  it('refuses a key that does not exist', () => {
    spec.given(staffed).when({ type: 'RevokeApiKey', keyId: 'key_nope' }).thenFails('NOT_FOUND');
  });
});

describe('changing an API key’s permissions', () => {
  const update = (keyId: string, scopes: Scope[], by: Actor = ADMIN): OrganizationCommand => ({
    type: 'UpdateApiKeyPermissions',
    actor: by,
    keyId,
    scopes,
  });

  it('replaces the scopes', () => {
    const state = spec
      .given([...staffed, keyCreated('key_a', ['ledger:read'])])
      .when(update('key_a', ['payments:read', 'payments:write']))
      .then(
        [
          {
            type: 'ApiKeyPermissionsUpdated',
            data: { keyId: 'key_a', scopes: ['payments:read', 'payments:write'] },
          },
        ],
        {
          keyId: 'key_a',
          scopes: ['payments:read', 'payments:write'],
        },
      );
    expect(state.keys.get('key_a')?.scopes).toEqual(['payments:read', 'payments:write']);
  });

  it('refuses a revoked key', () => {
    spec
      .given([...staffed, keyCreated('key_a', ['ledger:read']), revoked('key_a')])
      .when(update('key_a', ['ledger:read']))
      .thenFails('INVALID_STATE');
  });

  it('refuses a key that does not exist', () => {
    spec
      .given(staffed)
      .when(update('key_nope', ['ledger:read']))
      .thenFails('NOT_FOUND');
  });

  it('refuses scopes beyond the acting credential, naming them', () => {
    const error = spec
      .given([...staffed, keyCreated('key_a', ['ledger:read'])])
      .when(
        update(
          'key_a',
          ['ledger:read', 'trades:write'],
          actor('usr_admin', 'org_admin', ['ledger:read', 'keys:write']),
        ),
      )
      .thenFails('FORBIDDEN', { details: { field: 'scopes', scopes: ['trades:write'] } });
    expect(error.message).toContain('trades:write');
  });

  it('refuses scopes beyond the key creator’s role even when the actor holds them', () => {
    const error = spec
      .given([...staffed, keyCreated('key_m', ['fraud:review'], 'usr_manager', 'manager')])
      .when(update('key_m', ['fraud:review', 'members:write']))
      .thenFails('FORBIDDEN', { details: { field: 'scopes', scopes: ['members:write'] } });
    expect(error.message).toContain('members:write');
  });

  it('accepts scopes within the key creator’s role', () => {
    spec
      .given([...staffed, keyCreated('key_m', ['fraud:review'], 'usr_manager', 'manager')])
      .when(update('key_m', ['fraud:review', 'payments:write']))
      .then([
        {
          type: 'ApiKeyPermissionsUpdated',
          data: { keyId: 'key_m', scopes: ['fraud:review', 'payments:write'] },
        },
      ]);
  });
});
