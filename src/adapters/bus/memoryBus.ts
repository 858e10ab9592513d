/**
 * The in-process bus of the embedded default: publishing hands each event to this process's
 * subscribers, synchronously and in order. Nothing is kept, so a subscriber sees only what is
 * published after it subscribed — the live feeds replay older events from the event store.
 */
import {
  passes,
  type BusEvent,
  type BusFilter,
  type BusHandler,
  type EventBus,
  type Unsubscribe,
} from './port.js';

export class MemoryBus implements EventBus {
  readonly description = 'in-process event bus';
  private readonly subscribers = new Set<{ filter: BusFilter; handler: BusHandler }>();
  private closed = false;

  constructor(private readonly onHandlerError: (error: unknown) => void = () => undefined) {}

  publish(events: readonly BusEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the event bus is closed'));
    for (const event of events) {
      for (const subscriber of [...this.subscribers]) {
        if (!passes(subscriber.filter, event)) continue;
        try {
          subscriber.handler(event);
        } catch (error) {
          // One subscriber's bug must not stop delivery to the others or fail the publisher.
          this.onHandlerError(error);
        }
      }
    }
    return Promise.resolve();
  }

  subscribe(filter: BusFilter, handler: BusHandler): Unsubscribe {
    const subscriber = { filter, handler };
    if (!this.closed) this.subscribers.add(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
    };
  }

  reachesNobody(): boolean {
    return !this.closed && this.subscribers.size === 0;
  }

  wantedTypes(): ReadonlySet<string> | null {
    if (this.closed) return null;
    const wanted = new Set<string>();
    for (const { filter } of this.subscribers) {
      if (filter.eventTypes === undefined) return null;
      for (const type of filter.eventTypes) wanted.add(type);
    }
    return wanted;
  }

  health(): 'ok' {
    return 'ok';
  }

  close(): Promise<void> {
    this.closed = true;
    this.subscribers.clear();
    return Promise.resolve();
  }
}
