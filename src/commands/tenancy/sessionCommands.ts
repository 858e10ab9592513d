import { z } from 'zod';
import {
  hashRefreshToken,
  issueRefreshToken,
  parseRefreshToken,
  REFRESH_TOKEN_SECONDS,
} from '../../adapters/crypto/tokens.js';
import { ROLE_SCOPES, type Role } from '../../domain/access.js';
import { LedgerlineError } from '../../domain/errors.js';
import { decideSession, evolveSession, initialSession } from '../../domain/tenancy/session.js';
import { eventMetadata, executeOnStream, loadAggregate } from '../aggregate.js';
import { defineCommand } from '../catalog.js';
import type { CommandContext } from '../context.js';
import * as s from '../schemas.js';
import { sessionStream } from './organizationStream.js';

const sessionAggregate = { initialState: initialSession, evolve: evolveSession };
/** Verified against when no member matches, so a wrong email costs as long as a wrong password. */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
/** How long a login waits for a member just created to reach the read model. */
const LOGIN_CATCH_UP_MS = 2_000;

const tokens = z.object({
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number(),
  refreshToken: z.string(),
  memberId: z.string(),
  orgId: z.string(),
  role: z.string(),
  scopes: z.array(z.string()),
});

interface MemberRow {
  readonly member_id: string;
  readonly org_id: string;
  readonly role: Role;
  readonly status: string;
  readonly password_hash: string;
}

async function findMembers(
  context: CommandContext,
  email: string,
  orgId: string | undefined,
): Promise<MemberRow[]> {
  const { rows } = await context.services.db.query<MemberRow>(
    `SELECT member_id, org_id, role, status, password_hash FROM rm_members
      WHERE lower(email) = lower($1) AND status = 'active' AND ($2::text IS NULL OR org_id = $2) ORDER BY org_id LIMIT 10`,
    [email, orgId ?? null],
  );
  return rows;
}

async function issueTokens(
  context: CommandContext,
  member: MemberRow,
  sessionId: string,
  refreshToken: string,
) {
  const scopes = ROLE_SCOPES[member.role];
  const access = await context.services.tokens.issueAccessToken(
    { memberId: member.member_id, orgId: member.org_id, role: member.role, scopes, sessionId },
    context.now,
  );
  return {
    accessToken: access.token,
    tokenType: 'Bearer' as const,
    expiresIn: access.expiresIn,
    refreshToken,
    memberId: member.member_id,
    orgId: member.org_id,
    role: member.role,
    scopes: [...scopes],
  };
}

function expiry(context: CommandContext): string {
  return new Date(context.now.getTime() + REFRESH_TOKEN_SECONDS * 1000).toISOString();
}

export const authenticateUser = defineCommand({
  name: 'authenticate_user',
  title: 'Log in',
  description:
    'Exchanges a member’s email and password for a short-lived access token (Bearer) and a rotating refresh token. Name the organization when the email belongs to several. Attempts are rate-limited per account and per address.',
  input: z.strictObject({ email: s.email, password: z.string().min(1).max(256), orgId: s.orgId.optional() }),
  output: tokens,
  scope: null,
  minRole: 'any',
  audience: 'public',
  secretOutput: ['accessToken', 'refreshToken'],
  annotations: { destructiveHint: false },
  rest: { method: 'POST', path: '/v1/auth/login' },
  async run(input, context) {
    const { services } = context;
    const nowMs = context.now.getTime();
    const wait = services.loginLimiter.retryAfterMs(input.email, context.clientAddress, nowMs);
    if (wait > 0) {
      throw new LedgerlineError('RATE_LIMITED', 'Too many failed logins; wait before trying again.', {
        retryAfterSeconds: Math.ceil(wait / 1000),
      });
    }
    let members = await findMembers(context, input.email, input.orgId);
    if (members.length === 0 && (await services.consistency.waitForCaughtUp(LOGIN_CATCH_UP_MS))) {
      members = await findMembers(context, input.email, input.orgId);
    }
    // Check the password against every candidate before saying anything, so nobody learns
    // without the password that an email belongs to several organizations.
    const verified: MemberRow[] = [];
    for (const candidate of members.length > 0 ? members : [null]) {
      const ok = await services.passwords.verify(input.password, candidate?.password_hash ?? DUMMY_HASH);
      if (ok && candidate) verified.push(candidate);
    }
    const member = verified[0];
    if (!member) {
      services.loginLimiter.fail(input.email, context.clientAddress, nowMs);
      throw new LedgerlineError('INVALID_CREDENTIALS', 'The email or password is wrong.');
    }
    if (verified.length > 1) {
      throw new LedgerlineError(
        'VALIDATION_FAILED',
        'orgId: this member belongs to several organizations; name one',
        {
          field: 'orgId',
        },
      );
    }
    services.loginLimiter.succeed(input.email);
    const sessionId = services.newId('ses');
    const refresh = issueRefreshToken(member.org_id, sessionId);
    const metadata = {
      ...eventMetadata(context),
      actor: { kind: 'member' as const, id: member.member_id, role: member.role },
    };
    const outcome = await executeOnStream(
      context,
      sessionStream(member.org_id, sessionId),
      sessionAggregate,
      (state) =>
        decideSession(
          {
            type: 'StartSession',
            sessionId,
            memberId: member.member_id,
            refreshTokenHash: refresh.hash,
            expiresAt: expiry(context),
          },
          state,
          context.now.toISOString(),
        ),
      metadata,
    );
    return { ...outcome, output: await issueTokens(context, member, sessionId, refresh.token) };
  },
});

