/**
 * Canonical JSON: the one byte-exact encoding that hashes are computed over.
 *
 * Object keys are sorted by UTF-16 code units (as RFC 8785 does), no whitespace, strings and
 * numbers encoded as ECMAScript's JSON.stringify encodes them. Only plain JSON values are
 * accepted: a value that JSON cannot carry faithfully (undefined, NaN, a Date, a bigint, a
 * cycle) is an error, never silently changed, because a hash over a changed value would
 * verify data nobody wrote. Validation and encoding are one walk: this runs for every event.
 */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Deeper nesting than this is refused: nothing we store needs it, and recursion is bounded. */
export const JSON_DEPTH_MAX = 64;

export class NotJsonError extends Error {
  override readonly name = 'NotJsonError';
  readonly reason: string;

  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.reason = reason;
  }
}

/**
 * The canonical encoding of `value`; throws NotJsonError naming the first offending path
 * (`$` is the value itself) when it is not plain JSON.
 */
export function canonicalJson(value: unknown, path = '$'): string {
  return encode(value, path, 0);
}

/** Throws NotJsonError naming the first offending path when `value` is not plain JSON. */
export function assertJson(value: unknown, path = '$'): asserts value is JsonValue {
  encode(value, path, 0);
}

function encode(value: unknown, path: string, depth: number): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value, path);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new NotJsonError(path, `${String(value)} is not a JSON number`);
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      // A cycle is infinitely deep, so the depth bound catches it too.
      if (depth >= JSON_DEPTH_MAX) {
        throw new NotJsonError(path, `is nested deeper than ${JSON_DEPTH_MAX} levels (or contains a cycle)`);
      }
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (let i = 0; i < value.length; i += 1) items.push(encode(value[i], `${path}[${i}]`, depth + 1));
        return `[${items.join(',')}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new NotJsonError(path, 'only plain objects are JSON (no Date, Map, class instances)');
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort(compareCodeUnits);
      const members: string[] = [];
      for (const key of keys) {
        members.push(`${encodeString(key, path)}:${encode(record[key], `${path}.${key}`, depth + 1)}`);
      }
      return `{${members.join(',')}}`;
    }
    case 'undefined':
    case 'bigint':
    case 'function':
    case 'symbol':
      throw new NotJsonError(path, `a ${typeof value} is not JSON`);
  }
}

function encodeString(value: string, path: string): string {
  // PostgreSQL's jsonb cannot store U+0000; refusing it everywhere keeps every adapter alike.
  if (value.includes('\u0000')) throw new NotJsonError(path, 'strings may not contain U+0000');
  if (!value.isWellFormed()) throw new NotJsonError(path, 'strings must be well-formed Unicode');
  return JSON.stringify(value);
}

function compareCodeUnits(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}
