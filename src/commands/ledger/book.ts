/**
 * The books: each organization's ledger stream served by one in-process writer.
 *
 * The state is cached (loaded once: snapshot + tail) and kept current by applying what this
 * writer appends. Commands for one book wait in a queue; the writer takes what has gathered,
 * decides each in order against the state (each sees the ones before it), and appends all
 * their events in ONE write — group commit — with the exact expected revision. A conflict (a
 * writer in another process) or any failure drops the cached state; the group is decided
 * again on a fresh load, a bounded number of times.
 */
import type { EventMetadata, EventStore, NewEvent, Position } from '../../adapters/eventstore/port.js';
import { READ_PAGE_MAX } from '../../adapters/eventstore/port.js';
import { ConcurrencyError, LedgerlineError } from '../../domain/errors.js';
import { streamName } from '../../domain/streamName.js';
import { decideLedger, type LedgerCommand, type LedgerResult } from '../../domain/ledger/decide.js';
import type { LedgerEvent } from '../../domain/ledger/events.js';
import { evolveLedger, initialLedger, type LedgerState } from '../../domain/ledger/state.js';
import type { SnapshotStore } from './snapshots.js';

/** Commands decided and appended together, at most. */
export const GROUP_COMMANDS_MAX = 256;
/** Events in one group append, at most (the store refuses larger appends). */
export const GROUP_EVENTS_MAX = 2_000;
/**
 * Estimated bytes in one group append, at most: under the store's limit (4 MiB) with room for
 * each event's envelope, which the estimate leaves out.
 */
export const GROUP_BYTES_MAX = 2 * 1024 * 1024;
const ENVELOPE_BYTES_ESTIMATE = 400;
/** Commands waiting for one book, at most: beyond this a caller is told to slow down. */
export const BOOK_QUEUE_MAX = 10_000;
/** Attempts at a group when other writers keep changing the stream. */
export const GROUP_ATTEMPTS_MAX = 5;
/** Books kept in memory; the least recently used is dropped beyond this. */
export const BOOKS_CACHED_MAX = 1_000;
/** Write a snapshot after this many events since the last one. */
export const SNAPSHOT_EVERY_EVENTS = 10_000_000;

export function ledgerStream(orgId: string): string {
  return streamName(orgId, 'ledger', 'main');
}

export interface BookOutcome {
  readonly result: LedgerResult;
  readonly revision: bigint | null;
  readonly position: Position | null;
}

interface Waiting {
  readonly command: LedgerCommand;
  readonly metadata: EventMetadata;
  readonly now: string;
  resolve(outcome: BookOutcome): void;
  reject(error: unknown): void;
}

interface Loaded {
  state: LedgerState;
  /** The revision of the last event applied, null for an empty stream. */
  revision: bigint | null;
  position: Position | null;
  eventsSinceSnapshot: number;
}

class Book {
  private loaded: Loaded | null = null;
  private readonly queue: Waiting[] = [];
  private running = false;

  constructor(
    private readonly stream: string,
    private readonly store: EventStore,
    private readonly snapshots: SnapshotStore,
  ) {}

  submit(waiting: Waiting): void {
    if (this.queue.length >= BOOK_QUEUE_MAX) {
      waiting.reject(
        new LedgerlineError('RATE_LIMITED', 'The ledger has too many commands waiting; retry shortly.', {
          retryAfterSeconds: 1,
        }),
      );
      return;
    }
    this.queue.push(waiting);
    if (!this.running) void this.drain();
  }

