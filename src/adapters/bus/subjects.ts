/**
 * NATS subjects for events: `{prefix}.{orgId}.{category}.{type}` (DESIGN "NATS"), with prefix
 * `ledger` by default. A platform stream (`platform.{category}-{id}`) maps to the organization
 * token `platform`. NATS splits subjects on `.` and reserves `*` and `>`; every token is
 * reduced to letters, digits, `_` and `-` (organization ids, categories and event types are
 * that already, so nothing real collides), and subscribers still compare the organization id
 * exactly — a subject is a routing hint, never the isolation boundary.
 */
const TOKEN_UNSAFE = /[^A-Za-z0-9_-]/g;
/** NATS has no hard limit on a token, but a subject is kept well under its 64 KiB maximum. */
const TOKEN_LENGTH_MAX = 128;

export function subjectToken(text: string): string {
  const token = text.replace(TOKEN_UNSAFE, '_').slice(0, TOKEN_LENGTH_MAX);
  return token === '' ? '_' : token;
}

export function eventSubject(prefix: string, orgId: string, category: string, type: string): string {
  return `${prefix}.${subjectToken(orgId)}.${subjectToken(category)}.${subjectToken(type)}`;
}

/** Every event of one organization, or of all of them. */
export function filterSubject(prefix: string, orgId?: string): string {
  return orgId === undefined ? `${prefix}.>` : `${prefix}.${subjectToken(orgId)}.>`;
}
