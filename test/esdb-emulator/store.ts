// The in-memory log behind the emulator: one append-only array in `$all` order plus a per-stream
// index. Everything here is synchronous, so one append is atomic with respect to every reader and
// subscription (they all run on the same event loop).
import {
  LOG_EVENTS_MAX,
  LOG_START_POSITION,
  RECORD_HEADER_BYTES,
  SUBSCRIPTIONS_ACTIVE_MAX,
  TICKS_PER_MILLISECOND,
} from './limits.js';

export const JSON_CONTENT_TYPE = 'application/json';
export const BINARY_CONTENT_TYPE = 'application/octet-stream';

/** An event as proposed by an append, before the log gives it a revision and a position. */
export interface ProposedEvent {
  readonly eventId: string;
  readonly type: string;
  /** EventStoreDB keeps only "is JSON"; anything but application/json reads back as octet-stream. */
  readonly isJson: boolean;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
}

export interface RecordedEvent extends ProposedEvent {
  readonly streamId: string;
  /** Stream revision, from 0. */
  readonly revision: bigint;
  /** `$all` position; the emulator uses the same value for commit and prepare. */
  readonly position: bigint;
  /** .NET ticks since the Unix epoch, the unit the server sends in the `created` metadata key. */
  readonly createdTicks: bigint;
}

export type ExpectedRevision =
  | { readonly kind: 'any' }
  | { readonly kind: 'no_stream' }
  | { readonly kind: 'stream_exists' }
  | { readonly kind: 'exact'; readonly revision: bigint };

/** The last revision of a stream, or `no_stream` when the stream has no events. */
export type CurrentRevision = bigint | 'no_stream';

export type AppendOutcome =
  | {
      readonly kind: 'success';
      readonly currentRevision: CurrentRevision;
      /** Position of the last event of the append; undefined when the append carried no events. */
      readonly position: bigint | undefined;
      /** True when the events were already in the stream and nothing was written. */
      readonly idempotent: boolean;
    }
  | {
      readonly kind: 'wrong_expected_version';
      readonly currentRevision: CurrentRevision;
      readonly expected: ExpectedRevision;
    }
  | { readonly kind: 'log_full' };

const NO_EVENTS = -1n;

export class EventLog {
  private readonly all: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly waiters = new Set<() => void>();
  /** Events a test "deleted" (see `tamperDelete`): kept in place, never read or sent. */
  private readonly removed = new WeakSet<RecordedEvent>();
  private nextPosition = LOG_START_POSITION;

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Number of events in `$all`; also the index the next appended event will get. */
  get length(): number {
    return this.all.length;
  }

  /** Position of the last event in `$all`, or undefined when the log is empty. */
  get lastPosition(): bigint | undefined {
    return this.all.at(-1)?.position;
  }

  at(index: number): RecordedEvent | undefined {
    return this.all[index];
  }

  stream(streamId: string): readonly RecordedEvent[] | undefined {
    return this.streams.get(streamId);
  }

  currentRevision(streamId: string): CurrentRevision {
    const last = this.streams.get(streamId)?.at(-1);
    return last === undefined ? 'no_stream' : last.revision;
  }

  /**
   * Appends with EventStoreDB's optimistic-concurrency and idempotency rules:
   * - exact revision N (NO_STREAM is N = -1): writes when the stream's last revision is N; when it
   *   is past N and the events at N+1.. carry exactly the proposed ids, answers success with the
   *   original result and writes nothing; otherwise wrong expected version.
   * - ANY: writes, unless the proposed ids are already in the stream consecutively (then the
   *   original result, as EventStoreDB's best-effort dedupe does); a partial match is refused as
   *   wrong expected version, like the server's "corrupted idempotency" case.
   * - STREAM_EXISTS: wrong expected version on a stream without events, else as ANY.
   */
  append(streamId: string, expected: ExpectedRevision, events: readonly ProposedEvent[]): AppendOutcome {
    const stream = this.streams.get(streamId) ?? [];
    const last = stream.at(-1)?.revision ?? NO_EVENTS;
    const current: CurrentRevision = last === NO_EVENTS ? 'no_stream' : last;
    const refuse: AppendOutcome = { kind: 'wrong_expected_version', currentRevision: current, expected };

    switch (expected.kind) {
      case 'exact':
      case 'no_stream': {
        const expectedLast = expected.kind === 'exact' ? expected.revision : NO_EVENTS;
        if (expectedLast === last) return this.write(streamId, stream, events);
        if (expectedLast > last || events.length === 0) return refuse;
        return this.replayOf(stream, expectedLast + 1n, events) ?? refuse;
      }
      case 'stream_exists':
      case 'any': {
        if (expected.kind === 'stream_exists' && last === NO_EVENTS) return refuse;
        const first = events[0];
        if (first === undefined) return this.write(streamId, stream, events);
        const earlier = stream.find((e) => e.eventId === first.eventId);
        if (earlier === undefined) return this.write(streamId, stream, events);
        return this.replayOf(stream, earlier.revision, events) ?? refuse;
      }
    }
  }

