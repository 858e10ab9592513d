/**
 * The approval aggregate: a request waits for one human decision before it expires; once
 * granted, the command runs once and its outcome is recorded.
 */
import { accept, refuse, unreachable, type Decider, type Decision } from '../decider.js';
import type { ApprovalEvent, ApprovalOutcome, ApprovalRequestedData, ApprovalStatus } from './events.js';

export interface ApprovalState {
  readonly request: ApprovalRequestedData | null;
  readonly status: ApprovalStatus | null;
}

export const initialApproval: ApprovalState = { request: null, status: null };

export type ApprovalCommand =
  | { readonly type: 'Request'; readonly data: ApprovalRequestedData }
  | { readonly type: 'Grant'; readonly by: string; readonly note: string | null }
  | { readonly type: 'Reject'; readonly by: string; readonly reason: string }
  | { readonly type: 'Expire' }
  | { readonly type: 'RecordOutcome'; readonly outcome: ApprovalOutcome };

export type ApprovalResult = { readonly approvalId: string; readonly status: ApprovalStatus };

type D = Decision<ApprovalEvent, ApprovalResult>;

export function evolveApproval(state: ApprovalState, event: ApprovalEvent): ApprovalState {
  switch (event.type) {
    case 'ApprovalRequested':
      return { request: event.data, status: 'pending' };
    case 'ApprovalGranted':
      return { ...state, status: 'approved' };
    case 'ApprovalRejected':
      return { ...state, status: 'rejected' };
    case 'ApprovalExpired':
      return { ...state, status: 'expired' };
    case 'ApprovalExecuted':
      return { ...state, status: event.data.outcome.ok ? 'executed' : 'failed' };
    default:
      return unreachable(event);
  }
}

function isExpired(request: ApprovalRequestedData, now: string): boolean {
  return now >= request.expiresAt;
}

export function decideApproval(command: ApprovalCommand, state: ApprovalState, now: string): D {
  if (command.type === 'Request') {
    if (state.request) return refuse('ALREADY_EXISTS', `Approval ${command.data.approvalId} already exists.`);
    return accept([{ type: 'ApprovalRequested', data: command.data }], {
      approvalId: command.data.approvalId,
      status: 'pending',
    });
  }
  const request = state.request;
  if (!request || state.status === null) return refuse('NOT_FOUND', 'No such approval.');
  const approvalId = request.approvalId;
  const answer = (status: ApprovalStatus): ApprovalResult => ({ approvalId, status });
  switch (command.type) {
    case 'Grant':
      // Granting again after a crash before the command ran lets the run be retried.
      if (state.status === 'approved') return accept([], answer('approved'));
      if (state.status !== 'pending')
        return refuse('INVALID_STATE', `Approval ${approvalId} is ${state.status}, not pending.`, {
          status: state.status,
        });
      if (isExpired(request, now))
        return refuse('INVALID_STATE', `Approval ${approvalId} expired at ${request.expiresAt}.`, {
          status: 'expired',
        });
      return accept(
        [{ type: 'ApprovalGranted', data: { approvalId, by: command.by, note: command.note, at: now } }],
        answer('approved'),
      );
    case 'Reject':
      if (state.status !== 'pending')
        return refuse('INVALID_STATE', `Approval ${approvalId} is ${state.status}, not pending.`, {
          status: state.status,
        });
      return accept(
        [{ type: 'ApprovalRejected', data: { approvalId, by: command.by, reason: command.reason, at: now } }],
        answer('rejected'),
      );
    case 'Expire':
      if (state.status !== 'pending' || !isExpired(request, now)) return accept([], answer(state.status));
      return accept([{ type: 'ApprovalExpired', data: { approvalId, at: now } }], answer('expired'));
    case 'RecordOutcome':
      if (state.status !== 'approved')
        return refuse('INVALID_STATE', `Approval ${approvalId} is ${state.status}, not approved.`);
      return accept(
        [{ type: 'ApprovalExecuted', data: { approvalId, outcome: command.outcome, at: now } }],
        answer(command.outcome.ok ? 'executed' : 'failed'),
      );
    default:
      return unreachable(command);
  }
}

export const approvalDecider: Decider<ApprovalCommand, ApprovalState, ApprovalEvent, ApprovalResult> = {
  initialState: initialApproval,
  evolve: evolveApproval,
  decide: (command, state, context) => decideApproval(command, state, context.now),
};
