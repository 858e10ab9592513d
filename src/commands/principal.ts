import type { Channel } from '../adapters/eventstore/port.js';
import type { Role, Scope } from '../domain/access.js';

/**
 * Who is asking, established once from the credential (API key or access token) and used
 * by REST and MCP alike. The organization comes from here and nowhere else.
 */
export interface Principal {
  /** The caller's organization; `platform` for super admins. */
  readonly orgId: string;
  /** The credential: a member (by access token), an API key, or the system itself. */
  readonly actor: { readonly kind: 'member' | 'api_key' | 'system'; readonly id: string };
  /** The member behind the credential (a key's creator). */
  readonly memberId: string;
  readonly role: Role;
  readonly scopes: readonly Scope[];
  readonly channel: Channel;
  /** For access tokens: the login session (refresh-token family) they belong to. */
  readonly sessionId: string | null;
  readonly requestId: string;
}