  /**
   * Resolves once the log holds more than `length` events, or when `signal` aborts. Each waiting
   * subscription holds one waiter; the count is bounded so a leak shows up as an error, not as
   * unbounded memory.
   */
  waitForEventsBeyond(length: number, signal: AbortSignal): Promise<void> {
    if (this.all.length > length || signal.aborted) return Promise.resolve();
    if (this.waiters.size >= SUBSCRIPTIONS_ACTIVE_MAX) {
      return Promise.reject(
        new Error(`emulator: more than ${SUBSCRIPTIONS_ACTIVE_MAX} waiting subscriptions`),
      );
    }
    return new Promise((resolve) => {
      const wake = (): void => {
        this.waiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      this.waiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  /** True for an event a test deleted: reads and subscriptions pass over it. */
  isRemoved(event: RecordedEvent): boolean {
    return this.removed.has(event);
  }

  // Tampering, for tests of hash-chain verification only: what someone with write access to
  // the server's files could do. A real server offers none of this (no single-event delete, no
  // edit); the emulator keeps its invariants (revision = index, positions increasing) throughout.

  /** Replaces one event's data bytes; id, type, metadata, revision and position stay. */
  tamperData(streamId: string, revision: bigint, data: Uint8Array): void {
    this.place({ ...this.eventAt(streamId, revision), data });
  }

  /**
   * Removes one event from every read and subscription. Its revision stays taken (the next
   * append still gets the revision after the stream's last), as when a row is deleted under a
   * stream head that still records the old revision.
   */
  tamperDelete(streamId: string, revision: bigint): void {
    this.removed.add(this.eventAt(streamId, revision));
  }

  /** Swaps the revisions of two events of one stream; each keeps its `$all` position. */
  tamperSwap(streamId: string, a: bigint, b: bigint): void {
    const first = this.eventAt(streamId, a);
    const second = this.eventAt(streamId, b);
    this.place({ ...first, revision: b });
    this.place({ ...second, revision: a });
  }

  private eventAt(streamId: string, revision: bigint): RecordedEvent {
    const event = this.streams.get(streamId)?.[Number(revision)];
    if (event?.revision !== revision) {
      throw new Error(`emulator tamper: ${streamId} has no event at revision ${revision}`);
    }
    return event;
  }

  /** Stores `event` at its revision in its stream and at its position in `$all`. */
  private place(event: RecordedEvent): void {
    const stream = this.streams.get(event.streamId);
    const index = this.indexAtOrAfter(event.position);
    if (stream === undefined || this.all[index]?.position !== event.position) {
      throw new Error(`emulator tamper: event ${event.eventId} is not in the log`);
    }
    stream[Number(event.revision)] = event;
    this.all[index] = event;
  }

  /** Index of the first event at or after `position` (the log length when there is none). */
  indexAtOrAfter(position: bigint): number {
    return this.firstIndexWhere((e) => e.position >= position);
  }

  /** Index of the first event strictly after `position` (the log length when there is none). */
  indexAfter(position: bigint): number {
    return this.firstIndexWhere((e) => e.position > position);
  }

  /** Binary search: positions increase strictly with the index. */
  private firstIndexWhere(predicate: (e: RecordedEvent) => boolean): number {
    let low = 0;
    let high = this.all.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const event = this.all[middle];
      if (event !== undefined && predicate(event)) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /** The original result when `stream[from..]` holds exactly the proposed ids, else undefined. */
  private replayOf(
    stream: readonly RecordedEvent[],
    from: bigint,
    events: readonly ProposedEvent[],
  ): AppendOutcome | undefined {
    const start = Number(from);
    const written = stream.slice(start, start + events.length);
    if (written.length !== events.length) return undefined;
    if (!written.every((e, i) => e.eventId === events[i]?.eventId)) return undefined;
    const lastWritten = written.at(-1);
    if (lastWritten === undefined) return undefined;
    return {
      kind: 'success',
      currentRevision: lastWritten.revision,
      position: lastWritten.position,
      idempotent: true,
    };
  }

  private write(streamId: string, stream: RecordedEvent[], events: readonly ProposedEvent[]): AppendOutcome {
    if (this.all.length + events.length > LOG_EVENTS_MAX) return { kind: 'log_full' };
    const createdTicks = BigInt(this.now().getTime()) * TICKS_PER_MILLISECOND;
    const encoder = new TextEncoder();
    for (const proposed of events) {
      const recorded: RecordedEvent = {
        ...proposed,
        streamId,
        revision: BigInt(stream.length),
        position: this.nextPosition,
        createdTicks,
      };
      // A byte-offset-like counter: strictly increasing, and far apart for large events, like a
      // transaction-file offset.
      this.nextPosition +=
        RECORD_HEADER_BYTES +
        BigInt(encoder.encode(streamId).length + encoder.encode(proposed.type).length) +
        BigInt(proposed.data.length + proposed.customMetadata.length);
      stream.push(recorded);
      this.all.push(recorded);
    }
    this.streams.set(streamId, stream);
    this.assertOrdered(stream);
    const last = stream.at(-1);
    this.wakeWaiters();
    return {
      kind: 'success',
      currentRevision: last === undefined ? 'no_stream' : last.revision,
      position: events.length === 0 ? undefined : last?.position,
      idempotent: false,
    };
  }

  /** Invariant checked where state changes: revisions are 0..n-1 and positions strictly increase. */
  private assertOrdered(stream: readonly RecordedEvent[]): void {
    const last = stream.at(-1);
    if (last !== undefined && last.revision !== BigInt(stream.length - 1)) {
      throw new Error(
        `emulator invariant: stream ${last.streamId} revision ${last.revision} at index ${stream.length - 1}`,
      );
    }
    const tail = this.all.slice(-2);
    const [before, after] = tail;
    if (before !== undefined && after !== undefined && before.position >= after.position) {
      throw new Error(`emulator invariant: $all positions ${before.position} then ${after.position}`);
    }
  }

  private wakeWaiters(): void {
    // Copy first: each waiter removes itself from the set when called.
    for (const wake of [...this.waiters]) wake();
  }
}
