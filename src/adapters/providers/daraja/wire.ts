/**
 * Tolerant reading of Daraja's JSON (PROVIDERS.md §1): keys matched without regard to case
 * (mocks spell `ErrorCode` where Daraja spells `errorCode`), numbers and strings accepted for
 * the same field, lists that are sometimes a single object.
 */

export type JsonObject = Readonly<Record<string, unknown>>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value under `key`, matched exactly first, then ignoring case. */
export function field(object: JsonObject, key: string): unknown {
  if (Object.hasOwn(object, key)) return object[key];
  const lower = key.toLowerCase();
  for (const [name, value] of Object.entries(object)) {
    if (name.toLowerCase() === lower) return value;
  }
  return undefined;
}

/** A string, or a finite number as its decimal text; anything else is undefined. */
export function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) {
    // Large integers (receipt dates, phone numbers) without exponent notation.
    return Number.isInteger(value) ? BigInt(value).toString() : String(value);
  }
  return undefined;
}

/** A list that may have been sent as one object. */
export function list(value: unknown): readonly unknown[] {
  if (Array.isArray(value)) return value;
  return value === undefined || value === null ? [] : [value];
}

/** `[{Key|Name, Value}]` (or one such object) to a map of text values; keys without a value are kept as "". */
export function keyValues(value: unknown, keyName: 'Key' | 'Name'): Record<string, string> {
  const result: Record<string, string> = {};
  for (const item of list(value)) {
    if (!isObject(item)) continue;
    const key = text(field(item, keyName));
    if (key === undefined) continue;
    result[key] = text(field(item, 'Value')) ?? '';
  }
  return result;
}

/** Daraja's gateway error envelope (`requestId`, `errorCode`, `errorMessage`), if the body is one. */
export interface DarajaEnvelope {
  readonly requestId?: string;
  readonly errorCode: string;
  readonly errorMessage: string;
}

export function readEnvelope(body: unknown): DarajaEnvelope | undefined {
  if (!isObject(body)) return undefined;
  const errorCode = text(field(body, 'errorCode'));
  if (errorCode === undefined) return undefined;
  const requestId = text(field(body, 'requestId'));
  return {
    errorCode,
    errorMessage: text(field(body, 'errorMessage')) ?? '',
    ...(requestId === undefined ? {} : { requestId }),
  };
}
