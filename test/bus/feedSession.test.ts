/**
 * A live-feed session's bounds, on a real (PGlite) event store and the in-process bus: a client
 * that stops reading is disconnected as a slow consumer once its buffer is full, rather than
 * holding events without limit; live events that overflow the buffer during a replay are read
 * again from the store, so the client still gets every event once, in order.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toBusEvent, type BusEvent } from '../../src/adapters/bus/busEvent.js';
import { MemoryBus } from '../../src/adapters/bus/memoryBus.js';
import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import { START, type RecordedEvent } from '../../src/adapters/eventstore/port.js';
import { FeedHub } from '../../src/adapters/feed/hub.js';
import { FeedSession, type FeedCloseReason, type FeedSink } from '../../src/adapters/feed/session.js';
import { freshPglite, type TestDatabase } from '../support/databases.js';
import { newEvents, testOrg } from '../support/events.js';
import { until } from '../support/feedChecks.js';

describe('a live-feed session', () => {
  let database: TestDatabase;
  let store: SqlEventStore;
  let bus: MemoryBus;
  let hub: FeedHub;

  beforeEach(async () => {
    database = await freshPglite();
    store = new SqlEventStore(database.db);
    bus = new MemoryBus();
    hub = new FeedHub(bus);
  });

  afterEach(async () => {
    hub.stop();
    await bus.close();
    await database.dispose();
  });

  async function append(org: string, count: number): Promise<RecordedEvent[]> {
    await store.append(`${org}.thing-1`, newEvents(count), 'any');
    return (await store.readStream(`${org}.thing-1`)).slice(-count);
  }

  it('disconnects a client that stopped reading once its buffer is full', async () => {
    const org = testOrg();
    const closed: FeedCloseReason[] = [];
    const written: BusEvent[] = [];
    const stuck: FeedSink = {
      write: (event) => {
        written.push(event);
        return false;
      },
      heartbeat: () => undefined,
      drained: () => new Promise(() => undefined),
      close: (reason) => closed.push(reason),
    };
    const session = new FeedSession(
      store,
      hub,
      { orgId: org, types: null, categories: null, after: null },
      stuck,
      {
        bufferMax: 5,
        heartbeatMs: 60_000,
      },
    );
    await session.start();
    const other = await append(testOrg(), 20);
    await bus.publish(other.map(toBusEvent));
    expect(closed).toEqual([]);
    const mine = await append(org, 20);
    await bus.publish(mine.map(toBusEvent));
    expect(closed.map((reason) => reason.code)).toEqual(['slow_consumer']);
    expect(closed[0]?.message).toMatch(/reconnect with the last event id/);
    // One event went to the socket; at most the buffer was held besides; nothing after.
    expect(written.map((event) => event.eventId)).toEqual([mine[0]?.eventId]);
    expect(hub.count(org)).toBe(0);
  });

  it('reads overflowing live events again from the store while replaying', async () => {
    const org = testOrg();
    const history = await append(org, 30);
    const live = await append(org, 40);
    const written: BusEvent[] = [];
    let published = false;
    const sink: FeedSink = {
      write: (event) => {
        written.push(event);
        if (!published) {
          // Live events arrive in the middle of the replay: more than the buffer holds.
          published = true;
          void bus.publish(live.map(toBusEvent));
        }
        return true;
      },
      heartbeat: () => undefined,
      drained: () => Promise.resolve(),
      close: () => undefined,
    };
    const session = new FeedSession(
      store,
      hub,
      { orgId: org, types: null, categories: null, after: START },
      sink,
      {
        bufferMax: 10,
        heartbeatMs: 60_000,
      },
    );
    await session.start();
    const more = await append(org, 3);
    await bus.publish(more.map(toBusEvent));
    await until(() => written.length >= 73, 'every event');
    expect(written.map((event) => event.eventId)).toEqual(
      [...history, ...live, ...more].map((event) => event.eventId),
    );
    session.end();
  });
});
