import type { z } from 'zod';
import { JSON_DEPTH_MAX } from '../domain/canonicalJson.js';
import { ValidationError } from '../domain/errors.js';

type PathPart = string | number | symbol;

function fieldOf(path: readonly PathPart[], root: string): string {
  return path.length === 0
    ? root
    : path
        .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
        .join('');
}

/**
 * Parses with zod; the first problem becomes a ValidationError naming the field. `storable`:
 * the input may reach an event or a fingerprint, so it must be what canonical JSON can hold.
 */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, root = 'input', storable = true): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) {
    // The input as sent: a record (metadata) drops a "__proto__" key without a word.
    if (storable) assertStorable(input, root);
    return parsed.data;
  }
  const issue = parsed.error.issues[0];
  const path = issue?.path ?? [];
  const field = fieldOf(path, root);
  const message =
    issue?.code === 'unrecognized_keys'
      ? `unknown field(s) ${issue.keys.join(', ')}`
      : (issue?.message ?? 'is invalid');
  const fullField =
    issue?.code === 'unrecognized_keys' && issue.keys[0] !== undefined
      ? path.length === 0
        ? issue.keys[0]
        : `${field}.${issue.keys[0]}`
      : field;
  throw new ValidationError(fullField, message, { issues: parsed.error.issues.length });
}

/** Code units that may start a string no event can store; most strings have none. */
// eslint-disable-next-line no-control-regex -- U+0000 is one of the code units looked for
const SUSPECT = /[\u0000\ud800-\udfff]/;

/** What canonical JSON refuses in a string (U+0000, an unpaired surrogate), or null. */
function unstorable(text: string): string | null {
  if (!SUSPECT.test(text)) return null;
  if (text.includes('\u0000')) return 'must not contain U+0000';
  return text.isWellFormed() ? null : 'must be well-formed Unicode (no unpaired surrogate)';
}

/**
 * Refuses, naming the field, an input a schema accepted but no event could store as sent: a
 * string or key canonical JSON refuses, nesting past its depth bound, or a "__proto__" key
 * (JSON.parse keeps it as an own key; zod's records drop it, so it would be lost unsaid).
 * Without this the refusal came from deep inside (a transfer's fingerprint, an idempotency
 * key's hash, the append) as a 500, or named the event's field instead of the caller's.
 */
function assertStorable(value: unknown, root: string): void {
  const path: PathPart[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (typeof node === 'string') {
      const problem = unstorable(node);
      if (problem !== null) throw new ValidationError(fieldOf(path, root), problem);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    if (depth >= JSON_DEPTH_MAX) {
      throw new ValidationError(fieldOf(path, root), `is nested deeper than ${JSON_DEPTH_MAX} levels`);
    }
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i += 1) {
        path.push(i);
        walk(node[i], depth + 1);
        path.pop();
      }
      return;
    }
    for (const key of Object.keys(node)) {
      const problem = key === '__proto__' ? 'must not be "__proto__"' : unstorable(key);
      if (problem !== null) throw new ValidationError(fieldOf(path, root), `a key ${problem}`);
      path.push(key);
      walk((node as Record<string, unknown>)[key], depth + 1);
      path.pop();
    }
  };
  walk(value, 0);
}
