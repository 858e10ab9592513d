/**
 * Access tokens (short-lived JWTs, HS256) and refresh tokens (opaque, rotating). Only hashes
 * of refresh tokens are ever stored.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import { isScope, MEMBER_ROLES, SUPER_ADMIN, type Role, type Scope } from '../../domain/access.js';
import { LedgerlineError } from '../../domain/errors.js';

export const ACCESS_TOKEN_SECONDS = 15 * 60;
export const REFRESH_TOKEN_SECONDS = 30 * 24 * 60 * 60;
const ISSUER = 'ledgerline';
const SECRET_BYTES = 32;
const REFRESH = /^rt\.(org_[A-Za-z0-9]{1,64}|platform)\.(ses_[0-9A-Z]{26})\.([A-Za-z0-9_-]{43})$/;

export interface AccessClaims {
  readonly memberId: string;
  readonly orgId: string;
  readonly role: Role;
  readonly scopes: readonly Scope[];
  /** The session (refresh-token family) this token belongs to. */
  readonly sessionId: string;
}

export interface TokenService {
  issueAccessToken(claims: AccessClaims, now: Date): Promise<{ token: string; expiresIn: number }>;
  verifyAccessToken(token: string, now: Date): Promise<AccessClaims & { tokenId: string }>;
  /**
   * A keyed fingerprint (HMAC-SHA-256 with the platform secret) of text that may hold a
   * secret, such as a request body kept to recognise a retried idempotency key: a plain hash
   * of a low-entropy password could be guessed offline from the stored value; this cannot.
   */
  fingerprint(purpose: string, text: string): string;
}

export function hmacTokenService(secret: Uint8Array): TokenService {
  if (secret.length < SECRET_BYTES)
    throw new Error(`the token signing secret must be at least ${SECRET_BYTES} bytes`);
  return {
    fingerprint(purpose, text) {
      return createHmac('sha256', secret).update(`${purpose}\n${text}`, 'utf8').digest('hex');
    },
    async issueAccessToken(claims, now) {
      const issuedAt = Math.floor(now.getTime() / 1000);
      const token = await new SignJWT({
        org_id: claims.orgId,
        role: claims.role,
        scopes: [...claims.scopes],
        sid: claims.sessionId,
      })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(claims.memberId)
        .setIssuer(ISSUER)
        .setJti(randomBytes(12).toString('base64url'))
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ACCESS_TOKEN_SECONDS)
        .sign(secret);
      return { token, expiresIn: ACCESS_TOKEN_SECONDS };
    },
    async verifyAccessToken(token, now) {
      try {
        const { payload } = await jwtVerify(token, secret, {
          issuer: ISSUER,
          algorithms: ['HS256'],
          currentDate: now,
        });
        const role = payload['role'];
        const scopes = payload['scopes'];
        const orgId = payload['org_id'];
        const sessionId = payload['sid'];
        if (
          typeof payload.sub !== 'string' ||
          typeof payload.jti !== 'string' ||
          typeof orgId !== 'string' ||
          typeof sessionId !== 'string' ||
          typeof role !== 'string' ||
          !(role === SUPER_ADMIN || (MEMBER_ROLES as readonly string[]).includes(role)) ||
          !Array.isArray(scopes) ||
          !scopes.every((scope): scope is Scope => typeof scope === 'string' && isScope(scope))
        ) {
          throw new LedgerlineError('UNAUTHENTICATED', 'The access token is malformed.');
        }
        return { memberId: payload.sub, orgId, role: role as Role, scopes, sessionId, tokenId: payload.jti };
      } catch (error) {
        if (error instanceof LedgerlineError) throw error;
        const expired = error instanceof joseErrors.JWTExpired;
        throw new LedgerlineError(
          'UNAUTHENTICATED',
          expired ? 'The access token has expired; refresh it.' : 'The access token is not valid.',
        );
      }
    },
  };
}

export function issueRefreshToken(orgId: string, sessionId: string): { token: string; hash: string } {
  const token = `rt.${orgId}.${sessionId}.${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function parseRefreshToken(token: string): { orgId: string; sessionId: string } | null {
  const match = REFRESH.exec(token);
  if (!match?.[1] || !match[2]) return null;
  return { orgId: match[1], sessionId: match[2] };
}
