/**
 * What authentication and authorization read on every request — an API key's row, a member's
 * status, an organization's status — cached for CREDENTIAL_CACHE_MS so a request costs no
 * database round trip for them. Freshness is kept by `forget`: the projector in this process
 * hands it every committed batch, and an entry whose row changed is dropped at once. Another
 * node's cache still holds its entry up to CREDENTIAL_CACHE_MS — that is the price, on several
 * nodes, of revoking a key, deactivating a member or suspending an organization.
 */
import type { Role, Scope } from '../domain/access.js';
import { TtlCache } from '../adapters/ttlCache.js';
import type { RecordedEvent } from '../adapters/eventstore/port.js';
import type { Database } from '../adapters/db/database.js';

export const CREDENTIAL_CACHE_MS = 1_000;
export const CREDENTIAL_CACHE_ENTRIES_MAX = 50_000;
/**
 * What each event that changes a cached credential drops: the one place that says which events
 * those are (`forget` follows it, and CREDENTIAL_CACHE_EVENTS is its keys).
 */
const DROPS: ReadonlyMap<string, 'key' | 'member' | 'member and keys' | 'organization'> = new Map([
  ['ApiKeyRevoked', 'key'],
  ['ApiKeyPermissionsUpdated', 'key'],
  // A key's row carries its creator's status: drop them all (deactivations are rare).
  ['MemberDeactivated', 'member and keys'],
  ['MemberProfileUpdated', 'member'],
  ['OrganizationSuspended', 'organization'],
  ['OrganizationReactivated', 'organization'],
]);
/** The events that change what CredentialReads caches: `forget` acts on these alone. */
export const CREDENTIAL_CACHE_EVENTS: ReadonlySet<string> = new Set(DROPS.keys());

export interface KeyRow {
  readonly key_id: string;
  readonly org_id: string;
  readonly scopes: Scope[];
  readonly expires_at: Date | null;
  readonly created_by: string;
  readonly role: Role;
  readonly status: string;
  readonly secret_hash: string;
  readonly creator_status: string | null;
}

export class CredentialReads {
  private readonly keys = new TtlCache<KeyRow>(CREDENTIAL_CACHE_MS, CREDENTIAL_CACHE_ENTRIES_MAX);
  private readonly members = new TtlCache<{ status: string; role: Role }>(
    CREDENTIAL_CACHE_MS,
    CREDENTIAL_CACHE_ENTRIES_MAX,
  );
  private readonly organizations = new TtlCache<string>(CREDENTIAL_CACHE_MS, CREDENTIAL_CACHE_ENTRIES_MAX);

  constructor(private readonly db: Database) {}

  async apiKey(keyId: string): Promise<KeyRow | undefined> {
    return this.keys.through(keyId, async () => {
      const { rows } = await this.db.query<KeyRow>(
        `SELECT k.key_id, k.org_id, k.scopes, k.expires_at, k.created_by, k.role, k.status, k.secret_hash,
                m.status AS creator_status
           FROM rm_api_keys k LEFT JOIN rm_members m ON m.member_id = k.created_by AND m.org_id = k.org_id
          WHERE k.key_id = $1`,
        [keyId],
      );
      return rows[0];
    });
  }

  async member(orgId: string, memberId: string): Promise<{ status: string; role: Role } | undefined> {
    return this.members.through(`${orgId}/${memberId}`, async () => {
      const { rows } = await this.db.query<{ status: string; role: Role }>(
        'SELECT status, role FROM rm_members WHERE member_id = $1 AND org_id = $2',
        [memberId, orgId],
      );
      return rows[0];
    });
  }

  /** `active`, `suspended`, or undefined for an organization not (yet) projected. */
  async organizationStatus(orgId: string): Promise<string | undefined> {
    return this.organizations.through(orgId, async () => {
      const { rows } = await this.db.query<{ status: string }>(
        'SELECT status FROM rm_organizations WHERE org_id = $1',
        [orgId],
      );
      return rows[0]?.status;
    });
  }

  /**
   * Drops what committed events changed; called after each projected batch, and with every
   * event another node commits (from the event bus). Only CREDENTIAL_CACHE_EVENTS matter.
   */
  forget(events: readonly Pick<RecordedEvent, 'type' | 'data' | 'orgId'>[]): void {
    for (const event of events) {
      const drop = DROPS.get(event.type);
      if (drop === undefined) continue;
      const data = event.data as { keyId?: unknown; memberId?: unknown };
      switch (drop) {
        case 'key':
          if (typeof data.keyId === 'string') this.keys.delete(data.keyId);
          break;
        case 'member and keys':
        case 'member':
          if (typeof data.memberId === 'string') this.members.delete(`${event.orgId}/${data.memberId}`);
          if (drop === 'member and keys') this.keys.clear();
          break;
        case 'organization':
          this.organizations.delete(event.orgId);
          break;
      }
    }
  }
}