export const refreshToken = defineCommand({
  name: 'refresh_token',
  title: 'Refresh an access token',
  description:
    'Spends a refresh token for a new access token and a new refresh token. Each refresh token works once: presenting a spent one revokes the whole session (it was stolen or replayed).',
  input: z.strictObject({ refreshToken: z.string().min(1).max(512) }),
  output: tokens,
  scope: null,
  minRole: 'any',
  audience: 'public',
  secretOutput: ['accessToken', 'refreshToken'],
  annotations: {},
  rest: { method: 'POST', path: '/v1/auth/refresh' },
  async run(input, context) {
    const parsed = parseRefreshToken(input.refreshToken);
    if (!parsed) throw new LedgerlineError('UNAUTHENTICATED', 'The refresh token is not valid.');
    const stream = sessionStream(parsed.orgId, parsed.sessionId);
    const { state } = await loadAggregate(context, stream, sessionAggregate);
    if (!state.exists) throw new LedgerlineError('UNAUTHENTICATED', 'The refresh token is not valid.');
    const { rows } = await context.services.db.query<MemberRow>(
      `SELECT member_id, org_id, role, status, password_hash FROM rm_members WHERE member_id = $1 AND org_id = $2`,
      [state.memberId, parsed.orgId],
    );
    const member = rows[0];
    // A member deactivated since logging in gets nothing, and the session is left as it is.
    if (!member || member.status !== 'active')
      throw new LedgerlineError('UNAUTHENTICATED', 'The member is no longer active.');
    const next = issueRefreshToken(parsed.orgId, parsed.sessionId);
    const metadata = {
      ...eventMetadata(context),
      actor: { kind: 'member' as const, id: state.memberId, role: member.role },
    };
    const outcome = await executeOnStream(
      context,
      stream,
      sessionAggregate,
      (current) =>
        decideSession(
          {
            type: 'RotateRefreshToken',
            presentedHash: hashRefreshToken(input.refreshToken),
            nextHash: next.hash,
            expiresAt: expiry(context),
          },
          current,
          context.now.toISOString(),
        ),
      metadata,
    );
    if (outcome.output.outcome === 'reuse_detected') {
      throw new LedgerlineError(
        'UNAUTHENTICATED',
        'This refresh token was already used; the session is revoked. Log in again.',
      );
    }
    return { ...outcome, output: await issueTokens(context, member, parsed.sessionId, next.token) };
  },
});

export const logout = defineCommand({
  name: 'logout',
  title: 'Log out',
  description:
    'Ends the caller’s login session: its refresh token stops working. (The access token itself expires on its own within 15 minutes.) Only for access tokens, not API keys.',
  input: z.strictObject({}),
  output: z.object({ sessionId: z.string(), status: z.string() }),
  scope: null,
  minRole: 'any',
  audience: 'organization',
  allowWhenSuspended: true,
  annotations: { idempotentHint: true },
  rest: { method: 'POST', path: '/v1/auth/logout' },
  async run(_input, context) {
    const principal = context.principal;
    if (!principal?.sessionId) {
      throw new LedgerlineError(
        'VALIDATION_FAILED',
        'Authorization: API keys have no session; revoke the key instead.',
        {
          field: 'Authorization',
        },
      );
    }
    const sessionId = principal.sessionId;
    const outcome = await executeOnStream(
      context,
      sessionStream(principal.orgId, sessionId),
      sessionAggregate,
      (state) =>
        decideSession({ type: 'EndSession', memberId: principal.memberId }, state, context.now.toISOString()),
    );
    return { ...outcome, output: { sessionId, status: 'ended' } };
  },
});
