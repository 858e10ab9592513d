/**
 * A login session is one refresh-token family (SPEC §1): each refresh spends the current token
 * and issues the next; presenting a spent token again revokes the whole family.
 */
import { describe, expect, it } from 'vitest';
import {
  decideSession,
  evolveSession,
  initialSession,
  type SessionCommand,
  type SessionEvent,
  type SessionResult,
  type SessionState,
} from '../../src/domain/tenancy/session.js';
import { deciderSpec } from '../support/decider.js';

const spec = deciderSpec<SessionCommand, SessionState, SessionEvent, SessionResult>({
  initialState: initialSession,
  evolve: evolveSession,
  decide: (command, state, context) => decideSession(command, state, context.now),
});

const LATER = '2030-06-16T12:00:00.000Z';
const MUCH_LATER = '2030-06-17T12:00:00.000Z';

const started: SessionEvent = {
  type: 'SessionStarted',
  data: { sessionId: 'ses_1', memberId: 'usr_ann', refreshTokenHash: 'h0', expiresAt: LATER },
};
const refreshed = (hash: string, expiresAt = MUCH_LATER): SessionEvent => ({
  type: 'SessionRefreshed',
  data: { refreshTokenHash: hash, expiresAt },
});
const revoked = (reason: 'logout' | 'refresh_token_reused'): SessionEvent => ({
  type: 'SessionRevoked',
  data: { reason },
});

const rotate = (presentedHash: string, nextHash = 'h-next', expiresAt = MUCH_LATER): SessionCommand => ({
  type: 'RotateRefreshToken',
  presentedHash,
  nextHash,
  expiresAt,
});

describe('starting a session', () => {
  it('starts a session with its first refresh token', () => {
    const state = spec
      .given([])
      .when({
        type: 'StartSession',
        sessionId: 'ses_1',
        memberId: 'usr_ann',
        refreshTokenHash: 'h0',
        expiresAt: LATER,
      })
      .then([started], { outcome: 'started', memberId: 'usr_ann' });
    expect(state).toMatchObject({ exists: true, status: 'active', currentHash: 'h0', expiresAt: LATER });
  });

  it('refuses to start a session that already exists', () => {
    spec
      .given([started])
      .when({
        type: 'StartSession',
        sessionId: 'ses_1',
        memberId: 'usr_ann',
        refreshTokenHash: 'h-other',
        expiresAt: LATER,
      })
      .thenFails('ALREADY_EXISTS');
  });
});

describe('rotating the refresh token', () => {
  it('spends the current token and issues the next', () => {
    const state = spec
      .given([started])
      .when(rotate('h0', 'h1'))
      .then([refreshed('h1')], { outcome: 'rotated', memberId: 'usr_ann' });
    expect(state.currentHash).toBe('h1');
    expect(state.expiresAt).toBe(MUCH_LATER);
    expect(state.spentHashes.has('h0')).toBe(true);
  });

  it('keeps rotating along the family', () => {
    spec
      .given([started, refreshed('h1'), refreshed('h2')])
      .when(rotate('h2', 'h3'))
      .then([refreshed('h3')], { outcome: 'rotated', memberId: 'usr_ann' });
  });

  it('revokes the whole family when a spent token comes back', () => {
    const state = spec
      .given([started, refreshed('h1')])
      .when(rotate('h0'))
      .then([revoked('refresh_token_reused')], { outcome: 'reuse_detected', memberId: 'usr_ann' });
    expect(state.status).toBe('revoked');
  });

  it('revokes the family when any earlier token of it comes back, not only the last one spent', () => {
    spec
      .given([started, refreshed('h1'), refreshed('h2'), refreshed('h3')])
      .when(rotate('h1'))
      .then([revoked('refresh_token_reused')], { outcome: 'reuse_detected', memberId: 'usr_ann' });
  });

  it('revokes the family on reuse even after the session expired', () => {
    spec
      .given([started, refreshed('h1', LATER)])
      .when(rotate('h0'), { now: MUCH_LATER })
      .then([revoked('refresh_token_reused')]);
  });

  it('refuses the current token once the family was revoked for reuse', () => {
    spec
      .given([started, refreshed('h1'), revoked('refresh_token_reused')])
      .when(rotate('h1'))
      .thenFails('UNAUTHENTICATED');
  });

  it('refuses a spent token once the family is revoked, recording nothing more', () => {
    spec
      .given([started, refreshed('h1'), revoked('refresh_token_reused')])
      .when(rotate('h0'))
      .thenFails('UNAUTHENTICATED');
  });

  it('refuses a token the family never issued', () => {
    spec.given([started]).when(rotate('h-forged')).thenFails('UNAUTHENTICATED');
  });

  it('refuses an expired refresh token', () => {
    spec
      .given([started])
      .when(rotate('h0'), { now: MUCH_LATER })
      .thenFails('UNAUTHENTICATED', { message: /expired/ });
  });

  it('refuses a refresh token at the very moment it expires', () => {
    spec.given([started]).when(rotate('h0'), { now: LATER }).thenFails('UNAUTHENTICATED');
  });

  it('accepts a refresh token a millisecond before it expires', () => {
    spec
      .given([started])
      .when(rotate('h0', 'h1'), { now: '2030-06-16T11:59:59.999Z' })
      .then([refreshed('h1')]);
  });

  it('refuses a session that does not exist', () => {
    spec.given([]).when(rotate('h0')).thenFails('UNAUTHENTICATED');
  });

  it('refuses a session that was logged out', () => {
    spec
      .given([started, revoked('logout')])
      .when(rotate('h0'))
      .thenFails('UNAUTHENTICATED');
  });
});

describe('ending a session', () => {
  it('ends the owner’s session', () => {
    const state = spec
      .given([started, refreshed('h1')])
      .when({ type: 'EndSession', memberId: 'usr_ann' })
      .then([revoked('logout')], { outcome: 'ended', memberId: 'usr_ann' });
    expect(state.status).toBe('revoked');
  });

  it('answers another member as if the session did not exist', () => {
    spec.given([started]).when({ type: 'EndSession', memberId: 'usr_bob' }).thenFails('NOT_FOUND');
  });

  it('refuses a session that does not exist', () => {
    spec.given([]).when({ type: 'EndSession', memberId: 'usr_ann' }).thenFails('NOT_FOUND');
  });

  it('records nothing when the session has already ended', () => {
    spec
      .given([started, revoked('logout')])
      .when({ type: 'EndSession', memberId: 'usr_ann' })
      .thenNothingHappened({ outcome: 'ended', memberId: 'usr_ann' });
  });

  it('records nothing more when the family was already revoked for reuse', () => {
    spec
      .given([started, refreshed('h1'), revoked('refresh_token_reused')])
      .when({ type: 'EndSession', memberId: 'usr_ann' })
      .thenNothingHappened();
  });

  it('answers another member as missing even after the session ended', () => {
    spec
      .given([started, revoked('logout')])
      .when({ type: 'EndSession', memberId: 'usr_bob' })
      .thenFails('NOT_FOUND');
  });
});
