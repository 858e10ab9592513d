/**
 * Running an approved command: as the agent would have run it (its credential, scopes and MCP
 * channel), caused by the approval, keyed by the approval so a retried approval never runs it
 * twice; then the outcome is written to the approval.
 */
import type { ApprovalRequestedData } from '../../domain/approvals/events.js';
import type { JsonValue } from '../../domain/canonicalJson.js';
import { isLedgerlineError, LedgerlineError } from '../../domain/errors.js';
import type { Role, Scope } from '../../domain/access.js';
import type { AnyCommand } from '../catalog.js';
import type { CommandContext } from '../context.js';
import { errorBody, executeCommand } from '../pipeline.js';
import type { Principal } from '../principal.js';

export interface ApprovedRun {
  readonly ok: boolean;
  readonly answer: Record<string, unknown>;
  readonly position: string | null;
}

async function requesterPrincipal(
  request: ApprovalRequestedData,
  orgId: string,
  context: CommandContext,
): Promise<Principal> {
  const { requester } = request;
  // The agent's key may have been revoked while the request waited: then nothing runs.
  if (requester.actorKind === 'api_key') {
    const key = await context.services.credentials.apiKey(requester.actorId);
    if (key?.status !== 'active' || key.org_id !== orgId)
      throw new LedgerlineError('UNAUTHENTICATED', 'The API key that asked for this is no longer active.');
  }
  return {
    orgId,
    actor: { kind: requester.actorKind, id: requester.actorId },
    memberId: requester.memberId,
    role: requester.role as Role,
    scopes: requester.scopes as Scope[],
    channel: {
      kind: requester.channel.kind as Principal['channel']['kind'],
      clientName: requester.channel.clientName,
      clientVersion: requester.channel.clientVersion,
    },
    sessionId: null,
    requestId: context.requestId,
  };
}

export async function runApproved(
  commands: readonly AnyCommand[],
  request: ApprovalRequestedData,
  orgId: string,
  context: CommandContext,
): Promise<ApprovedRun> {
  const command = commands.find((candidate) => candidate.name === request.command);
  try {
    if (!command) throw new LedgerlineError('NOT_FOUND', `No command ${request.command} any more.`);
    const principal = await requesterPrincipal(request, orgId, context);
    const answer = await executeCommand(command, request.input, {
      principal,
      services: context.services,
      now: context.now,
      requestId: context.requestId,
      idempotencyKey: `approval:${request.approvalId}`,
      clientAddress: context.clientAddress,
      channel: principal.channel,
      causationId: request.approvalId,
      correlationId: request.requester.requestId,
    });
    const position = answer.body['position'];
    return { ok: true, answer: { ...answer.body }, position: typeof position === 'string' ? position : null };
  } catch (error) {
    if (!isLedgerlineError(error) || error.status >= 500) throw error;
    return { ok: false, answer: errorBody(error, context.requestId), position: null };
  }
}

export function asJson(value: Record<string, unknown>): JsonValue {
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}
