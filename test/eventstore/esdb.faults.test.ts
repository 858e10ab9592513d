// The EventStoreDB adapter under connection faults, against the emulator: dropped connections
// mid-subscription and mid-append, lost and refused append answers, outages longer than the
// retry budget. Every wait is event-driven with a generous timeout; nothing asserts on timing.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EsdbEventStore,
  type EsdbEventStoreOptions,
} from '../../src/adapters/eventstore/esdb/esdbEventStore.js';
import type { RetryPolicy } from '../../src/adapters/eventstore/esdb/retry.js';
import type { RecordedEvent } from '../../src/adapters/eventstore/port.js';
import { LedgerlineError } from '../../src/domain/errors.js';
import { startEsdbEmulator, type EsdbEmulator, type EsdbEmulatorOptions } from '../esdb-emulator/emulator.js';
import { newEvent, newEvents, testOrg } from '../support/events.js';
import { COLLECT_TIMEOUT_MS, take } from '../support/subscriptions.js';

/** Short waits between attempts, so a test of an exhausted budget ends quickly. */
const QUICK: RetryPolicy = { attemptsMax: 4, initialDelayMs: 5, maxDelayMs: 20 };

let emulator: EsdbEmulator;
let store: EsdbEventStore;

async function start(emulatorOptions: EsdbEmulatorOptions = {}, storeOptions: EsdbEventStoreOptions = {}) {
  emulator = await startEsdbEmulator(emulatorOptions);
  store = EsdbEventStore.connect(emulator.connectionString, storeOptions);
}

afterEach(async () => {
  await store.close();
  await emulator.stop();
});

async function rejection(promise: Promise<unknown>): Promise<LedgerlineError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LedgerlineError);
    return error as LedgerlineError;
  }
  throw new Error('expected a rejection');
}

