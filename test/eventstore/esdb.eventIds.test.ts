// Event-id claims of the EventStoreDB adapter (eventIdClaims.ts), on the paths the conformance
// suite does not reach: retries after other writers appended, a retry at a new revision after a
// conflict, and claim streams staying invisible to readers.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EsdbEventStore } from '../../src/adapters/eventstore/esdb/esdbEventStore.js';
import { CLAIM_STREAM_PREFIX } from '../../src/adapters/eventstore/esdb/eventIdClaims.js';
import { ConcurrencyError, LedgerlineError } from '../../src/domain/errors.js';
import { startEsdbEmulator, type EsdbEmulator } from '../esdb-emulator/emulator.js';
import { newEvent, testOrg } from '../support/events.js';
import { take } from '../support/subscriptions.js';

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

const chosen = (type = 'A') => newEvent(type, {}, randomUUID());

describe('EventStoreDB adapter: event-id claims', () => {
  it('answers an `any` retry with the original result after others appended behind it', async () => {
    const stream = `${testOrg()}.thing-1`;
    const batch = [chosen(), chosen()];
    const first = await store.append(stream, batch, 'any');
    await store.append(stream, [newEvent('Later')], 'any');
    expect(await store.append(stream, batch, 'any')).toEqual(first);
    expect((await store.readStream(stream)).length).toBe(3);
  });

  it('lets a writer retry the same ids at a new revision after a conflict wrote nothing', async () => {
    const stream = `${testOrg()}.thing-1`;
    await store.append(stream, [newEvent()], 'no_stream');
    await store.append(stream, [newEvent()], 0n);
    const batch = [chosen(), chosen()];
    await expect(store.append(stream, batch, 0n)).rejects.toBeInstanceOf(ConcurrencyError);
    const result = await store.append(stream, batch, 1n);
    expect(result.nextExpectedRevision).toBe(3n);
    expect((await store.readStream(stream)).map((event) => event.eventId).slice(2)).toEqual(
      batch.map((event) => event.eventId),
    );
  });

  it('refuses an id stored earlier in the same stream, also with `any`', async () => {
    const stream = `${testOrg()}.thing-1`;
    const reused = chosen();
    await store.append(stream, [reused], 'no_stream');
    await store.append(stream, [newEvent()], 0n);
    const error = await store.append(stream, [chosen(), reused], 'any').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LedgerlineError);
    expect((error as LedgerlineError).code).toBe('DUPLICATE_EVENT_ID');
    expect((await store.readStream(stream)).length).toBe(2);
  });

  it('never shows claim streams to readers of $all', async () => {
    const org = testOrg();
    const last = emulator.lastPosition ?? 0n;
    const before = { commit: last, prepare: last };
    const subscription = store.subscribe({ from: before });
    try {
      const event = chosen('Claimed');
      await store.append(`${org}.thing-1`, [event], 'no_stream');
      // The claim was written first, then the event: both lie after `before`.
      expect(emulator.currentRevision(`${CLAIM_STREAM_PREFIX}${event.eventId ?? ''}`)).toBe(0n);
      const [delivered] = await take(subscription, 1);
      expect(delivered?.streamName).toBe(`${org}.thing-1`);
      const page = await store.readAll({ from: before });
      expect(page.events.map((event) => [event.streamName, event.type])).toEqual([
        [`${org}.thing-1`, 'Claimed'],
      ]);
      expect(page.isEnd).toBe(true);
    } finally {
      await subscription.close();
    }
  });
});
