/**
 * The event bus port: committed events fanned out to whoever listens — the live feeds
 * (`/v1/events`, `/v1/ws`), caches on other nodes, MCP resource notifications. Two adapters:
 * NATS JetStream (`NATS_URL`) and an in-process bus (the embedded default). Both deliver each
 * subscriber the events in global order.
 */
import type { BusEvent } from './busEvent.js';

export type { BusEvent };

/** Which events a subscriber wants; an empty filter is every event of every organization. */
export interface BusFilter {
  /** Only this organization's events (`platform` for the platform's own streams). */
  readonly orgId?: string;
  /** Only events of these types (a cache that forgets on a few kinds of change). */
  readonly eventTypes?: ReadonlySet<string>;
}

/** Whether `event` is one `filter` lets through. */
export function passes(filter: BusFilter, event: { readonly orgId: string; readonly type: string }): boolean {
  if (filter.orgId !== undefined && filter.orgId !== event.orgId) return false;
  return filter.eventTypes === undefined || filter.eventTypes.has(event.type);
}

export type BusHandler = (event: BusEvent) => void;

/** Stops a subscription; safe to call twice. */
export type Unsubscribe = () => void;

export type BusHealth = 'ok' | 'unreachable';

export interface EventBus {
  /** A label for logs and the console: where the events go. */
  readonly description: string;
  /**
   * Publishes the events in order, resolving once every one is acknowledged (stored, for
   * JetStream). Throws when the bus cannot take them; the caller retries from where it was.
   * Publishing an event again (same event id) is harmless.
   */
  publish(events: readonly BusEvent[]): Promise<void>;
  /**
   * Delivers every event published from now on that matches, in order, until unsubscribed.
   * Returns at once; a subscription outlives an outage of the bus and resumes without a gap.
   */
  subscribe(filter: BusFilter, handler: BusHandler): Unsubscribe;
  /**
   * The id of the newest event the bus holds, where it keeps them (JetStream): a publisher
   * resuming after a crash skips what was stored but not yet checkpointed. Null when empty.
   */
  lastPublishedEventId?(): Promise<string | null>;
  /**
   * True when publishing now would reach nobody and keep nothing (an in-process bus no one in
   * this process listens to): the publisher then moves its place without building the events'
   * wire form. A bus that stores what it is given (JetStream) never says so.
   */
  reachesNobody?(): boolean;
  /**
   * The event types publishing now would reach, when every subscriber in this process names
   * its types (an in-process bus whose only listeners are caches): the publisher then reads
   * only those. Null when some subscriber takes every type, or the bus keeps what it is given.
   */
  wantedTypes?(): ReadonlySet<string> | null;
  /** Whether the bus could be reached the last time it was used. */
  health(): BusHealth;
  close(): Promise<void>;
}
