/**
 * Where a session hears that an organization's read models changed, to re-read the resources
 * it subscribed to: the event bus (NATS or in-process, after the projector), or — where no
 * publisher runs, as under `ledgerline mcp` — this process's projector directly.
 */
import type { EventBus } from '../adapters/bus/port.js';
import { categoryOf } from '../adapters/bus/busEvent.js';
import type { CommittedFeed } from '../projections/committedFeed.js';

/** Calls `listener` with the categories of each change of `orgId`; answers how to stop. */
export type ChangeSource = (orgId: string, listener: (categories: readonly string[]) => void) => () => void;

export function busChanges(bus: EventBus): ChangeSource {
  return (orgId, listener) =>
    bus.subscribe({ orgId }, (event) => {
      listener([event.category]);
    });
}

export function committedChanges(feed: CommittedFeed): ChangeSource {
  return (orgId, listener) =>
    feed.subscribe((events) => {
      const categories = events
        .filter((event) => event.orgId === orgId)
        .map((event) => categoryOf(event.streamName));
      if (categories.length > 0) listener(categories);
    });
}
