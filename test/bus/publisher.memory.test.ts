/**
 * The in-process publisher takes the projector's committed batches as they are instead of
 * reading every event back: every committed event still reaches the bus exactly once and in
 * global order — also across batches it was never handed, which it reads — and, while it is
 * handed every batch, it reads the store for none of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusEvent } from '../../src/adapters/bus/busEvent.js';
import { MemoryBus } from '../../src/adapters/bus/memoryBus.js';
import { EventPublisher } from '../../src/adapters/bus/publisher.js';
import { formatPosition } from '../../src/adapters/eventstore/position.js';
import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import type { RecordedEvent } from '../../src/adapters/eventstore/port.js';
import { Projector } from '../../src/projections/projector.js';
import { PROJECTIONS } from '../../src/projections/registry.js';
import { freshPglite, type TestDatabase } from '../support/databases.js';
import { newEvent, testOrg } from '../support/events.js';

const WAIT_MAX_MS = 30_000;
const POLL_MS = 10;
const APPENDS = 40;

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MAX_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Waits until the publisher has passed the newest event in the store. */
async function publishedToHead(store: SqlEventStore, publisher: EventPublisher): Promise<void> {
  const head = await store.headPosition();
  await until(
    () => publisher.status().publishedThrough === (head ? formatPosition(head) : null),
    'the publisher to pass the head',
  );
}

const quiet = { info: () => undefined, warn: () => undefined } as unknown as ConstructorParameters<
  typeof EventPublisher
>[3]['log'];

