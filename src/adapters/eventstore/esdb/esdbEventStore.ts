/**
 * The event store on EventStoreDB, through @eventstore/db-client v6 (DESIGN "Event store port").
 *
 * Appends always go to the server with an exact expected revision:
 * - exact N: the event at revision N is read (one backwards read of 1) for its hash, the new
 *   events are chained to it with `linkHash`, and the append is sent with expected revision N.
 *   A retry with the same ids at the same N is answered by the server's own id check with the
 *   original result, which is what makes retrying after a lost answer safe.
 * - no_stream: chained to the genesis hash, sent with NO_STREAM (an exact "-1").
 * - any: the stream's tail is read; if it already holds exactly these ids in order, this is a
 *   retry and the original result is answered; otherwise the last revision becomes the exact
 *   expectation, and a lost race is tried again a bounded number of times. ESDB's own ANY is
 *   never sent: its dedupe is best effort, and the chain needs the previous hash anyway.
 * Caller-chosen event ids are claimed first, so an id is never stored twice (eventIdClaims.ts).
 *
 * Calls that fail because the server is unreachable are retried with backoff (retry.ts);
 * errors leave as LedgerlineErrors with the client's error as cause (clientErrors.ts).
 */
import {
  EventStoreDBClient,
  NO_STREAM,
  WrongExpectedVersionError,
  type AppendResult as ClientAppendResult,
} from '@eventstore/db-client';
import { ConcurrencyError, LedgerlineError, ValidationError } from '../../../domain/errors.js';
import { parseStreamName } from '../../../domain/streamName.js';
import { ChainVerifier, GENESIS_HASH, linkHash } from '../hashChain.js';
import { prepareAppend, type PreparedAppend } from '../newEvents.js';
import {
  READ_PAGE_MAX,
  START,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type Position,
  type ReadAllOptions,
  type ReadAllPage,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
  type VerifyResult,
} from '../port.js';
import { catchUpSubscription } from './catchUpSubscription.js';
import { isUnavailable, toStoreError } from './clientErrors.js';
import { redactConnectionString } from './connectionString.js';
import { EventIdClaims, type Claim, type ClaimOutcome } from './eventIdClaims.js';
import { toEventData, toRecordedEvent } from './eventRecords.js';
import { readAllPage } from './readAllPage.js';
import { CALL_RETRY, SUBSCRIPTION_RETRY, withRetry, type RetryPolicy } from './retry.js';
import { readStreamEvents } from './streamReads.js';

/** Pages read while verifying a stream. */
const VERIFY_PAGE_SIZE = 1_000;
/** Rounds of "read the tail, append at its revision" for one `any` append before it gives up. */
export const ANY_APPEND_ATTEMPTS_MAX = 10;
/** The revision "before the first event": what NO_STREAM means as an exact expectation. */
const NO_EVENTS = -1n;

export interface EsdbEventStoreOptions {
  readonly now?: () => Date;
  /** For logs and the console; never includes credentials. */
  readonly description?: string;
  /** Retries of single calls (appends, reads) while the server is unreachable. */
  readonly callRetry?: RetryPolicy;
  /** Reconnection of subscriptions after a dropped connection. */
  readonly subscriptionRetry?: RetryPolicy;
}

export class EsdbEventStore implements EventStore {
  readonly description: string;
  private readonly now: () => Date;
  private readonly callRetry: RetryPolicy;
  private readonly subscriptionRetry: RetryPolicy;
  private readonly claims: EventIdClaims;
  private readonly subscriptions = new Set<Subscription>();

  /** The store owns `client` and disposes it on close(). */
  constructor(
    private readonly client: EventStoreDBClient,
    options: EsdbEventStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.description = options.description ?? 'event store on EventStoreDB';
    this.callRetry = options.callRetry ?? CALL_RETRY;
    this.subscriptionRetry = options.subscriptionRetry ?? SUBSCRIPTION_RETRY;
    this.claims = new EventIdClaims(client, (work) => this.retrying(work));
  }

  /** `esdb://…` or `esdb+discover://…`; connects lazily, on the first call. */
  static connect(connectionString: string, options: EsdbEventStoreOptions = {}): EsdbEventStore {
    return new EsdbEventStore(EventStoreDBClient.connectionString(connectionString), {
      description: `event store on EventStoreDB at ${redactConnectionString(connectionString)}`,
      ...options,
    });
  }

  async append(
    stream: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    const prepared = prepareAppend(stream, events, expected, this.now);
    // Which ids the caller chose (and so must be claimed); the rest were generated just now.
    const chosen = events.flatMap((event, index) => (event.eventId === undefined ? [] : [index]));
    try {
      if (prepared.expected === 'any') return await this.appendAny(prepared, chosen);
      const revision = prepared.expected === 'no_stream' ? NO_EVENTS : prepared.expected;
      return await this.appendAt(prepared, chosen, revision);
    } catch (error) {
      throw toStoreError(error, `appending to ${stream}`);
    }
  }

