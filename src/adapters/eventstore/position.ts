import { ValidationError } from '../../domain/errors.js';
import type { Position } from './port.js';

export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

export function maxPosition(a: Position, b: Position): Position {
  return comparePositions(a, b) >= 0 ? a : b;
}

/** The wire form of a position: `{commit}-{prepare}`, both decimal, never a JSON number. */
export function formatPosition(position: Position): string {
  return `${position.commit}-${position.prepare}`;
}

const POSITION = /^(\d{1,20})-(\d{1,20})$/;
const UINT64_MAX = (1n << 64n) - 1n;

export function parsePosition(text: string, field = 'position'): Position {
  const match = POSITION.exec(text);
  if (!match) throw new ValidationError(field, 'must look like "<commit>-<prepare>", two unsigned integers');
  const commit = BigInt(match[1] ?? '');
  const prepare = BigInt(match[2] ?? '');
  if (commit > UINT64_MAX || prepare > UINT64_MAX) throw new ValidationError(field, 'is out of range');
  return { commit, prepare };
}
