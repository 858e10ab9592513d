/** Schemas shared by many catalog entries. Every string is bounded. */
import { z } from 'zod';
import { SCOPES } from '../domain/access.js';

export const NAME_LENGTH_MAX = 200;
export const REASON_LENGTH_MAX = 500;

export const name = z.string().trim().min(1).max(NAME_LENGTH_MAX);
export const email = z.email().max(254);
export const password = z.string().min(12, 'must be at least 12 characters').max(256);
export const orgId = z.string().regex(/^org_[0-9A-Z]{26}$/, 'must be an organization id (org_…)');
export const memberId = z.string().regex(/^usr_[0-9A-Z]{26}$/, 'must be a member id (usr_…)');
export const keyId = z.string().regex(/^key_[0-9A-Z]{26}$/, 'must be an API key id (key_…)');
export const scope = z.enum(SCOPES);
export const scopes = z
  .array(scope)
  .max(SCOPES.length)
  .refine((list) => new Set(list).size === list.length, 'must not repeat a scope');
export const reason = z.string().trim().min(1).max(REASON_LENGTH_MAX);
export const isoTime = z.iso.datetime({ offset: true });

/** Lists page by an opaque cursor; SPEC: cursor pagination everywhere a list can grow. */
export const PAGE_SIZE_DEFAULT = 50;
export const PAGE_SIZE_MAX = 200;
export const pageParams = {
  limit: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT),
  cursor: z.string().max(500).refine(isCursor, 'must be the nextCursor of an earlier page').optional(),
};

export function page<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

/** Only what encodeCursor makes: canonical base64url of a non-empty printable key. */
function isCursor(cursor: string): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return false;
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  return /^[\x21-\x7e]+$/.test(key) && encodeCursor(key) === cursor;
}

export function decodeCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

/**
 * One page of a list read with `limit + 1` rows: the extra row only says there is more, and
 * the cursor is the key of the last row shown.
 */
export function pageOf<Row, Item>(
  rows: readonly Row[],
  limit: number,
  toItem: (row: Row) => Item,
  keyOf: (item: Item) => string,
): { items: Item[]; nextCursor: string | null } {
  const items = rows.slice(0, limit).map(toItem);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
