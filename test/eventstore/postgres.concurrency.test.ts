/**
 * Global order on real PostgreSQL, where it is hard: many writers commit in an order that
 * differs from the order they took sequence numbers in. A reader must never pass an event
 * whose transaction is still open, and a subscriber must see every event exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ConcurrencyError } from '../../src/domain/errors.js';
import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import { comparePositions } from '../../src/adapters/eventstore/position.js';
import { prepareAppend } from '../../src/adapters/eventstore/newEvents.js';
import type { RecordedEvent } from '../../src/adapters/eventstore/port.js';
import { freshPostgres, type TestDatabase } from '../support/databases.js';
import { newEvent, testOrg } from '../support/events.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';
import { take } from '../support/subscriptions.js';

const WRITERS = 8;
const APPENDS_PER_WRITER = 300;
const STREAMS = 12;
const RETRIES_MAX = 1_000;

const probe = await probePostgres();
const run = serviceGate('event store concurrency on PostgreSQL', probe);

describe.skipIf(!run)('event store global order on PostgreSQL', () => {
  let test: TestDatabase;
  let store: SqlEventStore;

  beforeAll(async () => {
    test = await freshPostgres('conc', WRITERS + 4);
    store = new SqlEventStore(test.db);
  });

  afterAll(async () => {
    await test.dispose();
  });

  it('never reads past an open transaction, then delivers it in order once it commits', async () => {
    const org = testOrg();
    const early = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${test.schema}` });
    await early.connect();
    try {
      // The first writer takes its transaction id and sequence number, then stalls.
      const prepared = prepareAppend(
        `${org}.thing-early`,
        [newEvent('Early')],
        'no_stream',
        () => new Date(),
      );
      const payload = JSON.stringify(prepared.events.map((event) => ({ ...event, bytes: undefined })));
      await early.query('BEGIN');
      await early.query('SELECT * FROM ll_append($1, $2, -1, $3::jsonb)', [prepared.stream, org, payload]);
      // A later writer commits first.
      await store.append(`${org}.thing-late`, [newEvent('Late')], 'no_stream');
      const beforeCommit = await store.readAll({ filter: { streamPrefix: `${org}.` } });
      expect(beforeCommit.events).toEqual([]);
      await early.query('COMMIT');
      const afterCommit = await store.readAll({ filter: { streamPrefix: `${org}.` } });
      expect(afterCommit.events.map((event) => event.type)).toEqual(['Early', 'Late']);
    } finally {
      await early.end();
    }
  });

  it('gives a subscriber every event of 8 racing writers exactly once, in global order, with no conflict lost', async () => {
    const org = testOrg();
    const streams = Array.from({ length: STREAMS }, (_, i) => `${org}.account-${i}`);
    const subscription = store.subscribe({ filter: { streamPrefix: `${org}.` } });
    const expectedPerWriter = Array.from({ length: APPENDS_PER_WRITER }, (_, n) => 1 + (n % 3)).reduce(
      (a, b) => a + b,
      0,
    );
    // The subscriber reads while the writers race, not afterwards.
    const delivering = take(subscription, WRITERS * expectedPerWriter, 120_000);
    const written = new Set<string>();
    let conflicts = 0;

    async function writer(id: number): Promise<void> {
      const known = new Map<string, bigint | 'no_stream'>();
      for (let n = 0; n < APPENDS_PER_WRITER; n += 1) {
        const stream = streams[(id * 7 + n * 3) % STREAMS]!;
        const events = Array.from({ length: 1 + (n % 3) }, (_, k) =>
          newEvent('Moved', { writer: id, n, k }, randomUUID()),
        );
        for (let attempt = 0; ; attempt += 1) {
          if (attempt > RETRIES_MAX) throw new Error('writer starved');
          const expected = id % 4 === 0 ? 'any' : (known.get(stream) ?? 'no_stream');
          try {
            const result = await store.append(stream, events, expected);
            known.set(stream, result.nextExpectedRevision);
            break;
          } catch (error) {
            if (!(error instanceof ConcurrencyError)) throw error;
            conflicts += 1;
            known.set(stream, error.actual);
          }
        }
        for (const event of events) written.add(event.eventId!);
      }
    }

    await Promise.all(Array.from({ length: WRITERS }, (_, id) => writer(id)));
    const totalWritten = (await Promise.all(streams.map((stream) => store.readStream(stream)))).flat();
    expect(new Set(totalWritten.map((event) => event.eventId))).toEqual(written);
    const delivered: RecordedEvent[] = await delivering;
    await subscription.close();

    expect(new Set(delivered.map((event) => event.eventId)).size).toBe(delivered.length);
    expect(new Set(delivered.map((event) => event.eventId))).toEqual(
      new Set(totalWritten.map((event) => event.eventId)),
    );
    for (let i = 1; i < delivered.length; i += 1) {
      expect(comparePositions(delivered[i - 1]!.position, delivered[i]!.position)).toBeLessThan(0);
    }
    // Each stream's revisions are contiguous from 0: no append was half-written or lost.
    for (const stream of streams) {
      const revisions = delivered
        .filter((event) => event.streamName === stream)
        .map((event) => event.revision);
      expect(revisions).toEqual(revisions.map((_, i) => BigInt(i)));
    }
    // Every append that lost a race was retried and landed: each writer's events are all there.
    const perWriter = new Map<number, number>();
    for (const event of delivered) {
      const { writer } = event.data as { writer: number };
      perWriter.set(writer, (perWriter.get(writer) ?? 0) + 1);
    }
    expect([...perWriter.values()]).toEqual(Array.from({ length: WRITERS }, () => expectedPerWriter));
    expect(conflicts).toBeGreaterThan(0);
    for (const stream of streams) expect((await store.verifyStream(stream)).ok).toBe(true);
  });
});
