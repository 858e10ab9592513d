/**
 * One filtered catch-up subscription to `$all`, read in paused mode, one event at a time.
 *
 * Why paused mode: the client delivers events through a Node stream and checkpoints through a
 * callback the stream calls in message order, after every event before the checkpoint has been
 * pushed into the stream's buffer. Reading with `read()` until the buffer is empty therefore
 * says exactly when a checkpoint "applies": at that moment every event the server sent before it
 * has been handed over, so a reader may move its resume point to the checkpoint without skipping
 * anything. The buffer is bounded (`highWaterMark`): a slow consumer stops the stream, the
 * stream stops reading from gRPC, and HTTP/2 flow control holds the server back.
 */
import {
  START,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type EventStoreDBClient,
  type Position as ClientPosition,
} from '@eventstore/db-client';
import { comparePositions } from '../position.js';
import { START as PORT_START, type Position } from '../port.js';
import type { AllFilter } from './allFilter.js';
import type { EsdbRecordedEvent } from './eventRecords.js';

export interface PositionedEvent extends EsdbRecordedEvent {
  readonly position: Position;
}

export type Pulled =
  /** The next event the server sent, in `$all` order. */
  | { readonly kind: 'event'; readonly event: PositionedEvent }
  /** The buffer is empty: `checkpoint` and `caughtUp` now cover everything handed over. */
  | { readonly kind: 'idle' }
  /** The subscription is over: `error` is null when it ended without one. */
  | { readonly kind: 'ended'; readonly error: unknown };

export class AllReader {
  private readonly subscription: AllStreamSubscription;
  private wake: (() => void) | null = null;
  private idleReported = false;
  private ended = false;
  private error: unknown = null;
  /** The server confirmed the subscription (the connection works). */
  confirmed = false;
  /** The server said catch-up reached the end of the log (EventStoreDB 23.10 and later). */
  caughtUp = false;
  /** The furthest checkpoint the server sent. */
  checkpoint: Position | null = null;

  /** `from` is exclusive; START reads from the first event. */
  constructor(client: EventStoreDBClient, from: Position, filter: AllFilter, bufferEvents: number) {
    const isStart = comparePositions(from, PORT_START) === 0;
    const onCheckpoint = (position: ClientPosition): void => {
      if (this.checkpoint === null || comparePositions(position, this.checkpoint) > 0) {
        this.checkpoint = { commit: position.commit, prepare: position.prepare };
      }
      this.notify();
    };
    this.subscription = client.subscribeToAll(
      { fromPosition: isStart ? START : from, filter: filter.server(onCheckpoint) },
      { highWaterMark: bufferEvents },
    );
    const notify = (): void => {
      this.notify();
    };
    const end = (): void => {
      this.ended = true;
      this.notify();
    };
    this.subscription
      .on('readable', notify)
      .on('end', end)
      .on('close', end)
      .on('confirmation', () => {
        this.confirmed = true;
        this.notify();
      })
      .on('caughtUp', () => {
        this.caughtUp = true;
        this.notify();
      })
      // Always listened to: an 'error' with no listener would crash the process while the
      // consumer is busy elsewhere.
      .on('error', (error: Error) => {
        this.error ??= error;
        end();
      });
  }

  /**
   * The next thing that happened. Reports `idle` once each time the buffer runs dry (and when
   * `signal` has aborted), then waits for the stream. Each pass of the loop either returns or
   * waits for the stream to change, so it never spins.
   */
  async next(signal: AbortSignal): Promise<Pulled> {
    for (;;) {
      const item = this.subscription.read() as AllStreamResolvedEvent | null;
      if (item !== null) {
        this.idleReported = false;
        // Without link resolution every message carries an event, and events on `$all` carry
        // their position; anything else is not an event this adapter can place, so it is skipped.
        const event = item.event;
        if (event !== undefined) return { kind: 'event', event };
        continue;
      }
      if (this.ended) return { kind: 'ended', error: this.error };
      if (!this.idleReported || signal.aborted) {
        this.idleReported = true;
        return { kind: 'idle' };
      }
      await this.changed(signal);
      this.idleReported = false;
    }
  }

  /** Cancels the call; safe to call more than once. */
  async close(): Promise<void> {
    this.ended = true;
    this.notify();
    if (this.subscription.destroyed) return;
    try {
      await this.subscription.unsubscribe();
    } catch {
      // The call never started (its connection failed first): there is nothing to cancel.
    }
    this.subscription.destroy();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
