// Server-side filters of the EventStoreDB adapter over long stretches of events they drop: reads
// page across them and end, subscriptions resume across them after a dropped connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EsdbEventStore } from '../../src/adapters/eventstore/esdb/esdbEventStore.js';
import type { RecordedEvent } from '../../src/adapters/eventstore/port.js';
import { startEsdbEmulator, type EsdbEmulator } from '../esdb-emulator/emulator.js';
import { newEvent, newEvents, testOrg } from '../support/events.js';
import { take } from '../support/subscriptions.js';

/** More than the server's checkpoint interval (32 events) many times over. */
const OTHER_EVENTS = 300;

let emulator: EsdbEmulator;
let store: EsdbEventStore;

beforeAll(async () => {
  emulator = await startEsdbEmulator();
  store = EsdbEventStore.connect(emulator.connectionString);
});

afterAll(async () => {
  await store.close();
  await emulator.stop();
});

async function appendOthers(org: string): Promise<void> {
  for (let i = 0; i < OTHER_EVENTS / 100; i += 1) {
    await store.append(`${org}.noise-${i}`, newEvents(100, 'Noise'), 'no_stream');
  }
}

describe('EventStoreDB adapter: filters over events they drop', () => {
  it('pages a filtered read of $all across many other events and ends', async () => {
    const mine = testOrg();
    const last = emulator.lastPosition ?? 0n;
    await store.append(`${mine}.thing-1`, [newEvent('Mine', { k: 0 })], 'no_stream');
    await appendOthers(testOrg());
    await store.append(`${mine}.thing-1`, [newEvent('Mine', { k: 1 })], 0n);
    await appendOthers(testOrg());
    const read: RecordedEvent[] = [];
    let from = { commit: last, prepare: last };
    let ended = false;
    for (let page = 0; page < 10 && !ended; page += 1) {
      const result = await store.readAll({ from, filter: { streamPrefix: `${mine}.` }, maxCount: 1 });
      read.push(...result.events);
      from = result.next;
      ended = result.isEnd;
    }
    expect(ended).toBe(true);
    expect(read.map((event) => event.data)).toEqual([{ k: 0 }, { k: 1 }]);
    // The last page's `next` passed the trailing events no filter matched: reading on finds nothing.
    const after = await store.readAll({ from, filter: { streamPrefix: `${mine}.` } });
    expect(after).toEqual({ events: [], next: from, isEnd: true });
  });

  it('resumes a filtered subscription after a drop without losing or repeating a match', async () => {
    const mine = testOrg();
    const stream = `${mine}.thing-1`;
    const subscription = store.subscribe({ filter: { streamPrefix: `${mine}.`, eventTypes: ['Mine'] } });
    try {
      await store.append(stream, [newEvent('Mine', { k: 0 })], 'no_stream');
      const first = await take(subscription, 1);
      await appendOthers(testOrg());
      await store.append(stream, [newEvent('Skipped'), newEvent('Mine', { k: 1 })], 0n);
      const second = await take(subscription, 1);
      await appendOthers(testOrg());
      await emulator.dropConnections();
      await store.append(stream, [newEvent('Mine', { k: 2 })], 2n);
      const third = await take(subscription, 1);
      expect([...first, ...second, ...third].map((event) => event.data)).toEqual([
        { k: 0 },
        { k: 1 },
        { k: 2 },
      ]);
    } finally {
      await subscription.close();
    }
  });
});
