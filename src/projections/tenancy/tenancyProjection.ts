/**
 * Organizations, members and API keys as tables, from the organization streams.
 */
import type { SqlClient } from '../../adapters/db/database.js';
import type { RecordedEvent } from '../../adapters/eventstore/port.js';
import type { OrganizationEvent } from '../../domain/tenancy/events.js';
import type { Projection } from '../projection.js';
import { loadRows, upsertRows } from '../rowBatch.js';

interface OrganizationRow {
  org_id: string;
  name: string;
  plan: string;
  status: string;
  settings: object;
  created_at: string;
  updated_at: string;
}

interface MemberRow {
  member_id: string;
  org_id: string;
  email: string;
  name: string;
  role: string;
  status: string;
  password_hash: string;
  created_at: string;
  updated_at: string;
}

interface KeyRow {
  key_id: string;
  org_id: string;
  name: string;
  scopes: string[];
  expires_at: string | null;
  created_by: string;
  role: string;
  status: string;
  secret_hash: string;
  environment: string;
  created_at: string;
  updated_at: string;
}

const ORGANIZATION_COLUMNS = ['org_id', 'name', 'plan', 'status', 'settings', 'created_at', 'updated_at'];
const MEMBER_COLUMNS = [
  'member_id',
  'org_id',
  'email',
  'name',
  'role',
  'status',
  'password_hash',
  'created_at',
  'updated_at',
];
const KEY_COLUMNS = [
  'key_id',
  'org_id',
  'name',
  'scopes',
  'expires_at',
  'created_by',
  'role',
  'status',
  'secret_hash',
  'environment',
  'created_at',
  'updated_at',
];

export const TENANCY_EVENT_TYPES: readonly OrganizationEvent['type'][] = [
  'OrganizationCreated',
  'OrganizationSettingsChanged',
  'OrganizationPlanChanged',
  'OrganizationSuspended',
  'OrganizationReactivated',
  'MemberCreated',
  'MemberProfileUpdated',
  'MemberDeactivated',
  'ApiKeyCreated',
  'ApiKeyRevoked',
  'ApiKeyPermissionsUpdated',
];

function asDomain(event: RecordedEvent): OrganizationEvent {
  return { type: event.type, data: event.data } as OrganizationEvent;
}

export const tenancyProjection: Projection = {
  name: 'tenancy',
  tables: ['rm_organizations', 'rm_members', 'rm_api_keys'],
  eventTypes: TENANCY_EVENT_TYPES,
  async apply(tx: SqlClient, events: readonly RecordedEvent[]): Promise<void> {
    const domain = events.map((event) => ({ event, domain: asDomain(event) }));
    const orgIds = domain.map(({ event }) => event.orgId);
    const memberIds = domain.flatMap(({ domain: e }) => ('memberId' in e.data ? [e.data.memberId] : []));
    const keyIds = domain.flatMap(({ domain: e }) => ('keyId' in e.data ? [e.data.keyId] : []));
    const orgs = await loadRows<OrganizationRow>(tx, 'rm_organizations', 'org_id', orgIds);
    const members = await loadRows<MemberRow>(tx, 'rm_members', 'member_id', memberIds);
    const keys = await loadRows<KeyRow>(tx, 'rm_api_keys', 'key_id', keyIds);
    const touched = { orgs: new Set<string>(), members: new Set<string>(), keys: new Set<string>() };

    for (const { event, domain: e } of domain) {
      const at = event.occurredAt.toISOString();
      const org = orgs.get(event.orgId);
      switch (e.type) {
        case 'OrganizationCreated':
          orgs.set(event.orgId, {
            org_id: e.data.orgId,
            name: e.data.name,
            plan: e.data.plan,
            status: 'active',
            settings: e.data.settings,
            created_at: at,
            updated_at: at,
          });
          touched.orgs.add(event.orgId);
          break;
        case 'OrganizationSettingsChanged':
        case 'OrganizationPlanChanged':
        case 'OrganizationSuspended':
        case 'OrganizationReactivated':
          if (!org) break;
          if (e.type === 'OrganizationSettingsChanged') org.settings = e.data.settings;
          if (e.type === 'OrganizationPlanChanged') org.plan = e.data.plan;
          if (e.type === 'OrganizationSuspended') org.status = 'suspended';
          if (e.type === 'OrganizationReactivated') org.status = 'active';
          org.updated_at = at;
          touched.orgs.add(event.orgId);
          break;
        case 'MemberCreated':
          members.set(e.data.memberId, {
            member_id: e.data.memberId,
            org_id: event.orgId,
            email: e.data.email,
            name: e.data.name,
            role: e.data.role,
            status: 'active',
            password_hash: e.data.passwordHash,
            created_at: at,
            updated_at: at,
          });
          touched.members.add(e.data.memberId);
          break;
        case 'MemberProfileUpdated':
        case 'MemberDeactivated': {
          const member = members.get(e.data.memberId);
          if (!member) break;
          if (e.type === 'MemberProfileUpdated') {
            member.name = e.data.name;
            member.email = e.data.email;
          } else {
            member.status = 'deactivated';
          }
          member.updated_at = at;
          touched.members.add(member.member_id);
          break;
        }
        case 'ApiKeyCreated':
          keys.set(e.data.keyId, {
            key_id: e.data.keyId,
            org_id: event.orgId,
            name: e.data.name,
            scopes: e.data.scopes,
            expires_at: e.data.expiresAt,
            created_by: e.data.createdBy,
            role: e.data.role,
            status: 'active',
            secret_hash: e.data.secretHash,
            environment: e.data.environment,
            created_at: at,
            updated_at: at,
          });
          touched.keys.add(e.data.keyId);
          break;
        case 'ApiKeyRevoked':
        case 'ApiKeyPermissionsUpdated': {
          const key = keys.get(e.data.keyId);
          if (!key) break;
          if (e.type === 'ApiKeyRevoked') key.status = 'revoked';
          else key.scopes = e.data.scopes;
          key.updated_at = at;
          touched.keys.add(key.key_id);
          break;
        }
      }
    }
    await upsertRows(tx, 'rm_organizations', 'org_id', ORGANIZATION_COLUMNS, pick(orgs, touched.orgs));
    await upsertRows(tx, 'rm_members', 'member_id', MEMBER_COLUMNS, pick(members, touched.members));
    await upsertRows(tx, 'rm_api_keys', 'key_id', KEY_COLUMNS, pick(keys, touched.keys));
  },
};

function pick<Row>(rows: ReadonlyMap<string, Row>, keys: ReadonlySet<string>): Row[] {
  return [...keys].flatMap((key) => {
    const row = rows.get(key);
    return row ? [row] : [];
  });
}
