/**
 * The organization aggregate: settings, plan, status, members and API keys.
 */
import { scopesBeyondRole, SUPER_ADMIN, type Role, type Scope } from '../access.js';
import {
  accept as acceptAny,
  refuse as refuseAny,
  unreachable,
  type Decider,
  type Decision,
} from '../decider.js';
import type { ErrorCode, ErrorDetails } from '../errors.js';
import { PLATFORM_SCOPE } from '../streamName.js';
import type { KeyState, MemberState, OrganizationEvent, OrganizationSettings, Plan } from './events.js';

export interface OrganizationState {
  readonly exists: boolean;
  readonly orgId: string;
  readonly name: string;
  readonly plan: Plan;
  readonly status: 'active' | 'suspended';
  readonly settings: OrganizationSettings;
  readonly members: ReadonlyMap<string, MemberState>;
  /** Lower-cased email → member id, for active and deactivated members alike. */
  readonly emails: ReadonlyMap<string, string>;
  readonly keys: ReadonlyMap<string, KeyState>;
}

export const DEFAULT_SETTINGS: OrganizationSettings = {
  defaultCurrency: 'KES',
  rateLimitPerMinute: null,
  monthlyCommandQuota: null,
};

export const initialOrganization: OrganizationState = {
  exists: false,
  orgId: '',
  name: '',
  plan: 'free',
  status: 'active',
  settings: DEFAULT_SETTINGS,
  members: new Map(),
  emails: new Map(),
  keys: new Map(),
};

/** Who asks: the acting member (or the member behind the acting key) and their rights. */
export interface Actor {
  readonly id: string;
  readonly role: Role;
  /** The scopes the acting credential holds (a key may hold fewer than its role). */
  readonly scopes: readonly Scope[];
}

export type OrganizationCommand =
  | {
      readonly type: 'CreateOrganization';
      readonly orgId: string;
      readonly name: string;
      readonly plan: Plan;
      readonly settings: Partial<OrganizationSettings>;
    }
  | { readonly type: 'ChangeSettings'; readonly settings: Partial<OrganizationSettings> }
  | { readonly type: 'ChangePlan'; readonly plan: Plan }
  | { readonly type: 'Suspend'; readonly reason: string }
  | { readonly type: 'Reactivate'; readonly reason: string }
  | {
      readonly type: 'CreateMember';
      readonly memberId: string;
      readonly email: string;
      readonly name: string;
      readonly role: Role;
      readonly passwordHash: string;
    }
  | {
      readonly type: 'UpdateProfile';
      readonly actor: Actor;
      readonly memberId: string;
      readonly name?: string;
      readonly email?: string;
    }
  | { readonly type: 'DeactivateMember'; readonly actor: Actor; readonly memberId: string }
  | {
      readonly type: 'GenerateApiKey';
      readonly actor: Actor;
      readonly keyId: string;
      readonly name: string;
      readonly scopes: readonly Scope[];
      readonly expiresAt: string | null;
      readonly secretHash: string;
      readonly environment: 'live' | 'test';
    }
  | { readonly type: 'RevokeApiKey'; readonly keyId: string }
  | {
      readonly type: 'UpdateApiKeyPermissions';
      readonly actor: Actor;
      readonly keyId: string;
      readonly scopes: readonly Scope[];
    };

export type OrganizationResult = Readonly<Record<string, string | null | readonly string[]>>;

type D = Decision<OrganizationEvent, OrganizationResult>;

function accept(events: readonly OrganizationEvent[], result: OrganizationResult): D {
  return acceptAny(events, result);
}

function refuse(code: ErrorCode, message: string, details: ErrorDetails = {}): D {
  return refuseAny(code, message, details);
}

