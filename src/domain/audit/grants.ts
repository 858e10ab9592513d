/**
 * Audit grants (SPEC §7): an organization lets an auditor organization read its events and
 * read models, with scopes and an expiry, until it revokes the grant. One stream per grant in
 * the granting organization (`{orgId}.auditgrant-{grantId}`); reads made under a grant are
 * recorded in `{orgId}.auditaccess-{grantId}`. Pure: the clock arrives as `now`.
 */
import type { Scope } from '../access.js';
import { accept, refuse, type Decider, type Decision } from '../decider.js';

/**
 * What a grant may allow: audit:read the organization's audit trail (streams, events, verify,
 * export); ledger:read its ledger read models (accounts, balances, transfers, histories) and
 * replay; payments:read its payments and M-Pesa history and report; fraud:read its fraud
 * alerts, customer risk and fraud report.
 */
export const GRANT_SCOPES = [
  'audit:read',
  'ledger:read',
  'payments:read',
  'fraud:read',
] as const satisfies readonly Scope[];
export type GrantScope = (typeof GRANT_SCOPES)[number];

/** A grant may not outlive this: an auditor's access is for an engagement, not forever. */
export const GRANT_LIFETIME_DAYS_MAX = 366;

export type AuditGrantEvent =
  | {
      readonly type: 'AuditGrantIssued';
      readonly data: {
        grantId: string;
        granteeOrgId: string;
        scopes: GrantScope[];
        expiresAt: string;
        reason: string | null;
        grantedBy: string;
      };
    }
  | {
      readonly type: 'AuditGrantRevoked';
      readonly data: { grantId: string; reason: string | null; revokedBy: string };
    };

export type AuditGrantCommand =
  | {
      readonly type: 'IssueAuditGrant';
      readonly orgId: string;
      readonly grantId: string;
      readonly granteeOrgId: string;
      readonly scopes: readonly GrantScope[];
      readonly expiresAt: string;
      /** Now plus GRANT_LIFETIME_DAYS_MAX, from the caller's clock. */
      readonly expiresAtMax: string;
      readonly reason: string | null;
      readonly by: string;
    }
  | {
      readonly type: 'RevokeAuditGrant';
      readonly grantId: string;
      readonly reason: string | null;
      readonly by: string;
    };

export interface AuditGrantState {
  readonly exists: boolean;
  readonly grantId: string;
  readonly granteeOrgId: string;
  readonly scopes: readonly GrantScope[];
  readonly expiresAt: string;
  readonly status: 'active' | 'revoked';
}

export const initialGrant: AuditGrantState = {
  exists: false,
  grantId: '',
  granteeOrgId: '',
  scopes: [],
  expiresAt: '',
  status: 'active',
};

export interface GrantResult {
  readonly grantId: string;
  readonly status: 'active' | 'revoked';
}

type D = Decision<AuditGrantEvent, GrantResult>;

export function evolveGrant(state: AuditGrantState, event: AuditGrantEvent): AuditGrantState {
  switch (event.type) {
    case 'AuditGrantIssued':
      return {
        exists: true,
        grantId: event.data.grantId,
        granteeOrgId: event.data.granteeOrgId,
        scopes: event.data.scopes,
        expiresAt: event.data.expiresAt,
        status: 'active',
      };
    case 'AuditGrantRevoked':
      return { ...state, status: 'revoked' };
  }
}

export function decideGrant(command: AuditGrantCommand, state: AuditGrantState, now: string): D {
  switch (command.type) {
    case 'IssueAuditGrant': {
      if (state.exists) return refuse('ALREADY_EXISTS', `Audit grant ${command.grantId} already exists.`);
      if (command.granteeOrgId === command.orgId)
        return refuse(
          'VALIDATION_FAILED',
          'granteeOrgId: an organization reads its own audit trail without a grant',
          {
            field: 'granteeOrgId',
          },
        );
      if (command.expiresAt <= now)
        return refuse('VALIDATION_FAILED', 'expiresAt: must be in the future', { field: 'expiresAt' });
      if (command.expiresAt > command.expiresAtMax)
        return refuse(
          'VALIDATION_FAILED',
          `expiresAt: must be at most ${GRANT_LIFETIME_DAYS_MAX} days away`,
          {
            field: 'expiresAt',
          },
        );
      return accept(
        [
          {
            type: 'AuditGrantIssued',
            data: {
              grantId: command.grantId,
              granteeOrgId: command.granteeOrgId,
              scopes: [...command.scopes],
              expiresAt: command.expiresAt,
              reason: command.reason,
              grantedBy: command.by,
            },
          },
        ],
        { grantId: command.grantId, status: 'active' },
      );
    }
    case 'RevokeAuditGrant':
      if (!state.exists) return refuse('NOT_FOUND', 'No such audit grant.');
      // Revoking twice changes nothing and says so: a retry is safe.
      if (state.status === 'revoked') return accept([], { grantId: state.grantId, status: 'revoked' });
      return accept(
        [
          {
            type: 'AuditGrantRevoked',
            data: { grantId: state.grantId, reason: command.reason, revokedBy: command.by },
          },
        ],
        { grantId: state.grantId, status: 'revoked' },
      );
  }
}

/** Why a grant does not let a caller read now, or null when it does. Checked at every read. */
export function grantRefusal(
  state: AuditGrantState,
  granteeOrgId: string,
  scope: GrantScope,
  now: string,
): 'missing' | 'revoked' | 'expired' | 'scope' | null {
  if (!state.exists || state.granteeOrgId !== granteeOrgId) return 'missing';
  if (state.status === 'revoked') return 'revoked';
  if (state.expiresAt <= now) return 'expired';
  if (!state.scopes.includes(scope)) return 'scope';
  return null;
}

export const auditGrantDecider: Decider<AuditGrantCommand, AuditGrantState, AuditGrantEvent, GrantResult> = {
  initialState: initialGrant,
  evolve: evolveGrant,
  decide: (command, state, context) => decideGrant(command, state, context.now),
};

/** Recorded for every read made under a grant, in the granting organization. */
export interface AuditAccessRecorded {
  readonly type: 'AuditAccessRecorded';
  readonly data: {
    grantId: string;
    granteeOrgId: string;
    /** The catalog name (or CLI verb) of the read. */
    operation: string;
    /** What was read: a stream name, `organization`, an export window, or a read model (`account …`). */
    target: string;
  };
}

export const AUDIT_EVENT_TYPES = ['AuditGrantIssued', 'AuditGrantRevoked', 'AuditAccessRecorded'] as const;
