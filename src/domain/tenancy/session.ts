/**
 * A login session: one refresh-token family (`{orgId}.session-{sessionId}`). Each refresh
 * spends the current token and issues the next; presenting a spent token again means it was
 * stolen or replayed, so the whole family is revoked (SPEC §1).
 */
import { accept as acceptAny, refuse as refuseAny, unreachable, type Decision } from '../decider.js';
import type { ErrorCode } from '../errors.js';

export type SessionEvent =
  | {
      readonly type: 'SessionStarted';
      readonly data: { sessionId: string; memberId: string; refreshTokenHash: string; expiresAt: string };
    }
  | { readonly type: 'SessionRefreshed'; readonly data: { refreshTokenHash: string; expiresAt: string } }
  | { readonly type: 'SessionRevoked'; readonly data: { reason: 'logout' | 'refresh_token_reused' } };

export interface SessionState {
  readonly exists: boolean;
  readonly sessionId: string;
  readonly memberId: string;
  readonly status: 'active' | 'revoked';
  readonly currentHash: string;
  readonly spentHashes: ReadonlySet<string>;
  readonly expiresAt: string;
}

export const initialSession: SessionState = {
  exists: false,
  sessionId: '',
  memberId: '',
  status: 'active',
  currentHash: '',
  spentHashes: new Set(),
  expiresAt: '',
};

export type SessionCommand =
  | {
      readonly type: 'StartSession';
      readonly sessionId: string;
      readonly memberId: string;
      readonly refreshTokenHash: string;
      readonly expiresAt: string;
    }
  | {
      readonly type: 'RotateRefreshToken';
      readonly presentedHash: string;
      readonly nextHash: string;
      readonly expiresAt: string;
    }
  | { readonly type: 'EndSession'; readonly memberId: string };

export type SessionResult = {
  readonly outcome: 'started' | 'rotated' | 'ended' | 'reuse_detected';
  readonly memberId: string;
};

type D = Decision<SessionEvent, SessionResult>;
const accept = (events: readonly SessionEvent[], result: SessionResult): D => acceptAny(events, result);
const refuse = (code: ErrorCode, message: string): D => refuseAny(code, message);

export function evolveSession(state: SessionState, event: SessionEvent): SessionState {
  switch (event.type) {
    case 'SessionStarted':
      return {
        ...state,
        exists: true,
        sessionId: event.data.sessionId,
        memberId: event.data.memberId,
        currentHash: event.data.refreshTokenHash,
        expiresAt: event.data.expiresAt,
      };
    case 'SessionRefreshed':
      return {
        ...state,
        spentHashes: new Set([...state.spentHashes, state.currentHash]),
        currentHash: event.data.refreshTokenHash,
        expiresAt: event.data.expiresAt,
      };
    case 'SessionRevoked':
      return { ...state, status: 'revoked' };
    default:
      return unreachable(event);
  }
}

export function decideSession(command: SessionCommand, state: SessionState, now: string): D {
  switch (command.type) {
    case 'StartSession':
      if (state.exists) return refuse('ALREADY_EXISTS', 'The session already exists.');
      return accept(
        [
          {
            type: 'SessionStarted',
            data: {
              sessionId: command.sessionId,
              memberId: command.memberId,
              refreshTokenHash: command.refreshTokenHash,
              expiresAt: command.expiresAt,
            },
          },
        ],
        { outcome: 'started', memberId: command.memberId },
      );
    case 'RotateRefreshToken':
      if (!state.exists || state.status === 'revoked')
        return refuse('UNAUTHENTICATED', 'The refresh token is not valid.');
      if (state.spentHashes.has(command.presentedHash)) {
        // A spent token came back: whoever holds the family now may not be its owner.
        return accept([{ type: 'SessionRevoked', data: { reason: 'refresh_token_reused' } }], {
          outcome: 'reuse_detected',
          memberId: state.memberId,
        });
      }
      if (command.presentedHash !== state.currentHash)
        return refuse('UNAUTHENTICATED', 'The refresh token is not valid.');
      if (state.expiresAt <= now)
        return refuse('UNAUTHENTICATED', 'The refresh token has expired; log in again.');
      return accept(
        [
          {
            type: 'SessionRefreshed',
            data: { refreshTokenHash: command.nextHash, expiresAt: command.expiresAt },
          },
        ],
        {
          outcome: 'rotated',
          memberId: state.memberId,
        },
      );
    case 'EndSession':
      if (!state.exists || state.memberId !== command.memberId)
        return refuse('NOT_FOUND', 'No such session.');
      if (state.status === 'revoked') return accept([], { outcome: 'ended', memberId: state.memberId });
      return accept([{ type: 'SessionRevoked', data: { reason: 'logout' } }], {
        outcome: 'ended',
        memberId: state.memberId,
      });
    default:
      return unreachable(command);
  }
}