export function evolveOrganization(state: OrganizationState, event: OrganizationEvent): OrganizationState {
  switch (event.type) {
    case 'OrganizationCreated':
      return {
        ...state,
        exists: true,
        orgId: event.data.orgId,
        name: event.data.name,
        plan: event.data.plan,
        settings: event.data.settings,
      };
    case 'OrganizationSettingsChanged':
      return { ...state, settings: event.data.settings };
    case 'OrganizationPlanChanged':
      return { ...state, plan: event.data.plan };
    case 'OrganizationSuspended':
      return { ...state, status: 'suspended' };
    case 'OrganizationReactivated':
      return { ...state, status: 'active' };
    case 'MemberCreated': {
      const { memberId, email, name, role } = event.data;
      return {
        ...state,
        members: withEntry(state.members, memberId, { memberId, email, name, role, status: 'active' }),
        emails: withEntry(state.emails, email.toLowerCase(), memberId),
      };
    }
    case 'MemberProfileUpdated': {
      const member = state.members.get(event.data.memberId);
      if (!member) return state;
      const emails = new Map(state.emails);
      emails.delete(member.email.toLowerCase());
      emails.set(event.data.email.toLowerCase(), member.memberId);
      return {
        ...state,
        members: withEntry(state.members, member.memberId, {
          ...member,
          name: event.data.name,
          email: event.data.email,
        }),
        emails,
      };
    }
    case 'MemberDeactivated': {
      const member = state.members.get(event.data.memberId);
      if (!member) return state;
      return {
        ...state,
        members: withEntry(state.members, member.memberId, { ...member, status: 'deactivated' }),
      };
    }
    case 'ApiKeyCreated': {
      const { keyId, name, scopes, expiresAt, createdBy, role } = event.data;
      return {
        ...state,
        keys: withEntry(state.keys, keyId, {
          keyId,
          name,
          scopes,
          expiresAt,
          createdBy,
          role,
          status: 'active',
        }),
      };
    }
    case 'ApiKeyRevoked': {
      const key = state.keys.get(event.data.keyId);
      if (!key) return state;
      return { ...state, keys: withEntry(state.keys, key.keyId, { ...key, status: 'revoked' }) };
    }
    case 'ApiKeyPermissionsUpdated': {
      const key = state.keys.get(event.data.keyId);
      if (!key) return state;
      return { ...state, keys: withEntry(state.keys, key.keyId, { ...key, scopes: event.data.scopes }) };
    }
    default:
      return unreachable(event);
  }
}

/** The settings with every field the patch gives replaced; absent fields keep their value. */
export function mergeSettings(
  base: OrganizationSettings,
  patch: Partial<OrganizationSettings>,
): OrganizationSettings {
  const perDay = patch.rateLimitPerDay === undefined ? base.rateLimitPerDay : patch.rateLimitPerDay;
  const approvalPolicy = patch.approvalPolicy ?? base.approvalPolicy;
  return {
    defaultCurrency: patch.defaultCurrency ?? base.defaultCurrency,
    rateLimitPerMinute:
      patch.rateLimitPerMinute === undefined ? base.rateLimitPerMinute : patch.rateLimitPerMinute,
    // Written only once someone set it, so events of organizations that never did stay as they were.
    ...(perDay === undefined ? {} : { rateLimitPerDay: perDay }),
    monthlyCommandQuota:
      patch.monthlyCommandQuota === undefined ? base.monthlyCommandQuota : patch.monthlyCommandQuota,
    ...(approvalPolicy ? { approvalPolicy } : {}),
  };
}

function withEntry<K, V>(map: ReadonlyMap<K, V>, key: K, value: V): Map<K, V> {
  const next = new Map(map);
  next.set(key, value);
  return next;
}

