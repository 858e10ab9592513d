/**
 * `Authorization: Bearer <API key | access token>` → one Principal, for REST and MCP alike.
 * A bad credential is a 401 that never says which part was wrong.
 */
import { isApiKeyToken, parseApiKeyToken, secretMatches } from '../crypto/apiKeys.js';
import { scopesAllowedFor } from '../../domain/access.js';
import { LedgerlineError } from '../../domain/errors.js';
import type { Services } from '../../commands/context.js';
import type { Principal } from '../../commands/principal.js';
import type { Channel } from '../eventstore/port.js';

/** A key made a moment ago may not be projected yet: wait this long for it once. */
const NEW_KEY_CATCH_UP_MS = 2_000;
const BEARER = /^Bearer ([\x21-\x7e]{1,2048})$/;

function invalid(): LedgerlineError {
  return new LedgerlineError('UNAUTHENTICATED', 'The credential is not valid.');
}

/** Null when no Authorization header was sent; throws UNAUTHENTICATED when one was and is bad. */
export async function authenticate(
  header: string | undefined,
  services: Services,
  channel: Channel,
  requestId: string,
): Promise<Principal | null> {
  if (header === undefined) return null;
  const token = BEARER.exec(header)?.[1];
  if (!token)
    throw new LedgerlineError('UNAUTHENTICATED', 'Send Authorization: Bearer <API key or access token>.');
  const now = services.clock();
  if (isApiKeyToken(token)) {
    const parsed = parseApiKeyToken(token);
    if (!parsed) throw invalid();
    let key = await services.credentials.apiKey(parsed.keyId);
    if (!key && (await services.consistency.waitForCaughtUp(NEW_KEY_CATCH_UP_MS))) {
      key = await services.credentials.apiKey(parsed.keyId);
    }
    if (!key || !secretMatches(token, key.secret_hash)) throw invalid();
    if (key.status !== 'active') throw new LedgerlineError('UNAUTHENTICATED', 'The API key is revoked.');
    if (key.expires_at && key.expires_at <= now)
      throw new LedgerlineError('UNAUTHENTICATED', 'The API key has expired.');
    if (key.creator_status !== null && key.creator_status !== 'active') {
      throw new LedgerlineError('UNAUTHENTICATED', 'The member who made this API key is no longer active.');
    }
    const allowed = scopesAllowedFor(key.role);
    return {
      orgId: key.org_id,
      actor: { kind: 'api_key', id: key.key_id },
      memberId: key.created_by,
      role: key.role,
      scopes: key.scopes.filter((scope) => allowed.has(scope)),
      channel,
      requestId,
      sessionId: null,
    };
  }
  const claims = await services.tokens.verifyAccessToken(token, now);
  const member = await services.credentials.member(claims.orgId, claims.memberId);
  if (member?.status !== 'active')
    throw new LedgerlineError('UNAUTHENTICATED', 'The member is no longer active.');
  return {
    orgId: claims.orgId,
    actor: { kind: 'member', id: claims.memberId },
    memberId: claims.memberId,
    role: claims.role,
    scopes: claims.scopes,
    channel,
    requestId,
    sessionId: claims.sessionId,
  };
}
