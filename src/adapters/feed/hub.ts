/**
 * One bus subscription per process for every live-feed connection: events arrive once, in
 * global order, and are handed to the listeners of the event's organization only. The
 * organization is compared exactly here, whatever the bus's subjects say.
 */
import type { BusEvent, EventBus, Unsubscribe } from '../bus/port.js';

export type FeedListener = (event: BusEvent) => void;

export class FeedHub {
  private readonly listeners = new Map<string, Set<FeedListener>>();
  private unsubscribe: Unsubscribe | null = null;

  constructor(
    private readonly bus: EventBus,
    private readonly onListenerError: (error: unknown) => void = () => undefined,
  ) {}

  /** Starts hearing the bus (at most once); events published before are the store's to replay. */
  start(): void {
    this.unsubscribe ??= this.bus.subscribe({}, (event) => {
      this.deliver(event);
    });
  }

  listen(orgId: string, listener: FeedListener): Unsubscribe {
    this.start();
    let set = this.listeners.get(orgId);
    if (!set) {
      set = new Set();
      this.listeners.set(orgId, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(orgId);
      current?.delete(listener);
      if (current?.size === 0) this.listeners.delete(orgId);
    };
  }

  /** Open listeners of one organization (connection limits). */
  count(orgId: string): number {
    return this.listeners.get(orgId)?.size ?? 0;
  }

  get total(): number {
    let total = 0;
    for (const set of this.listeners.values()) total += set.size;
    return total;
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.listeners.clear();
  }

  private deliver(event: BusEvent): void {
    const set = this.listeners.get(event.orgId);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
