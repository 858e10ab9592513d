import {
  approvalDecider,
  decideApproval,
  type ApprovalCommand,
  type ApprovalResult,
} from '../../domain/approvals/approval.js';
import { streamName } from '../../domain/streamName.js';
import type { EventMetadata } from '../../adapters/eventstore/port.js';
import { executeOnStream } from '../aggregate.js';
import type { CommandOutcome } from '../catalog.js';
import type { CommandContext } from '../context.js';

/** One stream per approval: `{orgId}.approvals-{approvalId}`. */
export function approvalStream(orgId: string, approvalId: string): string {
  return streamName(orgId, 'approvals', approvalId);
}

export const APPROVAL_ID = /^apr_[0-9A-Z]{26}$/;

export async function decideOnApproval(
  context: CommandContext,
  orgId: string,
  approvalId: string,
  command: ApprovalCommand,
  metadata?: EventMetadata,
): Promise<CommandOutcome<ApprovalResult>> {
  const now = context.now.toISOString();
  return executeOnStream(
    context,
    approvalStream(orgId, approvalId),
    approvalDecider,
    (state) => decideApproval(command, state, now),
    ...(metadata ? [metadata] : []),
  );
}
