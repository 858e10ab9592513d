/**
 * The shape of every aggregate's logic: `decide(command, state, context) → events`,
 * `evolve(state, event) → state`. Pure: the clock and new ids arrive in the context, expected
 * failures come back as values, only bugs throw.
 */
import { LedgerlineError, type ErrorCode, type ErrorDetails } from './errors.js';

/** An event's data is checked to be plain JSON where it is stored (the event store). */
export interface DomainEvent {
  readonly type: string;
  readonly data: object;
}

export interface DecideContext {
  /** Now, as an ISO 8601 UTC string with milliseconds (comparable as text). */
  readonly now: string;
}

export type Decision<E extends DomainEvent, R> =
  | { readonly ok: true; readonly events: readonly E[]; readonly result: R }
  | { readonly ok: false; readonly error: LedgerlineError };

export interface Decider<C, S, E extends DomainEvent, R> {
  readonly initialState: S;
  evolve(state: S, event: E): S;
  decide(command: C, state: S, context: DecideContext): Decision<E, R>;
}

export function accept<E extends DomainEvent, R>(events: readonly E[], result: R): Decision<E, R> {
  return { ok: true, events, result };
}

export function refuse<E extends DomainEvent, R>(
  code: ErrorCode,
  message: string,
  details: ErrorDetails = {},
): Decision<E, R> {
  return { ok: false, error: new LedgerlineError(code, message, details) };
}

/** For exhaustive switches: a case the type system says cannot happen. */
export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
