/**
 * Operator actions from the command line and the first start: they run the same deciders
 * as the API, as the system actor on the cli channel, so every change is an event like any
 * other.
 */
import { randomBytes } from 'node:crypto';
import { issueApiKeyToken } from '../adapters/crypto/apiKeys.js';
import type { EventMetadata } from '../adapters/eventstore/port.js';
import { ROLE_SCOPES, SCOPES, SUPER_ADMIN, type Role, type Scope } from '../domain/access.js';
import { LedgerlineError } from '../domain/errors.js';
import { PLATFORM_SCOPE } from '../domain/streamName.js';
import type { Plan } from '../domain/tenancy/events.js';
import {
  decideOrganization,
  evolveOrganization,
  type OrganizationState,
} from '../domain/tenancy/organization.js';
import { executeOnStream, loadAggregate } from '../commands/aggregate.js';
import type { CommandContext, Services } from '../commands/context.js';
import { organizationAggregate, organizationStream } from '../commands/tenancy/organizationStream.js';

export function systemContext(
  services: Services,
  channel: 'cli' | 'system',
): { context: CommandContext; metadata: EventMetadata } {
  const requestId = services.newId('req');
  const context: CommandContext = {
    principal: null,
    services,
    now: services.clock(),
    requestId,
    idempotencyKey: null,
    clientAddress: 'local',
    channel: { kind: channel },
  };
  const metadata: EventMetadata = {
    actor: { kind: 'system', id: channel === 'cli' ? 'ledgerline-cli' : 'bootstrap', role: SUPER_ADMIN },
    channel: { kind: channel },
    correlationId: requestId,
    causationId: requestId,
    requestId,
  };
  return { context, metadata };
}

export interface CreatedOrganization {
  readonly orgId: string;
  readonly adminMemberId: string;
  readonly adminEmail: string;
  readonly apiKey: string;
  readonly keyId: string;
}

/**
 * An organization with its first admin and an admin API key, in one append. The admin's
 * password is random and not shown: log in after setting one, or use the key.
 */
export async function createOrganizationWithAdmin(
  services: Services,
  options: {
    orgId?: string;
    name: string;
    plan: Plan;
    adminEmail: string;
    adminName: string;
    channel: 'cli' | 'system';
  },
): Promise<CreatedOrganization> {
  const { context, metadata } = systemContext(services, options.channel);
  const orgId = options.orgId ?? services.newId('org');
  const platform = orgId === PLATFORM_SCOPE;
  const role: Role = platform ? SUPER_ADMIN : 'org_admin';
  const memberId = services.newId('usr');
  const keyId = services.newId('key');
  const { token, secretHash } = issueApiKeyToken(keyId, 'live');
  const passwordHash = await services.passwords.hash(randomBytes(24).toString('base64url'));
  const now = context.now.toISOString();
  await executeOnStream(
    context,
    organizationStream(orgId),
    organizationAggregate,
    (state) => {
      const steps = [
        { type: 'CreateOrganization', orgId, name: options.name, plan: options.plan, settings: {} },
        {
          type: 'CreateMember',
          memberId,
          email: options.adminEmail,
          name: options.adminName,
          role,
          passwordHash,
        },
        {
          type: 'GenerateApiKey',
          actor: { id: memberId, role, scopes: ROLE_SCOPES[role] },
          keyId,
          name: 'admin key',
          scopes: ROLE_SCOPES[role],
          expiresAt: null,
          secretHash,
          environment: 'live',
        },
      ] as const;
      let current: OrganizationState = state;
      const events = [];
      for (const step of steps) {
        const decision = decideOrganization(step, current, now);
        if (!decision.ok) return decision;
        events.push(...decision.events);
        current = decision.events.reduce(evolveOrganization, current);
      }
      return { ok: true, events, result: { orgId } };
    },
    metadata,
  );
  return { orgId, adminMemberId: memberId, adminEmail: options.adminEmail, apiKey: token, keyId };
}

/** An API key for an organization, made on behalf of its first active admin. */
export async function createApiKey(
  services: Services,
  options: { orgId: string; name: string; scopes: readonly Scope[] | null },
): Promise<{ keyId: string; apiKey: string; scopes: readonly Scope[] }> {
  const { context, metadata } = systemContext(services, 'cli');
  const stream = organizationStream(options.orgId);
  const { state } = await loadAggregate(context, stream, organizationAggregate);
  if (!state.exists) throw new LedgerlineError('NOT_FOUND', `No organization ${options.orgId}.`);
  const admin = [...state.members.values()].find(
    (member) => member.status === 'active' && (member.role === 'org_admin' || member.role === SUPER_ADMIN),
  );
  if (!admin)
    throw new LedgerlineError(
      'INVALID_STATE',
      `Organization ${options.orgId} has no active admin to own the key.`,
    );
  const scopes = options.scopes ?? ROLE_SCOPES[admin.role];
  const keyId = services.newId('key');
  const { token, secretHash } = issueApiKeyToken(keyId, 'live');
  const now = context.now.toISOString();
  await executeOnStream(
    context,
    stream,
    organizationAggregate,
    (current) =>
      decideOrganization(
        {
          type: 'GenerateApiKey',
          actor: { id: admin.memberId, role: admin.role, scopes: ROLE_SCOPES[admin.role] },
          keyId,
          name: options.name,
          scopes,
          expiresAt: null,
          secretHash,
          environment: 'live',
        },
        current,
        now,
      ),
    metadata,
  );
  return { keyId, apiKey: token, scopes };
}

export const DEMO_ORGANIZATION_NAME = 'Demo organization';

/**
 * On an empty store: the platform organization with its super admin and key, and a demo
 * organization with its admin and key. Null when the platform exists already.
 */
export async function bootstrap(
  services: Services,
): Promise<{ platform: CreatedOrganization; demo: CreatedOrganization } | null> {
  const existing = await services.store.readStream(organizationStream(PLATFORM_SCOPE), { maxCount: 1 });
  if (existing.length > 0) return null;
  try {
    const platform = await createOrganizationWithAdmin(services, {
      orgId: PLATFORM_SCOPE,
      name: 'ledgerline platform',
      plan: 'enterprise',
      adminEmail: 'admin@ledgerline.local',
      adminName: 'Platform admin',
      channel: 'system',
    });
    const demo = await createOrganizationWithAdmin(services, {
      name: DEMO_ORGANIZATION_NAME,
      plan: 'free',
      adminEmail: 'demo-admin@ledgerline.local',
      adminName: 'Demo admin',
      channel: 'system',
    });
    return { platform, demo };
  } catch (error) {
    // Two processes bootstrapping at once: the other one won, which is fine.
    if (
      error instanceof LedgerlineError &&
      (error.code === 'ALREADY_EXISTS' || error.code === 'CONCURRENCY_CONFLICT')
    )
      return null;
    throw error;
  }
}

export function parseScopes(text: string | undefined): Scope[] | null {
  if (text === undefined) return null;
  const scopes = text
    .split(',')
    .map((scope) => scope.trim())
    .filter((scope) => scope !== '');
  const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
  if (unknown.length > 0)
    throw new LedgerlineError('VALIDATION_FAILED', `--scopes: unknown scope(s) ${unknown.join(', ')}`);
  return scopes as Scope[];
}
