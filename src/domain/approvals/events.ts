/**
 * An approval's life (SPEC §6), one stream per approval: `{orgId}.approvals-{approvalId}`.
 * Requested by an agent over MCP; granted, rejected or left to expire by a human; once granted,
 * the original command runs and its outcome is recorded.
 */
import type { JsonValue } from '../canonicalJson.js';

export const APPROVAL_STATUSES = [
  'pending',
  'approved',
  'rejected',
  'expired',
  'executed',
  'failed',
] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** The credential and channel the agent used, to run the command as it would have run. */
export interface Requester {
  readonly actorKind: 'member' | 'api_key' | 'system';
  readonly actorId: string;
  readonly memberId: string;
  readonly role: string;
  readonly scopes: readonly string[];
  readonly channel: {
    readonly kind: string;
    readonly clientName: string | null;
    readonly clientVersion: string | null;
  };
  readonly requestId: string;
  readonly idempotencyKey: string | null;
}

export interface ApprovalRequestedData {
  readonly approvalId: string;
  /** The catalog name of the command waiting. */
  readonly command: string;
  /** Its validated input (never holds a secret: credential changes are refused, not kept). */
  readonly input: JsonValue;
  readonly reason: string;
  readonly requester: Requester;
  readonly requestedAt: string;
  readonly expiresAt: string;
}

export interface ApprovalOutcome {
  readonly ok: boolean;
  /** The command's answer when it ran, or its error envelope. */
  readonly answer: JsonValue;
  readonly position: string | null;
}

export type ApprovalEvent =
  | { readonly type: 'ApprovalRequested'; readonly data: ApprovalRequestedData }
  | {
      readonly type: 'ApprovalGranted';
      readonly data: { approvalId: string; by: string; note: string | null; at: string };
    }
  | {
      readonly type: 'ApprovalRejected';
      readonly data: { approvalId: string; by: string; reason: string; at: string };
    }
  | { readonly type: 'ApprovalExpired'; readonly data: { approvalId: string; at: string } }
  | {
      readonly type: 'ApprovalExecuted';
      readonly data: { approvalId: string; outcome: ApprovalOutcome; at: string };
    };

export const APPROVAL_EVENT_TYPES: readonly ApprovalEvent['type'][] = [
  'ApprovalRequested',
  'ApprovalGranted',
  'ApprovalRejected',
  'ApprovalExpired',
  'ApprovalExecuted',
];