export function decideOrganization(command: OrganizationCommand, state: OrganizationState, now: string): D {
  if (command.type === 'CreateOrganization') {
    if (state.exists) return refuse('ALREADY_EXISTS', `Organization ${command.orgId} already exists.`);
    return accept(
      [
        {
          type: 'OrganizationCreated',
          data: {
            orgId: command.orgId,
            name: command.name,
            plan: command.plan,
            settings: mergeSettings(DEFAULT_SETTINGS, command.settings),
          },
        },
      ],
      { orgId: command.orgId },
    );
  }
  if (!state.exists) return refuse('NOT_FOUND', 'No such organization.');
  switch (command.type) {
    case 'ChangeSettings':
      return accept(
        [
          {
            type: 'OrganizationSettingsChanged',
            data: { settings: mergeSettings(state.settings, command.settings) },
          },
        ],
        {
          orgId: state.orgId,
        },
      );
    case 'ChangePlan':
      if (command.plan === state.plan) return accept([], { orgId: state.orgId });
      return accept([{ type: 'OrganizationPlanChanged', data: { plan: command.plan } }], {
        orgId: state.orgId,
      });
    case 'Suspend':
      if (state.orgId === PLATFORM_SCOPE) return refuse('INVALID_STATE', 'The platform cannot be suspended.');
      if (state.status === 'suspended')
        return refuse('INVALID_STATE', 'The organization is already suspended.');
      return accept([{ type: 'OrganizationSuspended', data: { reason: command.reason } }], {
        orgId: state.orgId,
        status: 'suspended',
      });
    case 'Reactivate':
      if (state.status === 'active') return refuse('INVALID_STATE', 'The organization is not suspended.');
      return accept([{ type: 'OrganizationReactivated', data: { reason: command.reason } }], {
        orgId: state.orgId,
        status: 'active',
      });
    case 'CreateMember':
      return createMember(command, state);
    case 'UpdateProfile':
      return updateProfile(command, state);
    case 'DeactivateMember':
      return deactivateMember(command, state);
    case 'GenerateApiKey':
      return generateApiKey(command, state, now);
    case 'RevokeApiKey': {
      const key = state.keys.get(command.keyId);
      if (!key) return refuse('NOT_FOUND', 'No such API key.');
      if (key.status === 'revoked') return refuse('INVALID_STATE', 'The API key is already revoked.');
      return accept([{ type: 'ApiKeyRevoked', data: { keyId: key.keyId } }], {
        keyId: key.keyId,
        status: 'revoked',
      });
    }
    case 'UpdateApiKeyPermissions':
      return updateKeyPermissions(command, state);
    default:
      return unreachable(command);
  }
}

function createMember(
  command: Extract<OrganizationCommand, { type: 'CreateMember' }>,
  state: OrganizationState,
): D {
  const platform = state.orgId === PLATFORM_SCOPE;
  if (platform !== (command.role === SUPER_ADMIN)) {
    return refuse(
      'VALIDATION_FAILED',
      platform
        ? 'role: platform members are super admins'
        : `role: ${command.role} is not an organization role`,
      {
        field: 'role',
      },
    );
  }
  if (state.members.has(command.memberId))
    return refuse('ALREADY_EXISTS', 'A member with this id already exists.');
  if (state.emails.has(command.email.toLowerCase())) {
    return refuse('ALREADY_EXISTS', 'A member with this email already exists.', { field: 'email' });
  }
  return accept(
    [
      {
        type: 'MemberCreated',
        data: {
          memberId: command.memberId,
          email: command.email,
          name: command.name,
          role: command.role,
          passwordHash: command.passwordHash,
        },
      },
    ],
    { memberId: command.memberId },
  );
}

function updateProfile(
  command: Extract<OrganizationCommand, { type: 'UpdateProfile' }>,
  state: OrganizationState,
): D {
  const member = state.members.get(command.memberId);
  if (!member) return refuse('NOT_FOUND', 'No such member.');
  const self = command.actor.id === member.memberId;
  // Someone else's profile is member administration: an admin role, and a credential that
  // was given members:write (an admin's key holds only the scopes it was given).
  const administers =
    (command.actor.role === 'org_admin' || command.actor.role === SUPER_ADMIN) &&
    command.actor.scopes.includes('members:write');
  if (!self && !administers) {
    return refuse('FORBIDDEN', 'Only the member or an org admin may change this profile.');
  }
  if (member.status !== 'active') return refuse('INVALID_STATE', 'The member is deactivated.');
  const email = command.email ?? member.email;
  const name = command.name ?? member.name;
  const owner = state.emails.get(email.toLowerCase());
  if (owner !== undefined && owner !== member.memberId) {
    return refuse('ALREADY_EXISTS', 'A member with this email already exists.', { field: 'email' });
  }
  if (email === member.email && name === member.name) return accept([], { memberId: member.memberId });
  return accept([{ type: 'MemberProfileUpdated', data: { memberId: member.memberId, name, email } }], {
    memberId: member.memberId,
  });
}

