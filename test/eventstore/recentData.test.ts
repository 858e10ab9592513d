/**
 * A read that may use memory (the projector's) takes the data of large events this store
 * appended from memory, and gives exactly what a read of the table gives; everything else,
 * and every read that does not ask, comes from the table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/adapters/eventstore/port.js';
import {
  RECENT_DATA_BYTES_MIN,
  RECENT_DATA_EVENTS_MAX,
  RecentData,
} from '../../src/adapters/eventstore/postgres/recentData.js';
import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import { freshPglite, freshPostgres, type TestDatabase } from '../support/databases.js';
import { newEvent, testOrg } from '../support/events.js';
import { probePostgres, serviceGate } from '../support/services.js';

const postgres = serviceGate('remembered event data on PostgreSQL', await probePostgres());

/** Data of about `bytes` bytes of canonical JSON, with a nested shape like a ledger batch's. */
function largeData(bytes: number, label: string): { transfers: { id: string; note: string }[] } {
  const count = Math.ceil(bytes / 100);
  return {
    transfers: Array.from({ length: count }, (_, i) => ({
      id: `${label}_${String(i)}`,
      note: 'x'.repeat(70),
    })),
  };
}

describe('RecentData', () => {
  it('ignores small events, and forgets the oldest beyond its bound', () => {
    const recent = new RecentData();
    recent.remember('small', { n: 1 }, RECENT_DATA_BYTES_MIN - 1);
    expect(recent.size).toBe(0);
    for (let i = 0; i <= RECENT_DATA_EVENTS_MAX; i += 1) {
      recent.remember(`e${String(i)}`, { i }, RECENT_DATA_BYTES_MIN);
    }
    expect(recent.size).toBe(RECENT_DATA_EVENTS_MAX);
    const snapshot = recent.snapshot();
    expect(snapshot.has('e0')).toBe(false);
    expect(snapshot.get(`e${String(RECENT_DATA_EVENTS_MAX)}`)).toEqual({ i: RECENT_DATA_EVENTS_MAX });
  });

  it('answers a snapshot that later events do not change', () => {
    const recent = new RecentData();
    recent.remember('a', { a: 1 }, RECENT_DATA_BYTES_MIN);
    const snapshot = recent.snapshot();
    for (let i = 0; i < RECENT_DATA_EVENTS_MAX; i += 1)
      recent.remember(`b${String(i)}`, {}, RECENT_DATA_BYTES_MIN);
    expect(recent.snapshot().has('a')).toBe(false);
    expect(snapshot.get('a')).toEqual({ a: 1 });
  });
});

function suite(name: string, open: () => Promise<TestDatabase>, enabled: boolean): void {
  describe.skipIf(!enabled)(`remembered event data (${name})`, () => {
    let test: TestDatabase;
    let writer: SqlEventStore;
    /** Another process on the same tables: it remembers nothing this one wrote. */
    let other: SqlEventStore;
    const large = largeData(RECENT_DATA_BYTES_MIN * 2, 'big');
    const largeElsewhere = largeData(RECENT_DATA_BYTES_MIN * 2, 'elsewhere');

    beforeAll(async () => {
      test = await open();
      writer = new SqlEventStore(test.db);
      other = new SqlEventStore(test.db);
      const org = testOrg();
      await writer.append(
        `${org}.ledger-main`,
        [newEvent('Small', { n: 1 }), newEvent('Large', large)],
        'no_stream',
      );
      await other.append(`${org}.other-main`, [newEvent('Large', largeElsewhere)], 'no_stream');
    });

    afterAll(async () => {
      await test.dispose();
    });

    const byType = (events: readonly RecordedEvent[], type: string, stream: string): RecordedEvent => {
      const found = events.find((event) => event.type === type && event.streamName.endsWith(stream));
      if (!found) throw new Error(`no ${type} in ${stream}`);
      return found;
    };

    it('takes the large event it appended from memory, equal to the stored one', async () => {
      const fromMemory = await writer.readAll({ recentFromMemory: true });
      const fromTable = await writer.readAll();
      expect(fromMemory).toEqual(fromTable);
      // The very value appended: it was not read back.
      expect(byType(fromMemory.events, 'Large', '.ledger-main').data).toBe(large);
      expect(byType(fromTable.events, 'Large', '.ledger-main').data).not.toBe(large);
    });

    it('reads from the table what it did not append, and small events', async () => {
      const page = await writer.readAll({ recentFromMemory: true });
      const elsewhere = byType(page.events, 'Large', '.other-main').data;
      expect(elsewhere).not.toBe(largeElsewhere);
      expect(elsewhere).toEqual(largeElsewhere);
      expect(byType(page.events, 'Small', '.ledger-main').data).toEqual({ n: 1 });
      const seenByOther = await other.readAll({ recentFromMemory: true });
      expect(byType(seenByOther.events, 'Large', '.ledger-main').data).not.toBe(large);
      expect(seenByOther).toEqual(page);
    });
  });
}

suite('PGlite', freshPglite, true);
suite('PostgreSQL', () => freshPostgres('recentdata'), postgres);
