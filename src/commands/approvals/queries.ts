/** Approvals as people and agents read them: one by id, or the organization's list. */
import { z } from 'zod';
import { APPROVAL_STATUSES } from '../../domain/approvals/events.js';
import { LedgerlineError } from '../../domain/errors.js';
import { defineQuery } from '../catalog.js';
import * as s from '../schemas.js';
import { APPROVAL_ID } from './stream.js';

interface ApprovalRow {
  readonly approval_id: string;
  readonly command: string;
  readonly input: unknown;
  readonly reason: string;
  readonly status: string;
  readonly requester: {
    actorKind: string;
    actorId: string;
    memberId: string;
    channel: { kind: string; clientName: string | null; clientVersion: string | null };
  };
  readonly requested_at: Date;
  readonly expires_at: Date;
  readonly decided_by: string | null;
  readonly decided_at: Date | null;
  readonly decision_note: string | null;
  readonly outcome: unknown;
}

const approval = z.object({
  approvalId: z.string(),
  command: z.string(),
  input: z.unknown(),
  reason: z.string(),
  status: z.enum(APPROVAL_STATUSES),
  requestedBy: z.object({
    actorKind: z.string(),
    actorId: z.string(),
    memberId: z.string(),
    channel: z.object({
      kind: z.string(),
      clientName: z.string().nullable(),
      clientVersion: z.string().nullable(),
    }),
  }),
  requestedAt: z.string(),
  expiresAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  decisionNote: z.string().nullable(),
  outcome: z.unknown(),
});

const COLUMNS = `approval_id, command, input, reason, status, requester, requested_at, expires_at, decided_by, decided_at,
  decision_note, outcome`;

function toApproval(row: ApprovalRow): z.infer<typeof approval> {
  return {
    approvalId: row.approval_id,
    command: row.command,
    input: row.input,
    reason: row.reason,
    status: row.status as z.infer<typeof approval>['status'],
    requestedBy: {
      actorKind: row.requester.actorKind,
      actorId: row.requester.actorId,
      memberId: row.requester.memberId,
      channel: row.requester.channel,
    },
    requestedAt: row.requested_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    decidedBy: row.decided_by,
    decidedAt: row.decided_at?.toISOString() ?? null,
    decisionNote: row.decision_note,
    outcome: row.outcome ?? null,
  };
}

export const getApproval = defineQuery({
  name: 'get_approval',
  title: 'An approval’s status',
  description:
    'One approval by id: the command an agent asked for, why it waits, and its status (pending, approved, rejected, expired, executed, failed) with the outcome once it ran. Read-only; use it to follow up on a pending_approval answer.',
  params: z.strictObject({ approvalId: z.string().regex(APPROVAL_ID, 'must be an approval id (apr_…)') }),
  result: approval,
  scope: null,
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/approvals/:approvalId' },
  mcp: {
    tool: true,
    resource: { uri: 'approvals://{approval_id}', name: 'Approval', vars: { approval_id: 'approvalId' } },
  },
  async run(params, context) {
    const { rows } = await context.services.db.query<ApprovalRow>(
      `SELECT ${COLUMNS} FROM rm_approvals WHERE org_id = $1 AND approval_id = $2`,
      [context.principal.orgId, params.approvalId],
    );
    const row = rows[0];
    if (!row) throw new LedgerlineError('NOT_FOUND', 'No such approval.');
    return toApproval(row);
  },
});

export const listApprovals = defineQuery({
  name: 'list_approvals',
  title: 'Approvals',
  description:
    'The organization’s approvals, newest first, a page at a time; filter by status (pending for the queue a manager works through).',
  params: z.strictObject({ ...s.pageParams, status: z.enum(APPROVAL_STATUSES).optional() }),
  result: s.page(approval),
  scope: null,
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/approvals' },
  async run(params, context) {
    const after = s.decodeCursor(params.cursor);
    const { rows } = await context.services.db.query<ApprovalRow>(
      `SELECT ${COLUMNS} FROM rm_approvals
        WHERE org_id = $1 AND ($2::text IS NULL OR approval_id < $2) AND ($3::text IS NULL OR status = $3)
        ORDER BY approval_id DESC LIMIT $4`,
      [context.principal.orgId, after, params.status ?? null, params.limit + 1],
    );
    return s.pageOf(rows, params.limit, toApproval, (item) => item.approvalId);
  },
});