async function within<T>(promise: Promise<T>, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out waiting for ${label}`));
    }, COLLECT_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('EventStoreDB adapter: dropped connections', () => {
  beforeEach(async () => {
    await start();
  });

  it('delivers every event exactly once, in order, while the connection drops again and again', async () => {
    const org = testOrg();
    const total = 60;
    const dropsWanted = 5;
    const subscription = store.subscribe({ filter: { streamPrefix: `${org}.` } });
    const received: RecordedEvent[] = [];
    let drops = 0;
    const consumer = (async () => {
      for await (const event of subscription) {
        received.push(event);
        // Drops while the subscriber is mid-stream, with more events still to come.
        if (received.length % 10 === 0 && drops < dropsWanted) {
          drops += 1;
          await emulator.dropConnections();
        }
        if (received.length >= total) return;
      }
    })();
    for (let i = 0; i < total; i += 1) {
      await store.append(`${org}.thing-${i % 3}`, [newEvent('Step', { i })], 'any');
      // And drops between appends too, so appends meet a connection being rebuilt.
      if (i % 13 === 7) await emulator.dropConnections();
    }
    await within(consumer, `${total} events`);
    await subscription.close();
    expect(drops).toBe(dropsWanted);
    expect(received.map((event) => event.data)).toEqual(Array.from({ length: total }, (_, i) => ({ i })));
    expect(new Set(received.map((event) => event.eventId)).size).toBe(total);
    const stored = await store.readAll({ filter: { streamPrefix: `${org}.` } });
    expect(stored.events.map((event) => event.eventId)).toEqual(received.map((event) => event.eventId));
  });

  it('resumes from the last event it delivered when the drop comes between deliveries', async () => {
    const org = testOrg();
    const stream = `${org}.thing-1`;
    await store.append(stream, newEvents(5), 'no_stream');
    const subscription = store.subscribe({ filter: { streamPrefix: `${org}.` } });
    try {
      const first = await take(subscription, 3);
      await emulator.dropConnections();
      await store.append(stream, newEvents(2), 4n);
      const rest = await take(subscription, 4);
      expect([...first, ...rest].map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n]);
    } finally {
      await subscription.close();
    }
  });

  it('stores an append once when the connection drops while it is in flight', async () => {
    const stream = `${testOrg()}.thing-1`;
    await store.append(stream, [newEvent()], 'no_stream');
    const before = emulator.eventCount;
    const pending = store.append(stream, newEvents(100), 0n);
    await emulator.dropConnections();
    expect((await pending).nextExpectedRevision).toBe(100n);
    expect(emulator.eventCount).toBe(before + 100);
    expect((await store.verifyStream(stream)).ok).toBe(true);
  });
});

describe('EventStoreDB adapter: failed append calls', () => {
  beforeEach(async () => {
    await start();
  });

  it('answers success once when the answers are lost after the write', async () => {
    const stream = `${testOrg()}.thing-1`;
    await store.append(stream, [newEvent()], 'no_stream');
    const before = emulator.eventCount;
    emulator.failNextAppends(3, 'afterWrite');
    const result = await store.append(stream, newEvents(2), 0n);
    expect(result.nextExpectedRevision).toBe(2n);
    expect(emulator.eventCount).toBe(before + 2);
    const events = await store.readStream(stream);
    expect(events.map((event) => event.revision)).toEqual([0n, 1n, 2n]);
    expect(events.at(-1)?.position).toEqual(result.position);
  });

  it('claims chosen ids and writes once when both the claim and the append lose their answers', async () => {
    const stream = `${testOrg()}.thing-1`;
    const batch = [newEvent('A', {}, randomUUID()), newEvent('B', {}, randomUUID())];
    emulator.failNextAppends(4, 'afterWrite');
    const result = await store.append(stream, batch, 'no_stream');
    expect(result.nextExpectedRevision).toBe(1n);
    expect((await store.readStream(stream)).map((event) => event.eventId)).toEqual(
      batch.map((event) => event.eventId),
    );
    expect(await store.append(stream, batch, 'no_stream')).toEqual(result);
  });

  it('succeeds after retrying when appends fail before the write', async () => {
    const stream = `${testOrg()}.thing-1`;
    const before = emulator.eventCount;
    emulator.failNextAppends(3, 'beforeWrite');
    const result = await store.append(stream, newEvents(3), 'any');
    expect(result.nextExpectedRevision).toBe(2n);
    expect(emulator.eventCount).toBe(before + 3);
  });
});

describe('EventStoreDB adapter: outages beyond the retry budget', () => {
  beforeEach(async () => {
    await start({}, { callRetry: QUICK, subscriptionRetry: QUICK });
  });

  it('answers STORE_UNAVAILABLE when every attempt fails before the write, and writes nothing', async () => {
    const stream = `${testOrg()}.thing-1`;
    const before = emulator.eventCount;
    emulator.failNextAppends(QUICK.attemptsMax, 'beforeWrite');
    const error = await rejection(store.append(stream, newEvents(3), 'no_stream'));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.cause).toBeInstanceOf(Error);
    expect(emulator.eventCount).toBe(before);
    expect(await store.readStream(stream)).toEqual([]);
    // The outage is over: the same append goes through, once.
    expect((await store.append(stream, newEvents(3), 'no_stream')).nextExpectedRevision).toBe(2n);
  });

  it('answers STORE_UNAVAILABLE when answers keep getting lost, and a later retry finds the write', async () => {
    const stream = `${testOrg()}.thing-1`;
    const batch = newEvents(2).map((event) => ({ ...event, eventId: randomUUID() }));
    emulator.failNextAppends(QUICK.attemptsMax * 2, 'afterWrite');
    const error = await rejection(store.append(stream, batch, 'no_stream'));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    emulator.clearFaults();
    // Written once by the first attempt; the caller's retry is answered with that write.
    const retry = await store.append(stream, batch, 'no_stream');
    expect(retry.nextExpectedRevision).toBe(1n);
    expect((await store.readStream(stream)).map((event) => event.eventId)).toEqual(
      batch.map((event) => event.eventId),
    );
  });

  it('answers STORE_UNAVAILABLE while the server refuses connections, and recovers after', async () => {
    const stream = `${testOrg()}.thing-1`;
    const before = emulator.eventCount;
    emulator.setAcceptingConnections(false);
    await emulator.dropConnections();
    const error = await rejection(store.append(stream, newEvents(2), 'no_stream'));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(emulator.eventCount).toBe(before);
    emulator.setAcceptingConnections(true);
    expect((await store.append(stream, newEvents(2), 'no_stream')).nextExpectedRevision).toBe(1n);
    expect(emulator.eventCount).toBe(before + 2);
  });

  it('ends a subscription with STORE_UNAVAILABLE when it cannot reconnect', async () => {
    const org = testOrg();
    await store.append(`${org}.thing-1`, [newEvent()], 'no_stream');
    const subscription = store.subscribe({ filter: { streamPrefix: `${org}.` } });
    try {
      await take(subscription, 1);
      emulator.setAcceptingConnections(false);
      await emulator.dropConnections();
      const error = await rejection(
        within(subscription[Symbol.asyncIterator]().next(), 'the subscription to end'),
      );
      expect(error.code).toBe('STORE_UNAVAILABLE');
    } finally {
      emulator.setAcceptingConnections(true);
      await subscription.close();
    }
  });
});

describe("EventStoreDB adapter: the server's maximum append size", () => {
  it('refuses an append the server finds too large, naming the limit, and writes nothing', async () => {
    await start({ maxAppendSizeBytes: 4_096 });
    const stream = `${testOrg()}.thing-1`;
    const before = emulator.eventCount;
    const error = await rejection(
      store.append(
        stream,
        [newEvent('Big', { blob: 'x'.repeat(3_000) }), newEvent('Big', { blob: 'y'.repeat(3_000) })],
        'no_stream',
      ),
    );
    expect(error.code).toBe('APPEND_TOO_LARGE');
    expect(error.details).toMatchObject({ limit: 4_096 });
    expect(error.message).toContain('4096');
    expect(emulator.eventCount).toBe(before);
    expect(await store.readStream(stream)).toEqual([]);
  });
});
