import type { z } from 'zod';
import { ValidationError } from '../domain/errors.js';

/** Parses with zod; the first problem becomes a ValidationError naming the field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, root = 'input'): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path ?? [];
  const field =
    path.length === 0
      ? root
      : path
          .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
          .join('');
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