  /** Appends after revision `revision` (NO_EVENTS for a new stream). */
  private async appendAt(
    prepared: PreparedAppend,
    chosen: readonly number[],
    revision: bigint,
  ): Promise<AppendResult> {
    const [previous, claimed] = await Promise.allSettled([
      this.hashAt(prepared.stream, revision, prepared.expected),
      this.claimIds(prepared, chosen, revision),
    ]);
    // A stale expectation is reported before a reused id, as PostgreSQL does.
    if (previous.status === 'rejected') throw previous.reason;
    if (claimed.status === 'rejected') throw claimed.reason;
    refuseReusedIds(prepared.stream, claimed.value);
    return this.write(prepared, revision, previous.value);
  }

  private async appendAny(prepared: PreparedAppend, chosen: readonly number[]): Promise<AppendResult> {
    const { stream } = prepared;
    const count = prepared.events.length;
    for (let attempt = 1; ; attempt += 1) {
      // With chosen ids this may be a retry: read as many events as the append holds.
      const tail = await this.tail(stream, chosen.length > 0 ? count : 1);
      const last = tail.at(-1);
      if (chosen.length > 0 && holdsExactly(tail, prepared)) return resultOf(last);
      const revision = last?.revision ?? NO_EVENTS;
      const outcomes = await this.claimIds(prepared, chosen, revision);
      const original = await this.retryOfAny(prepared, outcomes);
      if (original !== null) return original;
      refuseReusedIds(stream, outcomes);
      try {
        return await this.write(prepared, revision, last?.hash ?? GENESIS_HASH);
      } catch (error) {
        // Another writer got in between: read the new tail and try again, a bounded number of times.
        if (!(error instanceof ConcurrencyError) || attempt >= ANY_APPEND_ATTEMPTS_MAX) throw error;
      }
    }
  }

  /** The hash of the event at `revision`, or the port's conflict when the stream is elsewhere. */
  private async hashAt(stream: string, revision: bigint, expected: ExpectedRevision): Promise<string> {
    if (revision === NO_EVENTS) return GENESIS_HASH;
    const [found] = await this.retrying(() =>
      readStreamEvents(this.client, stream, { from: revision, direction: 'backwards', maxCount: 1 }),
    );
    if (found?.revision === revision) return toRecordedEvent(found).hash;
    // Backwards from a revision past the end starts at the last event; a server that answers
    // nothing instead gets one more read for the actual revision.
    const actual = found ?? (await this.tail(stream, 1)).at(-1);
    throw new ConcurrencyError(stream, expected, actual?.revision ?? 'no_stream');
  }

  /** The last `count` events of the stream, oldest first (empty for a missing stream). */
  private async tail(stream: string, count: number): Promise<RecordedEvent[]> {
    const events = await this.retrying(() =>
      readStreamEvents(this.client, stream, { from: 'end', direction: 'backwards', maxCount: count }),
    );
    return events.map(toRecordedEvent).reverse();
  }

  private async claimIds(
    prepared: PreparedAppend,
    chosen: readonly number[],
    after: bigint,
  ): Promise<ClaimOutcome[]> {
    if (chosen.length === 0) return [];
    const claims = chosen.map((index): Claim => ({
      eventId: prepared.events[index]?.eventId ?? '',
      revision: after + 1n + BigInt(index),
    }));
    return this.claims.claimAll(prepared.stream, claims);
  }

  /**
   * An `any` append whose first id is already stored in this stream, followed by exactly the
   * other ids: a retry after others appended behind it. Answered with the original result, as
   * PostgreSQL answers it.
   */
  private async retryOfAny(
    prepared: PreparedAppend,
    outcomes: readonly ClaimOutcome[],
  ): Promise<AppendResult | null> {
    const first = outcomes[0];
    if (first?.kind !== 'written' || first.eventId !== prepared.events[0]?.eventId) return null;
    const stored = await this.retrying(() =>
      readStreamEvents(this.client, prepared.stream, {
        from: first.revision,
        direction: 'forwards',
        maxCount: prepared.events.length,
      }),
    );
    const events = stored.map(toRecordedEvent);
    return holdsExactly(events, prepared) ? resultOf(events.at(-1)) : null;
  }

