/**
 * Audit grants and the access log as tables, from the granting organizations' grant and
 * access streams. Every row carries the granting organization's id as org_id.
 */
import type { SqlClient } from '../../adapters/db/database.js';
import type { RecordedEvent } from '../../adapters/eventstore/port.js';
import type { AuditAccessRecorded, AuditGrantEvent } from '../../domain/audit/grants.js';
import { AUDIT_EVENT_TYPES } from '../../domain/audit/grants.js';
import type { Projection } from '../projection.js';
import { loadRows, upsertRows } from '../rowBatch.js';

interface GrantRow {
  grant_id: string;
  org_id: string;
  grantee_org_id: string;
  scopes: string[];
  expires_at: string;
  status: string;
  reason: string | null;
  granted_by: string;
  revoked_at: string | null;
  created_at: string;
  updated_at: string;
}

const GRANT_COLUMNS = [
  'grant_id',
  'org_id',
  'grantee_org_id',
  'scopes',
  'expires_at',
  'status',
  'reason',
  'granted_by',
  'revoked_at',
  'created_at',
  'updated_at',
];

const ACCESS_COLUMNS =
  'org_id, commit_position, prepare_position, event_id, grant_id, grantee_org_id, actor_kind, actor_id, actor_role, operation, target, accessed_at';

type AuditEvent = AuditGrantEvent | AuditAccessRecorded;

function asDomain(event: RecordedEvent): AuditEvent {
  return { type: event.type, data: event.data } as AuditEvent;
}

export const auditProjection: Projection = {
  name: 'audit',
  tables: ['rm_audit_grants', 'rm_audit_access_log'],
  eventTypes: AUDIT_EVENT_TYPES,
  async apply(tx: SqlClient, events: readonly RecordedEvent[]): Promise<void> {
    const domain = events.map((event) => ({ event, e: asDomain(event) }));
    const grants = await loadRows<GrantRow>(
      tx,
      'rm_audit_grants',
      'grant_id',
      domain.flatMap(({ e }) => (e.type === 'AuditAccessRecorded' ? [] : [e.data.grantId])),
    );
    const touched = new Set<string>();
    const access: object[] = [];
    for (const { event, e } of domain) {
      const at = event.occurredAt.toISOString();
      switch (e.type) {
        case 'AuditGrantIssued':
          grants.set(e.data.grantId, {
            grant_id: e.data.grantId,
            org_id: event.orgId,
            grantee_org_id: e.data.granteeOrgId,
            scopes: e.data.scopes,
            expires_at: e.data.expiresAt,
            status: 'active',
            reason: e.data.reason,
            granted_by: e.data.grantedBy,
            revoked_at: null,
            created_at: at,
            updated_at: at,
          });
          touched.add(e.data.grantId);
          break;
        case 'AuditGrantRevoked': {
          const grant = grants.get(e.data.grantId);
          if (!grant) break;
          grant.status = 'revoked';
          grant.revoked_at = at;
          grant.updated_at = at;
          touched.add(grant.grant_id);
          break;
        }
        case 'AuditAccessRecorded':
          access.push({
            org_id: event.orgId,
            commit_position: event.position.commit.toString(),
            prepare_position: event.position.prepare.toString(),
            event_id: event.eventId,
            grant_id: e.data.grantId,
            grantee_org_id: e.data.granteeOrgId,
            actor_kind: event.actor.kind,
            actor_id: event.actor.id,
            actor_role: event.actor.role,
            operation: e.data.operation,
            target: e.data.target,
            accessed_at: at,
          });
          break;
      }
    }
    await upsertRows(
      tx,
      'rm_audit_grants',
      'grant_id',
      GRANT_COLUMNS,
      [...touched].flatMap((id) => {
        const row = grants.get(id);
        return row ? [row] : [];
      }),
    );
    if (access.length > 0) {
      await tx.query(
        `INSERT INTO rm_audit_access_log (${ACCESS_COLUMNS})
         SELECT ${ACCESS_COLUMNS} FROM jsonb_populate_recordset(NULL::rm_audit_access_log, $1::jsonb)`,
        [JSON.stringify(access)],
      );
    }
  },
};