describe('the in-process publisher', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await freshPglite();
  });

  afterAll(async () => {
    await database.dispose();
  });

  it('publishes every committed event once, in order, from the batches the projector hands it', async () => {
    const store = new SqlEventStore(database.db);
    let publisherReads = 0;
    // The publisher's own store: the same one, counting the reads the publisher makes.
    const counted = Object.create(store) as SqlEventStore;
    counted.readAll = (options) => {
      publisherReads += 1;
      return store.readAll(options);
    };
    const bus = new MemoryBus();
    const heard: BusEvent[] = [];
    bus.subscribe({}, (event) => {
      heard.push(event);
    });
    let publisher: EventPublisher | null = null;
    let dropOffers = false;
    const projector = new Projector(database.db, store, PROJECTIONS, {
      batchMax: 3,
      onCommitted: (events, range) => {
        // A batch never handed over (as when more wait than it keeps): a gap it must read.
        if (dropOffers) publisher?.wake();
        else publisher?.offer(events, range);
      },
    });
    publisher = new EventPublisher(database.db, counted, bus, {
      checkpointName: null,
      horizon: () => projector.position,
      log: quiet,
    });
    projector.start();
    publisher.start();
    try {
      await until(() => publisher.status().publishedThrough !== null, 'the publisher to start');
      const readsAtStart = publisherReads;
      const org = testOrg();
      for (let index = 0; index < APPENDS; index += 1) {
        dropOffers = index >= 20 && index < 25;
        await store.append(`${org}.thing-${index % 4}`, [newEvent('ThingHappened', { index })], 'any');
        const head = await store.headPosition();
        await until(
          () => publisher.status().publishedThrough === (head ? formatPosition(head) : null),
          `event ${index} to be published`,
        );
        if (index === 19)
          expect(publisherReads, 'no reads while batches were handed over').toBe(readsAtStart);
      }
      const committed: RecordedEvent[] = [];
      for (let from = undefined as RecordedEvent['position'] | undefined; ;) {
        const page = await store.readAll({ ...(from ? { from } : {}), maxCount: 1000 });
        committed.push(...page.events);
        from = page.next;
        if (page.isEnd) break;
      }
      const ours = committed.filter((event) => event.streamName.startsWith(`${org}.`));
      expect(heard.map((event) => event.eventId)).toEqual(ours.map((event) => event.eventId));
      // It read the batches it was not handed.
      expect(publisherReads).toBeGreaterThan(readsAtStart);
    } finally {
      await publisher.stop();
      await projector.stop();
      await bus.close();
    }
  });

  it('moves past what nobody listens to without publishing it, and publishes once someone does', async () => {
    const store = new SqlEventStore(database.db);
    const bus = new MemoryBus();
    let publishes = 0;
    const publish = bus.publish.bind(bus);
    bus.publish = (events) => {
      publishes += 1;
      return publish(events);
    };
    const projector = new Projector(database.db, store, PROJECTIONS);
    const publisher = new EventPublisher(database.db, store, bus, {
      checkpointName: null,
      horizon: () => projector.position,
      log: quiet,
    });
    projector.start();
    publisher.start();
    const published = (): Promise<void> => publishedToHead(store, publisher);
    try {
      const org = testOrg();
      for (let index = 0; index < 5; index += 1)
        await store.append(`${org}.quiet-${index}`, [newEvent('ThingHappened', { index })], 'any');
      await published();
      expect(publishes, 'nobody listened: nothing built or published').toBe(0);
      const heard: BusEvent[] = [];
      bus.subscribe({}, (event) => {
        heard.push(event);
      });
      for (let index = 0; index < 3; index += 1)
        await store.append(`${org}.heard-${index}`, [newEvent('ThingHappened', { index })], 'any');
      await published();
      expect(heard.map((event) => event.streamName)).toEqual(
        [0, 1, 2].map((index) => `${org}.heard-${index}`),
      );
    } finally {
      await publisher.stop();
      await projector.stop();
      await bus.close();
    }
  });

  it('reads only the types its listeners name, and still hands each of those over once, in order', async () => {
    const store = new SqlEventStore(database.db);
    const filters: (readonly string[] | undefined)[] = [];
    const counted = Object.create(store) as SqlEventStore;
    counted.readAll = (options) => {
      filters.push(options?.filter?.eventTypes);
      return store.readAll(options);
    };
    const bus = new MemoryBus();
    const wanted: BusEvent[] = [];
    bus.subscribe({ eventTypes: new Set(['ApiKeyRevoked']) }, (event) => {
      wanted.push(event);
    });
    // Never handed a batch (as in a server whose projector runs apart): it reads everything.
    const projector = new Projector(database.db, store, PROJECTIONS);
    const publisher = new EventPublisher(database.db, counted, bus, {
      checkpointName: null,
      horizon: () => projector.position,
      log: quiet,
      batchMax: 4,
    });
    projector.start();
    publisher.start();
    const published = (): Promise<void> => publishedToHead(store, publisher);
    try {
      await until(() => publisher.status().publishedThrough !== null, 'the publisher to start');
      const org = testOrg();
      // Far more events than a page of the types nobody wants, around those somebody does.
      const revoked: string[] = [];
      for (let index = 0; index < 30; index += 1) {
        const type = index % 7 === 3 ? 'ApiKeyRevoked' : 'ThingHappened';
        await store.append(`${org}.key-${index}`, [newEvent(type, { index })], 'any');
        if (type === 'ApiKeyRevoked') revoked.push(`${org}.key-${index}`);
      }
      await published();
      expect(wanted.map((event) => event.streamName)).toEqual(revoked);
      expect(filters.length).toBeGreaterThan(0);
      expect(filters.every((types) => types?.join() === 'ApiKeyRevoked')).toBe(true);

      // A listener of every type joins: from then on every event is read and handed over.
      const everything: BusEvent[] = [];
      bus.subscribe({}, (event) => {
        everything.push(event);
      });
      filters.length = 0;
      for (let index = 0; index < 6; index += 1)
        await store.append(`${org}.later-${index}`, [newEvent('ThingHappened', { index })], 'any');
      await published();
      expect(everything.map((event) => event.streamName)).toEqual(
        [0, 1, 2, 3, 4, 5].map((index) => `${org}.later-${index}`),
      );
      expect(filters.every((types) => types === undefined)).toBe(true);
      expect(wanted.map((event) => event.streamName)).toEqual(revoked);
    } finally {
      await publisher.stop();
      await projector.stop();
      await bus.close();
    }
  });
});
