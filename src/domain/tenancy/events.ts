/**
 * Everything that happens to an organization, its members and its API keys: one stream per
 * organization (`{orgId}.organization-{orgId}`), so membership and key rules are checked by a
 * single writer that sees them all. The platform itself is the organization `platform`,
 * whose members are the super admins.
 */
import type { MemberRole, Role, Scope } from '../access.js';
import type { ApprovalPolicy } from '../approvals/policy.js';

export const PLANS = ['free', 'pro', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

export interface OrganizationSettings {
  readonly defaultCurrency: string;
  /** Requests per minute for the organization's credentials; null for the plan's default. */
  readonly rateLimitPerMinute: number | null;
  /** Requests per day; null (or absent, in events older than the field) for the plan's default. */
  readonly rateLimitPerDay?: number | null;
  /** Commands per month; null for the plan's default. */
  readonly monthlyCommandQuota: number | null;
  /** What an AI agent may not do alone (SPEC §6); absent: nothing waits. */
  readonly approvalPolicy?: ApprovalPolicy;
}

export type OrganizationEvent =
  | {
      readonly type: 'OrganizationCreated';
      readonly data: { orgId: string; name: string; plan: Plan; settings: OrganizationSettings };
    }
  | { readonly type: 'OrganizationSettingsChanged'; readonly data: { settings: OrganizationSettings } }
  | { readonly type: 'OrganizationPlanChanged'; readonly data: { plan: Plan } }
  | { readonly type: 'OrganizationSuspended'; readonly data: { reason: string } }
  | { readonly type: 'OrganizationReactivated'; readonly data: { reason: string } }
  | {
      readonly type: 'MemberCreated';
      readonly data: { memberId: string; email: string; name: string; role: Role; passwordHash: string };
    }
  | {
      readonly type: 'MemberProfileUpdated';
      readonly data: { memberId: string; name: string; email: string };
    }
  | { readonly type: 'MemberDeactivated'; readonly data: { memberId: string } }
  | {
      readonly type: 'ApiKeyCreated';
      readonly data: {
        keyId: string;
        name: string;
        scopes: Scope[];
        expiresAt: string | null;
        createdBy: string;
        /** The role the key acts with: its creator's role when it was made. */
        role: Role;
        /** SHA-256 of the secret: the secret itself is shown once and never stored. */
        secretHash: string;
        environment: 'live' | 'test';
      };
    }
  | { readonly type: 'ApiKeyRevoked'; readonly data: { keyId: string } }
  | { readonly type: 'ApiKeyPermissionsUpdated'; readonly data: { keyId: string; scopes: Scope[] } };

export type MemberStatus = 'active' | 'deactivated';
export type KeyStatus = 'active' | 'revoked';

export interface MemberState {
  readonly memberId: string;
  readonly email: string;
  readonly name: string;
  readonly role: Role;
  readonly status: MemberStatus;
}

export interface KeyState {
  readonly keyId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly expiresAt: string | null;
  readonly createdBy: string;
  readonly role: Role;
  readonly status: KeyStatus;
}

export type { MemberRole };