function deactivateMember(
  command: Extract<OrganizationCommand, { type: 'DeactivateMember' }>,
  state: OrganizationState,
): D {
  const member = state.members.get(command.memberId);
  if (!member) return refuse('NOT_FOUND', 'No such member.');
  if (member.status === 'deactivated') return refuse('INVALID_STATE', 'The member is already deactivated.');
  if (member.memberId === command.actor.id)
    return refuse('INVALID_STATE', 'Members cannot deactivate themselves.');
  const admins = [...state.members.values()].filter(
    (other) => other.status === 'active' && (other.role === 'org_admin' || other.role === SUPER_ADMIN),
  );
  if ((member.role === 'org_admin' || member.role === SUPER_ADMIN) && admins.length <= 1) {
    return refuse('INVALID_STATE', 'The last admin cannot be deactivated.');
  }
  return accept([{ type: 'MemberDeactivated', data: { memberId: member.memberId } }], {
    memberId: member.memberId,
    status: 'deactivated',
  });
}

/** A key never exceeds its creator: neither the creator's role nor the acting credential's scopes. */
function scopesBeyondActor(actor: Actor, scopes: readonly Scope[]): Scope[] {
  const held = new Set(actor.scopes);
  return [
    ...new Set([...scopesBeyondRole(actor.role, scopes), ...scopes.filter((scope) => !held.has(scope))]),
  ];
}

function generateApiKey(
  command: Extract<OrganizationCommand, { type: 'GenerateApiKey' }>,
  state: OrganizationState,
  now: string,
): D {
  if (state.keys.has(command.keyId))
    return refuse('ALREADY_EXISTS', 'An API key with this id already exists.');
  const beyond = scopesBeyondActor(command.actor, command.scopes);
  if (beyond.length > 0) {
    return refuse('FORBIDDEN', `scopes: a key cannot hold more than its creator (${beyond.join(', ')})`, {
      field: 'scopes',
      scopes: beyond,
    });
  }
  if (command.expiresAt !== null && command.expiresAt <= now) {
    return refuse('VALIDATION_FAILED', 'expiresAt: must be in the future', { field: 'expiresAt' });
  }
  return accept(
    [
      {
        type: 'ApiKeyCreated',
        data: {
          keyId: command.keyId,
          name: command.name,
          scopes: [...command.scopes],
          expiresAt: command.expiresAt,
          createdBy: command.actor.id,
          role: command.actor.role,
          secretHash: command.secretHash,
          environment: command.environment,
        },
      },
    ],
    { keyId: command.keyId },
  );
}

function updateKeyPermissions(
  command: Extract<OrganizationCommand, { type: 'UpdateApiKeyPermissions' }>,
  state: OrganizationState,
): D {
  const key = state.keys.get(command.keyId);
  if (!key) return refuse('NOT_FOUND', 'No such API key.');
  if (key.status === 'revoked') return refuse('INVALID_STATE', 'The API key is revoked.');
  const beyond = scopesBeyondActor(command.actor, command.scopes);
  const beyondCreator = scopesBeyondRole(key.role, command.scopes);
  const refused = [...new Set([...beyond, ...beyondCreator])];
  if (refused.length > 0) {
    return refuse('FORBIDDEN', `scopes: a key cannot hold more than its creator (${refused.join(', ')})`, {
      field: 'scopes',
      scopes: refused,
    });
  }
  return accept(
    [{ type: 'ApiKeyPermissionsUpdated', data: { keyId: key.keyId, scopes: [...command.scopes] } }],
    {
      keyId: key.keyId,
      scopes: [...command.scopes],
    },
  );
}

export const organizationDecider: Decider<
  OrganizationCommand,
  OrganizationState,
  OrganizationEvent,
  OrganizationResult
> = {
  initialState: initialOrganization,
  evolve: evolveOrganization,
  decide: (command, state, context) => decideOrganization(command, state, context.now),
};
