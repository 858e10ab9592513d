/**
 * Stream names put the organization first: `{orgId}.{category}-{entityId}` (SPEC §2), so
 * one organization is one stream-name prefix. Platform streams use `platform` in place of
 * an organization id.
 */
export const PLATFORM_SCOPE = 'platform';
export const STREAM_NAME_LENGTH_MAX = 256;

const STREAM_NAME = /^(platform|org_[A-Za-z0-9]{1,64})\.([a-z][a-z0-9_]{0,63})-([A-Za-z0-9_:.@-]{1,160})$/;
const ORG_ID = /^org_[A-Za-z0-9]{1,64}$/;

export interface StreamName {
  /** The organization id, or `platform`. */
  readonly scope: string;
  readonly category: string;
  readonly entityId: string;
}

/** Null when `name` is not a valid stream name. */
export function parseStreamName(name: string): StreamName | null {
  if (name.length > STREAM_NAME_LENGTH_MAX) return null;
  const match = STREAM_NAME.exec(name);
  if (!match) return null;
  const [, scope = '', category = '', entityId = ''] = match;
  return { scope, category, entityId };
}

export function streamName(scope: string, category: string, entityId: string): string {
  return `${scope}.${category}-${entityId}`;
}

export function isOrgId(value: string): boolean {
  return ORG_ID.test(value);
}

/** The stream-name prefix that selects every stream of one organization. */
export function orgStreamPrefix(orgId: string): string {
  return `${orgId}.`;
}