  /** Chains the events to `prevHash` and appends them at exactly `revision`. */
  private async write(prepared: PreparedAppend, revision: bigint, prevHash: string): Promise<AppendResult> {
    let prev = prevHash;
    const data = prepared.events.map((event) => {
      const hash = linkHash(prev, event.contentHash);
      const encoded = toEventData(event, prev, hash);
      prev = hash;
      return encoded;
    });
    let result: ClientAppendResult;
    try {
      result = await this.retrying(() =>
        this.client.appendToStream(prepared.stream, data, {
          expectedRevision: revision === NO_EVENTS ? NO_STREAM : revision,
        }),
      );
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const actual = typeof error.actualVersion === 'bigint' ? error.actualVersion : 'no_stream';
        throw new ConcurrencyError(prepared.stream, prepared.expected, actual);
      }
      throw error;
    }
    const position = result.position ?? (await this.positionAt(prepared.stream, result.nextExpectedRevision));
    return {
      nextExpectedRevision: result.nextExpectedRevision,
      position: { commit: position.commit, prepare: position.prepare },
    };
  }

  /**
   * The position of the event at `revision`, read back. Older servers answer an idempotent
   * append (a retry) without a position; the port promises one.
   */
  private async positionAt(stream: string, revision: bigint): Promise<Position> {
    const [event] = await this.retrying(() =>
      readStreamEvents(this.client, stream, { from: revision, direction: 'forwards', maxCount: 1 }),
    );
    if (event?.revision !== revision || event.position === undefined) {
      throw new LedgerlineError(
        'INTERNAL',
        `EventStoreDB answered an append to ${stream} without a position.`,
      );
    }
    return event.position;
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<readonly RecordedEvent[]> {
    const direction = options.direction ?? 'forwards';
    const maxCount = checkMaxCount(options.maxCount);
    const from = options.from ?? (direction === 'forwards' ? 'start' : 'end');
    if (typeof from === 'bigint' && from < 0n) throw new ValidationError('from', 'must not be negative');
    // A name the port could never have written holds no ledgerline events; forwards from the
    // end reaches nothing but the edge.
    if (!parseStreamName(stream) || (from === 'end' && direction === 'forwards')) return [];
    try {
      const events = await this.retrying(() =>
        readStreamEvents(this.client, stream, { from, direction, maxCount }),
      );
      return events.map(toRecordedEvent);
    } catch (error) {
      throw toStoreError(error, `reading ${stream}`);
    }
  }

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllPage> {
    const maxCount = checkMaxCount(options.maxCount);
    try {
      return await readAllPage(
        this.client,
        { from: options.from ?? START, filter: options.filter, maxCount },
        this.callRetry,
      );
    } catch (error) {
      throw toStoreError(error, 'reading $all');
    }
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    const subscription = catchUpSubscription(this.client, options, this.subscriptionRetry, (done) => {
      this.subscriptions.delete(done);
    });
    this.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Walks the stream's chain page by page. EventStoreDB keeps no separate record of a stream's
   * last revision and hash, so there is no head to compare with (`finish(null)`): removing the
   * newest events is not visible here. ESDB cannot delete single events at all; it can only
   * truncate a stream ($tb, $maxCount, $maxAge) and scavenge, which only an external record of
   * the head (an audit checkpoint) could reveal.
   */
  async verifyStream(stream: string): Promise<VerifyResult> {
    const verifier = new ChainVerifier(stream);
    let from = 0n;
    // Ends at the stream's end: every page starts past the previous one's last revision.
    for (;;) {
      const page = await this.readStream(stream, { from, maxCount: VERIFY_PAGE_SIZE });
      let intact = true;
      for (const event of page) {
        intact = verifier.check(event);
        if (!intact) break;
      }
      const last = page.at(-1);
      if (!intact || !last || page.length < VERIFY_PAGE_SIZE) break;
      from = last.revision + 1n;
    }
    const broken = verifier.finish(null);
    return broken
      ? { ok: false, stream, eventsChecked: verifier.eventsChecked, brokenLink: broken }
      : { ok: true, stream, eventsChecked: verifier.eventsChecked };
  }

  /** Ends every subscription of this store, then disposes the client. */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.client.dispose();
  }

  private retrying<T>(work: () => Promise<T>): Promise<T> {
    return withRetry(this.callRetry, isUnavailable, work);
  }
}

function refuseReusedIds(stream: string, outcomes: readonly ClaimOutcome[]): void {
  // Never names the other stream: it may belong to another organization.
  if (outcomes.some((outcome) => outcome.kind === 'elsewhere')) {
    throw new LedgerlineError(
      'DUPLICATE_EVENT_ID',
      'One of these event ids is already stored and this append is not a retry of that one.',
      { stream },
    );
  }
  const written = outcomes.find((outcome) => outcome.kind === 'written');
  if (written) {
    throw new LedgerlineError(
      'DUPLICATE_EVENT_ID',
      `Event id ${written.eventId} is already stored in ${stream} at revision ${written.revision}, ` +
        'and this append is not a retry of that one.',
      { stream, eventId: written.eventId, revision: String(written.revision) },
    );
  }
}

/** True when `events` are exactly the prepared events' ids, in order. */
function holdsExactly(events: readonly RecordedEvent[], prepared: PreparedAppend): boolean {
  return (
    events.length === prepared.events.length &&
    events.every((event, index) => event.eventId === prepared.events[index]?.eventId)
  );
}

function resultOf(last: RecordedEvent | undefined): AppendResult {
  if (!last) throw new LedgerlineError('INTERNAL', 'An idempotent append answered without its events.');
  return { nextExpectedRevision: last.revision, position: last.position };
}

function checkMaxCount(maxCount: number | undefined): number {
  if (maxCount === undefined) return READ_PAGE_MAX;
  if (!Number.isSafeInteger(maxCount) || maxCount < 1 || maxCount > READ_PAGE_MAX) {
    throw new ValidationError('maxCount', `must be an integer from 1 to ${READ_PAGE_MAX}`);
  }
  return maxCount;
}
