/**
 * Given / when / then for deciders, in the style of Emmett's DeciderSpecification:
 *
 *   const spec = deciderSpec(organizationDecider);
 *   spec.given([created]).when(suspend).then([suspended]);
 *   spec.given([]).when(suspend).thenFails('NOT_FOUND');
 *
 * `given` folds the events through `evolve` from `initialState`; `when` runs `decide` with a
 * fixed clock (overridable per spec or per command). Every `then…` also checks what a decider
 * must always honour: it is deterministic (the same command on the same state decides the same
 * twice), it leaves the state it was given untouched, and what it emits evolves cleanly.
 */
import { expect } from 'vitest';
import type { DecideContext, Decision, DomainEvent } from '../../src/domain/decider.js';
import type { ErrorCode, LedgerlineError } from '../../src/domain/errors.js';

/** The clock every spec uses unless told otherwise. */
export const SPEC_NOW = '2030-06-15T12:00:00.000Z';

export interface DeciderUnderTest<C, S, E extends DomainEvent, R> {
  readonly initialState: S;
  evolve(state: S, event: E): S;
  decide(command: C, state: S, context: DecideContext): Decision<E, R>;
}

export interface Refusal {
  readonly message?: string | RegExp;
  /** Compared with toMatchObject: the details must hold at least these. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface Then<S, E, R> {
  /** The command is accepted and emits exactly these events (in order); answers the state after them. */
  then(events: readonly E[], result?: R): S;
  /** The command is accepted and emits nothing. */
  thenNothingHappened(result?: R): S;
  /** The command is refused with this code (and, when given, message and details); nothing is emitted. */
  thenFails(code: ErrorCode, refusal?: Refusal): LedgerlineError;
}

export interface When<C, S, E, R> {
  when(command: C, context?: Partial<DecideContext>): Then<S, E, R>;
}

export interface DeciderSpec<C, S, E, R> {
  given(events: readonly E[]): When<C, S, E, R>;
}

export function deciderSpec<C, S, E extends DomainEvent, R>(
  decider: DeciderUnderTest<C, S, E, R>,
  defaults: Partial<DecideContext> = {},
): DeciderSpec<C, S, E, R> {
  return {
    given(history) {
      return {
        when(command, override = {}) {
          const context: DecideContext = { now: SPEC_NOW, ...defaults, ...override };
          const decide = (): { state: S; decision: Decision<E, R> } => {
            const state = history.reduce(
              (current, event) => decider.evolve(current, event),
              decider.initialState,
            );
            const before = structuredClone(state);
            const decision = decider.decide(command, state, context);
            expect(state, 'decide must not change the state it was given').toEqual(before);
            return { state, decision };
          };
          const accepted = (): { state: S; events: readonly E[]; result: R } => {
            const { state, decision } = decide();
            if (!decision.ok) {
              throw new Error(
                `expected the command to be accepted, but it was refused: ${decision.error.code}: ${decision.error.message}`,
              );
            }
            expect(decide().decision, 'decide must be deterministic').toEqual(decision);
            return { state, events: decision.events, result: decision.result };
          };
          return {
            then(expected, result) {
              const { state, events, result: actual } = accepted();
              expect(events).toEqual(expected);
              if (result !== undefined) expect(actual).toEqual(result);
              return events.reduce((current, event) => decider.evolve(current, event), state);
            },
            thenNothingHappened(result) {
              const { state, events, result: actual } = accepted();
              expect(events).toEqual([]);
              if (result !== undefined) expect(actual).toEqual(result);
              return state;
            },
            thenFails(code, refusal = {}) {
              const { decision } = decide();
              if (decision.ok) {
                throw new Error(
                  `expected a refusal with ${code}, but the command was accepted with ${JSON.stringify(decision.events)}`,
                );
              }
              expect(decide().decision, 'decide must be deterministic').toEqual(decision);
              const error = decision.error;
              expect(error.code).toBe(code);
              if (typeof refusal.message === 'string') expect(error.message).toBe(refusal.message);
              else if (refusal.message) expect(error.message).toMatch(refusal.message);
              if (refusal.details) expect(error.details).toMatchObject(refusal.details);
              return error;
            },
          };
        },
      };
    },
  };
}
