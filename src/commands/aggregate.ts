/**
 * Load → decide → append for one aggregate stream, with the exact expected revision and a
 * bounded retry when another writer got there first.
 */
import type { EventMetadata, NewEvent, Position } from '../adapters/eventstore/port.js';
import { READ_PAGE_MAX } from '../adapters/eventstore/port.js';
import type { Decision, DomainEvent } from '../domain/decider.js';
import { ConcurrencyError, LedgerlineError } from '../domain/errors.js';
import type { CommandOutcome } from './catalog.js';
import type { CommandContext } from './context.js';

/** Attempts at one command when the stream keeps changing under it. */
export const CONFLICT_RETRIES_MAX = 5;
/** A stream longer than this is a modelling error here (snapshots arrive with the ledger). */
const STREAM_PAGES_MAX = 1_000;

export interface Aggregate<S, E extends DomainEvent> {
  readonly initialState: S;
  evolve(state: S, event: E): S;
}

export interface Loaded<S> {
  readonly state: S;
  readonly revision: bigint | null;
  readonly position: Position | null;
}

export async function loadAggregate<S, E extends DomainEvent>(
  context: Pick<CommandContext, 'services'>,
  stream: string,
  aggregate: Aggregate<S, E>,
): Promise<Loaded<S>> {
  let state = aggregate.initialState;
  let revision: bigint | null = null;
  let position: Position | null = null;
  let from = 0n;
  for (let page = 0; page < STREAM_PAGES_MAX; page += 1) {
    const events = await context.services.store.readStream(stream, { from, maxCount: READ_PAGE_MAX });
    for (const event of events) {
      state = aggregate.evolve(state, { type: event.type, data: event.data } as unknown as E);
      revision = event.revision;
      position = event.position;
    }
    if (events.length < READ_PAGE_MAX) return { state, revision, position };
    from = (revision ?? -1n) + 1n;
  }
  throw new LedgerlineError('INTERNAL', `Stream ${stream} is longer than this handler reads.`);
}

export function eventMetadata(context: CommandContext): EventMetadata {
  const principal = context.principal;
  return {
    actor: principal
      ? {
          kind: principal.actor.kind === 'api_key' ? 'api_key' : principal.actor.kind,
          id: principal.actor.id,
          role: principal.role,
        }
      : { kind: 'system', id: 'anonymous' },
    channel: context.channel,
    correlationId: context.correlationId ?? context.requestId,
    causationId: context.causationId ?? context.requestId,
    requestId: context.requestId,
    idempotencyKey: context.idempotencyKey,
  };
}

/**
 * Runs `decide` against the stream's current state and appends what it decided. A refusal
 * throws its error (nothing is written); a conflict reloads and decides again.
 */
export async function executeOnStream<S, E extends DomainEvent, R>(
  context: CommandContext,
  stream: string,
  aggregate: Aggregate<S, E>,
  decide: (state: S) => Decision<E, R>,
  metadata: EventMetadata = eventMetadata(context),
): Promise<CommandOutcome<R>> {
  for (let attempt = 1; ; attempt += 1) {
    const loaded = await loadAggregate(context, stream, aggregate);
    const decision = decide(loaded.state);
    if (!decision.ok) throw decision.error;
    if (decision.events.length === 0) {
      return { output: decision.result, stream, revision: loaded.revision, position: loaded.position };
    }
    const events: NewEvent[] = decision.events.map((event) => ({
      type: event.type,
      data: event.data as NewEvent['data'],
      metadata,
      occurredAt: context.now,
    }));
    try {
      const appended = await context.services.store.append(stream, events, loaded.revision ?? 'no_stream');
      return {
        output: decision.result,
        stream,
        revision: appended.nextExpectedRevision,
        position: appended.position,
      };
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || attempt >= CONFLICT_RETRIES_MAX) throw error;
    }
  }
}
