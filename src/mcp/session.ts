/**
 * What one MCP session remembers: the last position a tool call wrote (so later reads in the
 * session reflect it, SPEC §3) and the resources it subscribed to.
 */
import { comparePositions, parsePosition } from '../adapters/eventstore/position.js';
import type { Position } from '../adapters/eventstore/port.js';

/** Subscriptions one session may hold at once. */
export const SUBSCRIPTIONS_PER_SESSION_MAX = 100;

export class SessionState {
  private last: Position | null = null;
  /** Subscribed URI → the JSON last sent for it (to tell whether it changed). */
  readonly subscriptions = new Map<string, string>();

  get position(): Position | null {
    return this.last;
  }

  /** Keeps the later of what is remembered and `position` (a wire position or null). */
  remember(position: unknown): void {
    if (typeof position !== 'string') return;
    let parsed: Position;
    try {
      parsed = parsePosition(position, 'position');
    } catch {
      return;
    }
    if (this.last === null || comparePositions(parsed, this.last) > 0) this.last = parsed;
  }
}
