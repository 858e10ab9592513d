/**
 * Canonical JSON: the one byte-exact encoding that hashes are computed over.
 *
 * Object keys are sorted by UTF-16 code units (as RFC 8785 does), no whitespace, strings and
 * numbers encoded as ECMAScript's JSON.stringify encodes them. Only plain JSON values are
 * accepted: a value that JSON cannot carry faithfully (undefined, NaN, a Date, a bigint, a
 * cycle) is an error, never silently changed, because a hash over a changed value would
 * verify data nobody wrote.
 */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Deeper nesting than this is refused: nothing we store needs it, and recursion is bounded. */
export const JSON_DEPTH_MAX = 64;

export class NotJsonError extends Error {
  override readonly name = 'NotJsonError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

/** Throws NotJsonError naming the first offending path when `value` is not plain JSON. */
export function assertJson(value: unknown, path = '$'): asserts value is JsonValue {
  check(value, path, 0, new Set());
}

function check(value: unknown, path: string, depth: number, seen: Set<object>): void {
  if (depth > JSON_DEPTH_MAX) throw new NotJsonError(path, `nested deeper than ${JSON_DEPTH_MAX} levels`);
  switch (typeof value) {
    case 'string':
      // PostgreSQL's jsonb cannot store U+0000; refusing it everywhere keeps every adapter alike.
      if (value.includes('\u0000')) throw new NotJsonError(path, 'strings may not contain U+0000');
      if (!value.isWellFormed()) throw new NotJsonError(path, 'strings must be well-formed Unicode');
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new NotJsonError(path, `${String(value)} is not a JSON number`);
      return;
    case 'object': {
      if (value === null) return;
      if (seen.has(value)) throw new NotJsonError(path, 'contains a cycle');
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((item: unknown, index) => {
          check(item, `${path}[${index}]`, depth + 1, seen);
        });
      } else {
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          throw new NotJsonError(path, 'only plain objects are JSON (no Date, Map, class instances)');
        }
        for (const [key, item] of Object.entries(value)) {
          if (!key.isWellFormed()) throw new NotJsonError(path, 'keys must be well-formed Unicode');
          check(item, `${path}.${key}`, depth + 1, seen);
        }
      }
      seen.delete(value);
      return;
    }
    default:
      throw new NotJsonError(path, `a ${typeof value} is not JSON`);
  }
}

/** The canonical encoding of a JSON value (call assertJson first for untrusted input). */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item: JsonValue) => canonicalJson(item)).join(',')}]`;
  const record = value as { readonly [key: string]: JsonValue };
  const keys = Object.keys(record).sort(compareCodeUnits);
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key] as JsonValue)}`).join(',')}}`;
}

function compareCodeUnits(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}
