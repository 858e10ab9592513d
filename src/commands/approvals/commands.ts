/**
 * Approving and rejecting what an agent asked for (SPEC §6). REST only — never MCP tools,
 * whatever a key's scopes — and only by a person: a member with the manager role or above,
 * logged in (an API key, which an agent may hold, cannot decide).
 */
import { z } from 'zod';
import { LedgerlineError } from '../../domain/errors.js';
import { defineCommand, type CommandOutcome } from '../catalog.js';
import * as s from '../schemas.js';
import { personOnly } from '../tenancy/organizationStream.js';
import { loadAggregate } from '../aggregate.js';
import { approvalDecider } from '../../domain/approvals/approval.js';
import { asJson, runApproved } from './execute.js';
import { APPROVAL_ID, approvalStream, decideOnApproval } from './stream.js';

const approvalId = z.string().regex(APPROVAL_ID, 'must be an approval id (apr_…)');

export const approveRequest = defineCommand({
  name: 'approve_request',
  title: 'Approve what an agent asked for',
  description:
    'Approves a pending approval: the command the agent sent over MCP then runs, as the agent would have run it, caused by this approval, and its answer comes back here. Managers and above, logged in; never over MCP. Approving an expired request is refused.',
  input: z.strictObject({ approvalId, note: z.string().min(1).max(s.REASON_LENGTH_MAX).optional() }),
  output: z.object({ approvalId: z.string(), status: z.string(), result: z.record(z.string(), z.unknown()) }),
  scope: null,
  minRole: 'manager',
  audience: 'organization',
  restOnly: true,
  movesMoney: true,
  annotations: { destructiveHint: true, idempotentHint: true },
  rest: { method: 'POST', path: '/v1/approvals/:approvalId/approve' },
  async run(
    input,
    context,
  ): Promise<CommandOutcome<{ approvalId: string; status: string; result: Record<string, unknown> }>> {
    const principal = personOnly(context, 'approve_request');
    const orgId = principal.orgId;
    await decideOnApproval(context, orgId, input.approvalId, {
      type: 'Grant',
      by: principal.memberId,
      note: input.note ?? null,
    });
    const loaded = await loadAggregate(context, approvalStream(orgId, input.approvalId), approvalDecider);
    const request = loaded.state.request;
    if (!request) throw new LedgerlineError('NOT_FOUND', 'No such approval.');
    const { COMMANDS } = await import('../registry.js');
    const run = await runApproved(COMMANDS, request, orgId, context);
    const recorded = await decideOnApproval(context, orgId, input.approvalId, {
      type: 'RecordOutcome',
      outcome: { ok: run.ok, answer: asJson(run.answer), position: run.position },
    }).catch(async (error: unknown) => {
      // The payout resumer records the outcome of an approved batch whose approve seemed dead
      // (this run took longer than its grace): the outcome is there, answered as it stands.
      const now = await loadAggregate(context, approvalStream(orgId, input.approvalId), approvalDecider);
      const status = now.state.status;
      if (status !== 'executed' && status !== 'failed') throw error;
      return {
        output: { approvalId: input.approvalId, status },
        stream: approvalStream(orgId, input.approvalId),
        revision: now.revision,
        position: now.position,
      };
    });
    return {
      output: { approvalId: input.approvalId, status: recorded.output.status, result: run.answer },
      stream: recorded.stream,
      revision: recorded.revision,
      position: recorded.position,
    };
  },
});

export const rejectRequest = defineCommand({
  name: 'reject_request',
  title: 'Reject what an agent asked for',
  description:
    'Rejects a pending approval: the command never runs and nothing reaches the ledger or a provider. Managers and above, logged in; never over MCP.',
  input: z.strictObject({ approvalId, reason: s.reason }),
  output: z.object({ approvalId: z.string(), status: z.string() }),
  scope: null,
  minRole: 'manager',
  audience: 'organization',
  restOnly: true,
  annotations: { destructiveHint: false, idempotentHint: true },
  rest: { method: 'POST', path: '/v1/approvals/:approvalId/reject' },
  async run(input, context) {
    const principal = personOnly(context, 'reject_request');
    const outcome = await decideOnApproval(context, principal.orgId, input.approvalId, {
      type: 'Reject',
      by: principal.memberId,
      reason: input.reason,
    });
    return { ...outcome, output: { approvalId: input.approvalId, status: outcome.output.status } };
  },
});
