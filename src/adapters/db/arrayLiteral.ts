/**
 * PostgreSQL array literals (`{"a","b",NULL}`) for column-array parameters (`$1::text[]`),
 * written in one pass. The pg driver turns a JavaScript array into the same text, but runs two
 * regular-expression replacements on every element; a projection writes a dozen such arrays
 * of a thousand elements per batch, so this matters. PGlite takes the same text.
 */

/** Characters that must be backslash-escaped inside a quoted array element. */
const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/** Every element quoted (so commas, braces, spaces and the word NULL stay text); null is NULL. */
export function textArray(values: readonly (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i += 1) {
    if (i > 0) out += ',';
    const value = values[i];
    if (value === null || value === undefined) {
      out += 'NULL';
    } else if (NEEDS_ESCAPE.test(value)) {
      out += `"${value.replace(ESCAPED, '\\$&')}"`;
    } else {
      out += `"${value}"`;
    }
  }
  return `${out}}`;
}

/** Integers (safe ones) or booleans, which need no quoting. */
export function plainArray(values: readonly (number | boolean)[]): string {
  for (const value of values) {
    if (typeof value === 'number' && !Number.isSafeInteger(value))
      throw new Error(`not a safe integer for an array literal: ${String(value)}`);
  }
  return `{${values.join(',')}}`;
}
