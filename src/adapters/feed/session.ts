/**
 * One live-feed connection (SSE or WebSocket alike): the caller's organization's events, in
 * global order, each once. With a last event id (a global position) it first replays from the
 * event store what came after it, then switches to the live bus without a gap or a repeat:
 * it listens to the bus *before* replaying, holds what arrives meanwhile, and drops whatever
 * the replay already covered (positions only grow).
 *
 * Memory is bounded: a connection holds at most FEED_BUFFER_EVENTS_MAX events besides what
 * its socket buffers. A client that reads too slowly is disconnected with the reason
 * `slow_consumer` (it can resume with its last event id); during a replay, an overflowing live
 * buffer is dropped and read again from the store instead.
 */
import { toBusEvent, type BusEvent } from '../bus/busEvent.js';
import { comparePositions, parsePosition } from '../eventstore/position.js';
import type { EventStore, Position } from '../eventstore/port.js';
import { orgStreamPrefix } from '../../domain/streamName.js';
import type { FeedHub } from './hub.js';

/** Events a connection may hold while its client catches up. */
export const FEED_BUFFER_EVENTS_MAX = 1_000;
/** Events read from the store per page of a replay. */
export const FEED_REPLAY_PAGE = 500;
/** A replay that fell behind the live buffer this many times gives up (the client may resume). */
export const FEED_CATCH_UP_ROUNDS_MAX = 10;
/** A comment line this often keeps proxies from closing an idle connection. */
export const FEED_HEARTBEAT_MS = 15_000;

export type FeedCloseCode = 'slow_consumer' | 'cannot_catch_up' | 'server_shutdown';

export interface FeedCloseReason {
  readonly code: FeedCloseCode;
  readonly message: string;
}

/** The transport under a session. */
export interface FeedSink {
  /** Sends one event; false when the transport's buffer is full (wait for `drained`). */
  write(event: BusEvent): boolean;
  heartbeat(): void;
  /** Resolves when the transport can take more, or has closed. */
  drained(): Promise<void>;
  /** Tells the client why, then closes. */
  close(reason: FeedCloseReason): void;
}

export interface FeedSelection {
  readonly orgId: string;
  /** Only these event types; null for all. */
  readonly types: ReadonlySet<string> | null;
  /** Only streams of these categories; null for all. */
  readonly categories: ReadonlySet<string> | null;
  /** Replay what came after this position first; null to start with what happens next. */
  readonly after: Position | null;
}

export interface FeedSessionOptions {
  readonly bufferMax?: number;
  readonly heartbeatMs?: number;
}

const CLOSE_MESSAGES: Readonly<Record<FeedCloseCode, string>> = {
  slow_consumer: `The client read too slowly (more than ${FEED_BUFFER_EVENTS_MAX} events waiting); reconnect with the last event id to resume.`,
  cannot_catch_up:
    'The replay could not catch up with the live events; reconnect with the last event id to resume.',
  server_shutdown: 'The server is shutting down; reconnect with the last event id to resume.',
};

export function closeReason(code: FeedCloseCode): FeedCloseReason {
  return { code, message: CLOSE_MESSAGES[code] };
}

export class FeedSession {
  private pending: BusEvent[] = [];
  private through: Position | null;
  private live = false;
  private overflowed = false;
  private pumping = false;
  private ended = false;
  private unlisten: (() => void) | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly bufferMax: number;

  constructor(
    private readonly store: EventStore,
    private readonly hub: FeedHub,
    private readonly selection: FeedSelection,
    private readonly sink: FeedSink,
    options: FeedSessionOptions = {},
  ) {
    this.through = selection.after;
    this.bufferMax = options.bufferMax ?? FEED_BUFFER_EVENTS_MAX;
    const heartbeatMs = options.heartbeatMs ?? FEED_HEARTBEAT_MS;
    this.heartbeat = setInterval(() => {
      sink.heartbeat();
    }, heartbeatMs);
  }

  /** Listens, replays when asked to, then stays live until `end`. Failures end the session. */
  async start(): Promise<void> {
    this.unlisten = this.hub.listen(this.selection.orgId, (event) => {
      this.onLive(event);
    });
    if (this.selection.after !== null) await this.replay();
    if (this.ended) return;
    this.live = true;
    await this.pump();
  }

  /** The transport closed (or the server stops): let go of everything. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.unlisten?.();
    this.unlisten = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.pending = [];
  }

  /** Closes with a reason the client sees. */
  close(code: FeedCloseCode): void {
    if (this.ended) return;
    this.end();
    this.sink.close(closeReason(code));
  }

  private async replay(): Promise<void> {
    const { orgId, types } = this.selection;
    for (let round = 0; ; round += 1) {
      if (round >= FEED_CATCH_UP_ROUNDS_MAX) {
        this.close('cannot_catch_up');
        return;
      }
      this.overflowed = false;
      for (;;) {
        if (this.ended) return;
        const page = await this.store.readAll({
          ...(this.through ? { from: this.through } : {}),
          filter: { streamPrefix: orgStreamPrefix(orgId), ...(types ? { eventTypes: [...types] } : {}) },
          maxCount: FEED_REPLAY_PAGE,
        });
        for (const recorded of page.events) {
          if (this.isEnded()) return;
          const event = toBusEvent(recorded);
          if (this.matches(event) && !this.sink.write(event)) await this.sink.drained();
        }
        if (this.through === null || comparePositions(page.next, this.through) > 0) this.through = page.next;
        if (page.isEnd) break;
      }
      // The live buffer overflowed while replaying: what it dropped is in the store; read on.
      if (!this.hasOverflowed()) return;
    }
  }

  /** Methods, because the listener and the transport flip these while a replay is suspended. */
  private isEnded(): boolean {
    return this.ended;
  }

  private hasOverflowed(): boolean {
    return this.overflowed;
  }

  private onLive(event: BusEvent): void {
    if (this.ended) return;
    if (!this.live) {
      if (this.pending.length >= this.bufferMax) {
        this.overflowed = true;
        this.pending = [];
      } else this.pending.push(event);
      return;
    }
    this.pending.push(event);
    if (this.pending.length > this.bufferMax) {
      this.close('slow_consumer');
      return;
    }
    void this.pump().catch(() => {
      this.end();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.pending.length > 0 && !this.ended) {
        const event = this.pending.shift();
        if (!event) break;
        const position = parsePosition(event.position);
        // Already replayed (or a repeat from the bus): positions only grow.
        if (this.through !== null && comparePositions(position, this.through) <= 0) continue;
        this.through = position;
        if (this.matches(event) && !this.sink.write(event)) await this.sink.drained();
      }
    } finally {
      this.pumping = false;
    }
  }

  private matches(event: BusEvent): boolean {
    const { orgId, types, categories } = this.selection;
    if (event.orgId !== orgId) return false;
    if (types && !types.has(event.type)) return false;
    if (categories && !categories.has(event.category)) return false;
    return true;
  }
}