  /** The current state, loading it when needed (for reads that want the writer's view). */
  async current(): Promise<Loaded> {
    this.loaded ??= await this.load();
    return this.loaded;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, GROUP_COMMANDS_MAX);
        await this.run(group);
      }
    } finally {
      this.running = false;
    }
  }

  private async run(group: Waiting[]): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const leftover = await this.decideAndAppend(group);
        // Commands that did not fit this append go back to the front, in order.
        if (leftover.length > 0) this.queue.unshift(...leftover);
        return;
      } catch (error) {
        // The cached state may hold events that were never stored: forget it.
        this.loaded = null;
        if (!(error instanceof ConcurrencyError) || attempt >= GROUP_ATTEMPTS_MAX) {
          for (const waiting of group) waiting.reject(error);
          return;
        }
      }
    }
  }

  /** Decides as many of `group` as fit one append; answers the ones left for the next. */
  private async decideAndAppend(group: Waiting[]): Promise<Waiting[]> {
    const book = await this.current();
    const decided: { waiting: Waiting; result: LedgerResult | LedgerlineError; events: number }[] = [];
    const events: NewEvent[] = [];
    let bytes = 0;
    let index = 0;
    for (; index < group.length; index += 1) {
      const waiting = group[index];
      if (!waiting) break;
      const decision = decideLedger(waiting.command, book.state, waiting.now);
      if (!decision.ok) {
        decided.push({ waiting, result: decision.error, events: 0 });
        continue;
      }
      const size = decision.events.reduce(
        (sum, event) => sum + JSON.stringify(event.data).length + ENVELOPE_BYTES_ESTIMATE,
        0,
      );
      if (
        events.length > 0 &&
        (events.length + decision.events.length > GROUP_EVENTS_MAX || bytes + size > GROUP_BYTES_MAX)
      )
        break;
      bytes += size;
      // Apply now, so the next command of the group sees it; undone by a reload on failure.
      for (const event of decision.events) {
        evolveLedger(book.state, event);
        events.push({
          type: event.type,
          data: event.data as unknown as NewEvent['data'],
          metadata: waiting.metadata,
          occurredAt: new Date(waiting.now),
        });
      }
      decided.push({ waiting, result: decision.result, events: decision.events.length });
    }
    let revision = book.revision;
    let position = book.position;
    if (events.length > 0) {
      const appended = await this.store.append(this.stream, events, book.revision ?? 'no_stream');
      const base = book.revision ?? -1n;
      book.revision = appended.nextExpectedRevision;
      book.position = appended.position;
      book.eventsSinceSnapshot += events.length;
      revision = base;
      position = appended.position;
    }
    let counted = revision ?? -1n;
    for (const { waiting, result, events: count } of decided) {
      if (result instanceof LedgerlineError) {
        waiting.reject(result);
        continue;
      }
      counted += BigInt(count);
      waiting.resolve({
        result,
        revision: counted < 0n ? null : counted,
        position: count > 0 ? position : book.position,
      });
    }
    if (book.eventsSinceSnapshot >= SNAPSHOT_EVERY_EVENTS && book.revision !== null) {
      book.eventsSinceSnapshot = 0;
      await this.snapshots.save(this.stream, book.revision, book.position, book.state).catch(() => undefined);
    }
    return group.slice(index);
  }

  private async load(): Promise<Loaded> {
    const snapshot = await this.snapshots.load(this.stream);
    const state = snapshot?.state ?? initialLedger();
    let revision = snapshot?.revision ?? null;
    let position = snapshot?.position ?? null;
    let from = revision === null ? 0n : revision + 1n;
    let tail = 0;
    for (;;) {
      const page = await this.store.readStream(this.stream, { from, maxCount: READ_PAGE_MAX });
      for (const event of page) {
        evolveLedger(state, { type: event.type, data: event.data } as unknown as LedgerEvent);
        revision = event.revision;
        position = event.position;
        tail += 1;
      }
      if (page.length < READ_PAGE_MAX) break;
      from = (revision ?? -1n) + 1n;
    }
    return { state, revision, position, eventsSinceSnapshot: tail };
  }
}

/** Every organization's book, created on first use, the least recently used dropped beyond a bound. */
export class LedgerBooks {
  private readonly books = new Map<string, Book>();

  constructor(
    private readonly store: EventStore,
    private readonly snapshots: SnapshotStore,
  ) {}

  execute(orgId: string, command: LedgerCommand, metadata: EventMetadata, now: Date): Promise<BookOutcome> {
    return new Promise((resolve, reject) => {
      this.book(orgId).submit({ command, metadata, now: now.toISOString(), resolve, reject });
    });
  }

  /** The writer's current state of a book (loaded if needed). */
  async state(orgId: string): Promise<LedgerState> {
    return (await this.book(orgId).current()).state;
  }

  private book(orgId: string): Book {
    let book = this.books.get(orgId);
    if (book) {
      // Most recently used last: a Map keeps insertion order.
      this.books.delete(orgId);
      this.books.set(orgId, book);
      return book;
    }
    book = new Book(ledgerStream(orgId), this.store, this.snapshots);
    this.books.set(orgId, book);
    if (this.books.size > BOOKS_CACHED_MAX) {
      const oldest = this.books.keys().next();
      if (!oldest.done) this.books.delete(oldest.value);
    }
    return book;
  }
}
