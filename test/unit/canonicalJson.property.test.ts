import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assertJson, canonicalJson, NotJsonError, type JsonValue } from '../../src/domain/canonicalJson.js';

const RUNS = 2_000;
const json = fc.jsonValue({ maxDepth: 5 }) as fc.Arbitrary<JsonValue>;

function shuffleKeys(value: JsonValue, seed: number): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item: JsonValue) => shuffleKeys(item, seed + 1));
  const entries = Object.entries(value as Record<string, JsonValue>);
  const rotated = entries
    .slice(seed % Math.max(entries.length, 1))
    .concat(entries.slice(0, seed % Math.max(entries.length, 1)));
  return Object.fromEntries(rotated.reverse().map(([key, item]) => [key, shuffleKeys(item, seed + 1)]));
}

describe('canonical JSON', () => {
  it('does not depend on the order keys were written in', () => {
    fc.assert(
      fc.property(json, fc.nat(), (value, seed) => {
        expect(canonicalJson(shuffleKeys(value, seed))).toBe(canonicalJson(value));
      }),
      { numRuns: RUNS },
    );
  });

  it('parses back to the same value and is stable under a JSON round trip', () => {
    fc.assert(
      fc.property(json, (value) => {
        const encoded = canonicalJson(value);
        const parsed = JSON.parse(encoded) as JsonValue;
        expect(parsed).toStrictEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(parsed)).toBe(encoded);
      }),
      { numRuns: RUNS },
    );
  });

  it('encodes different values differently', () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        const same =
          JSON.stringify(JSON.parse(canonicalJson(a))) === JSON.stringify(JSON.parse(canonicalJson(b)));
        expect(canonicalJson(a) === canonicalJson(b)).toBe(same);
      }),
      { numRuns: RUNS },
    );
  });

  it('encodes every string (plain ASCII or not) exactly as JSON.stringify does', () => {
    const text = fc.oneof(
      fc.string({ unit: 'grapheme-ascii' }),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: fc.constantFrom('"', '\\', '/', '\u007f', '\n', 'a', '\u2028', 'é') }),
    );
    fc.assert(
      fc.property(
        text.filter((value) => !value.includes('\u0000')),
        (value) => {
          expect(canonicalJson(value)).toBe(JSON.stringify(value));
          expect(canonicalJson({ [value]: value })).toBe(
            `{${JSON.stringify(value)}:${JSON.stringify(value)}}`,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('has no whitespace between tokens and sorts keys by code unit', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x y'], B: { z: 0, ä: 1 } })).toBe(
      '{"B":{"z":0,"ä":1},"a":[true,null,"x y"],"b":1}',
    );
  });

  it('refuses what JSON cannot carry, naming the path', () => {
    const cases: [unknown, string][] = [
      [{ a: Number.NaN }, '$.a'],
      [{ a: [1, undefined] }, '$.a[1]'],
      [{ a: new Date(0) }, '$.a'],
      [{ a: 1n }, '$.a'],
      [{ a: 'x\u0000' }, '$.a'],
      [{ a: '\ud800' }, '$.a'],
      [{ a: Symbol('s') }, '$.a'],
      [{ a: { b: { c: () => 1 } } }, '$.a.b.c'],
    ];
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    cases.push([cyclic, `$${'.self'.repeat(64)}`]);
    for (const [value, path] of cases) {
      try {
        assertJson(value);
        throw new Error(`accepted ${path}`);
      } catch (error) {
        expect(error).toBeInstanceOf(NotJsonError);
        expect((error as NotJsonError).path).toBe(path);
      }
    }
  });
});

/** An independent definition: sort every object's keys, then JSON.stringify. */
function reference(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${(value as readonly JsonValue[]).map(reference).join(',')}]`;
  const record = value as Readonly<Record<string, JsonValue>>;
  return `{${Object.keys(record)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${reference(record[key] as JsonValue)}`)
    .join(',')}}`;
}

/** The same value with every object's keys written in code-unit order (the native path). */
function sortedCopy(value: JsonValue): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return (value as readonly JsonValue[]).map(sortedCopy);
  const record = value as Readonly<Record<string, JsonValue>>;
  // fromEntries makes own properties, "__proto__" included (an assignment would not).
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, sortedCopy(record[key] as JsonValue)]),
  );
}

describe('canonical JSON, encoded natively when keys are already in order', () => {
  it('gives the reference encoding whether the keys came in order or not', () => {
    const keyed = fc.jsonValue({ maxDepth: 4 }).map((value) => value as JsonValue);
    fc.assert(
      fc.property(keyed, fc.nat(), (value, seed) => {
        const expected = reference(value);
        expect(canonicalJson(value)).toBe(expected);
        expect(canonicalJson(sortedCopy(value))).toBe(expected);
        expect(canonicalJson(shuffleKeys(value, seed))).toBe(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it('still refuses what JSON cannot carry in data whose keys are in order', () => {
    expect(() => canonicalJson({ a: 1, b: { c: undefined } })).toThrow(NotJsonError);
    expect(() => canonicalJson({ a: 'x\u0000' })).toThrow(/U\+0000/);
    expect(() => canonicalJson({ a: '\ud800' })).toThrow(/well-formed/);
    expect(() => canonicalJson({ a: new Date(0) })).toThrow(/plain objects/);
    expect(() => canonicalJson([1, Number.POSITIVE_INFINITY])).toThrow(NotJsonError);
    const withToJson = Object.assign([1, 2], { toJSON: () => 'changed' });
    expect(canonicalJson(withToJson)).toBe('[1,2]');
    expect(canonicalJson({ '10': 'a', '9': 'b' })).toBe('{"10":"a","9":"b"}');
  });

  it('finds refused strings anywhere in ordered data, and lets through text that only looks like them', () => {
    expect(() => canonicalJson({ a: { b: ['ok', '\udc00'] } })).toThrow(/well-formed/);
    expect(() => canonicalJson({ a: 1, ['k\u0000']: 2 })).toThrow(/U\+0000/);
    // A backslash before "u0000" is an ordinary string: the scan's alarm is false, the Encoder accepts it.
    expect(canonicalJson({ a: '\\u0000', b: '\\ud800' })).toBe(
      JSON.stringify({ a: '\\u0000', b: '\\ud800' }),
    );
  });

  it('accepts or refuses ordered data exactly as the walking encoder does, whatever its strings hold', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 6 }),
      fc.string({
        unit: fc.constantFrom('a', '\u0000', '\ud800', '\udfff', '\\', 'u', '0', 'd'),
        maxLength: 8,
      }),
    );
    const data = fc.dictionary(text, fc.oneof(text, fc.array(text, { maxLength: 3 })), { maxKeys: 4 });
    fc.assert(
      fc.property(data, (value) => {
        const ordered = sortedCopy(value);
        let walked: string | Error;
        try {
          assertJson(ordered);
          walked = reference(ordered);
        } catch (error) {
          walked = error as Error;
        }
        if (typeof walked === 'string') expect(canonicalJson(ordered)).toBe(walked);
        else expect(() => canonicalJson(ordered)).toThrow(NotJsonError);
      }),
      { numRuns: RUNS },
    );
  });
});
