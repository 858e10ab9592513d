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
  // Data built in key order (the ledger's transfer records) is encoded natively, several times
  // faster than a walk that builds the text; anything else, or anything wrong, is walked.
  if (isCanonicalAsIs(value, 0)) {
    const text = JSON.stringify(value);
    // The check above leaves strings alone: the only ones the Encoder refuses come out of
    // JSON.stringify as an escaped U+0000 or lone surrogate, found here in one scan.
    if (!REFUSED_ESCAPE.test(text)) return text;
  }
  return new Encoder(path).encode(value);
}

/** Throws NotJsonError naming the first offending path when `value` is not plain JSON. */
export function assertJson(value: unknown, path = '$'): asserts value is JsonValue {
  new Encoder(path).encode(value);
}

/** Printable ASCII but the quote and the backslash: encoded as themselves. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * How JSON.stringify writes what a string may not hold here: U+0000 and lone surrogates
 * (`\ud800`–`\udfff`). A match may be a false alarm (a backslash written before "u0000"):
 * then the Encoder, which looks at the strings themselves, decides.
 */
const REFUSED_ESCAPE = /\\u(?:0000|d[89a-f])/;

/** True when the canonical encoding of `value` is `value` itself between quotes. */
export function isPlainJsonString(value: string): boolean {
  return PLAIN.test(value);
}

/**
 * True when JSON.stringify(value) is the canonical encoding, but for strings: plain JSON (as
 * the Encoder accepts it) whose every object lists its keys in code-unit order — JSON.stringify
 * writes keys in Object.keys order, and encodes strings and numbers exactly as the Encoder
 * does. Strings the Encoder would refuse are found in the text afterwards (REFUSED_ESCAPE),
 * one scan instead of a test per string. False at the first doubt: the Encoder then sorts, or
 * names what is wrong.
 */
function isCanonicalAsIs(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth >= JSON_DEPTH_MAX) return false;
      // JSON.stringify would call a toJSON method; the Encoder never does.
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i += 1) {
          if (!isCanonicalAsIs(value[i], depth + 1)) return false;
        }
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      for (let i = 0; i < keys.length; i += 1) {
        const key = keys[i] as string;
        if (i > 0 && !((keys[i - 1] as string) < key)) return false;
        if (!isCanonicalAsIs(record[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * One walk that validates and encodes. It runs for every event and every transfer's request
 * fingerprint, so it builds no path text while it walks: the keys it is inside are a stack,
 * turned into a path only for the error that needs one.
 */
class Encoder {
  private out = '';
  private readonly trail: (string | number)[] = [];

  constructor(private readonly root: string) {}

  encode(value: unknown): string {
    this.value(value, 0);
    return this.out;
  }

  private fail(reason: string): never {
    let path = this.root;
    for (const step of this.trail) path += typeof step === 'number' ? `[${step}]` : `.${step}`;
    throw new NotJsonError(path, reason);
  }

  private value(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string':
        this.string(value);
        return;
      case 'boolean':
        this.out += value ? 'true' : 'false';
        return;
      case 'number':
        if (!Number.isFinite(value)) this.fail(`${String(value)} is not a JSON number`);
        this.out += JSON.stringify(value);
        return;
      case 'object': {
        if (value === null) {
          this.out += 'null';
          return;
        }
        // A cycle is infinitely deep, so the depth bound catches it too.
        if (depth >= JSON_DEPTH_MAX) {
          this.fail(`is nested deeper than ${JSON_DEPTH_MAX} levels (or contains a cycle)`);
        }
        if (Array.isArray(value)) {
          this.out += '[';
          for (let i = 0; i < value.length; i += 1) {
            if (i > 0) this.out += ',';
            this.trail.push(i);
            this.value(value[i], depth + 1);
            this.trail.pop();
          }
          this.out += ']';
          return;
        }
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          this.fail('only plain objects are JSON (no Date, Map, class instances)');
        }
        const record = value as Record<string, unknown>;
        // Without a comparator, sort compares strings by UTF-16 code units: RFC 8785's order.
        const keys = Object.keys(record).sort();
        this.out += '{';
        for (let i = 0; i < keys.length; i += 1) {
          const key = keys[i] as string;
          if (i > 0) this.out += ',';
          this.string(key);
          this.out += ':';
          this.trail.push(key);
          this.value(record[key], depth + 1);
          this.trail.pop();
        }
        this.out += '}';
        return;
      }
      case 'undefined':
      case 'bigint':
      case 'function':
      case 'symbol':
        this.fail(`a ${typeof value} is not JSON`);
    }
  }

  private string(value: string): void {
    // Most strings (ids, amounts, account paths) are printable ASCII with nothing to escape:
    // their JSON is the text in quotes, with no further check needed.
    if (PLAIN.test(value)) {
      this.out += `"${value}"`;
      return;
    }
    // PostgreSQL's jsonb cannot store U+0000; refusing it everywhere keeps every adapter alike.
    if (value.includes('\u0000')) this.fail('strings may not contain U+0000');
    if (!value.isWellFormed()) this.fail('strings must be well-formed Unicode');
    this.out += JSON.stringify(value);
  }
}
