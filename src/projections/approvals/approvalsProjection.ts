/** Approvals as a table, from the approvals streams. */
import type { SqlClient } from '../../adapters/db/database.js';
import type { RecordedEvent } from '../../adapters/eventstore/port.js';
import { APPROVAL_EVENT_TYPES, type ApprovalEvent } from '../../domain/approvals/events.js';
import type { Projection } from '../projection.js';
import { loadRows, upsertRows } from '../rowBatch.js';

interface ApprovalRow {
  approval_id: string;
  org_id: string;
  command: string;
  input: unknown;
  reason: string;
  status: string;
  requester: unknown;
  requested_at: string;
  expires_at: string;
  decided_by: string | null;
  decided_at: string | null;
  decision_note: string | null;
  outcome: unknown;
  updated_at: string;
}

const COLUMNS = [
  'approval_id',
  'org_id',
  'command',
  'input',
  'reason',
  'status',
  'requester',
  'requested_at',
  'expires_at',
  'decided_by',
  'decided_at',
  'decision_note',
  'outcome',
  'updated_at',
];

export const approvalsProjection: Projection = {
  name: 'approvals',
  tables: ['rm_approvals'],
  eventTypes: APPROVAL_EVENT_TYPES,
  async apply(tx: SqlClient, events: readonly RecordedEvent[]): Promise<void> {
    const domain = events.map((event) => ({
      event,
      e: { type: event.type, data: event.data } as ApprovalEvent,
    }));
    const rows = await loadRows<ApprovalRow>(
      tx,
      'rm_approvals',
      'approval_id',
      domain.map(({ e }) => e.data.approvalId),
    );
    const touched = new Set<string>();
    for (const { event, e } of domain) {
      const at = event.occurredAt.toISOString();
      const id = e.data.approvalId;
      if (e.type === 'ApprovalRequested') {
        rows.set(id, {
          approval_id: id,
          org_id: event.orgId,
          command: e.data.command,
          input: e.data.input,
          reason: e.data.reason,
          status: 'pending',
          requester: e.data.requester,
          requested_at: e.data.requestedAt,
          expires_at: e.data.expiresAt,
          decided_by: null,
          decided_at: null,
          decision_note: null,
          outcome: null,
          updated_at: at,
        });
        touched.add(id);
        continue;
      }
      const row = rows.get(id);
      if (!row) continue;
      switch (e.type) {
        case 'ApprovalGranted':
          Object.assign(row, {
            status: 'approved',
            decided_by: e.data.by,
            decided_at: e.data.at,
            decision_note: e.data.note,
          });
          break;
        case 'ApprovalRejected':
          Object.assign(row, {
            status: 'rejected',
            decided_by: e.data.by,
            decided_at: e.data.at,
            decision_note: e.data.reason,
          });
          break;
        case 'ApprovalExpired':
          row.status = 'expired';
          break;
        case 'ApprovalExecuted':
          row.status = e.data.outcome.ok ? 'executed' : 'failed';
          row.outcome = e.data.outcome;
          break;
      }
      row.updated_at = at;
      touched.add(id);
    }
    await upsertRows(
      tx,
      'rm_approvals',
      'approval_id',
      COLUMNS,
      [...touched].flatMap((id) => {
        const row = rows.get(id);
        return row ? [row] : [];
      }),
    );
  },
};
