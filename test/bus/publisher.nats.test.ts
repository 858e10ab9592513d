/**
 * The publisher against a real NATS server of this test's own, which the test kills and starts
 * again while events are being appended: every event committed reaches the JetStream stream
 * exactly once and in global order, appends never wait for NATS, the checkpoint in PostgreSQL
 * only moves past what JetStream acknowledged, and the outage and the recovery are logged
 * once each, with no credential in them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusEvent } from '../../src/adapters/bus/busEvent.js';
import { NatsBus } from '../../src/adapters/bus/natsBus.js';
import { EventPublisher } from '../../src/adapters/bus/publisher.js';
import { formatPosition } from '../../src/adapters/eventstore/position.js';
import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import type { RecordedEvent } from '../../src/adapters/eventstore/port.js';
import { Projector } from '../../src/projections/projector.js';
import { PROJECTIONS } from '../../src/projections/registry.js';
import { freshPostgres, type TestDatabase } from '../support/databases.js';
import { newEvent, testOrg } from '../support/events.js';
import { readWholeStream, startPrivateNats, uniqueBusNames, type PrivateNats } from '../support/nats.js';
import { probePostgres, serviceGate } from '../support/services.js';
import { existsSync } from 'node:fs';
import { NATS_SERVER_BINARY } from '../support/nats.js';

const postgres = await probePostgres();
const run =
  serviceGate('event publisher on PostgreSQL', postgres) &&
  serviceGate('event publisher with a private nats-server', {
    available: existsSync(NATS_SERVER_BINARY),
    reason: `no nats-server binary at ${NATS_SERVER_BINARY}`,
  });

const WAIT_MAX_MS = 60_000;
const POLL_MS = 25;
const APPENDS = 60;

async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MAX_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

describe.skipIf(!run)('publishing committed events to NATS JetStream through an outage', () => {
  let database: TestDatabase;
  let nats: PrivateNats;

  beforeAll(async () => {
    database = await freshPostgres('publisher');
    nats = await startPrivateNats();
  });

  afterAll(async () => {
    await nats.dispose();
    await database.dispose();
  });

  it('publishes every event exactly once, in global order, though NATS dies and comes back mid-stream', async () => {
    const store = new SqlEventStore(database.db);
    const projector = new Projector(database.db, store, PROJECTIONS);
    const names = uniqueBusNames('outage');
    const lines: string[] = [];
    const log = {
      info: (object: object, message: string) => lines.push(`info ${message} ${JSON.stringify(object)}`),
      warn: (object: object, message: string) => lines.push(`warn ${message} ${JSON.stringify(object)}`),
    } as unknown as ConstructorParameters<typeof EventPublisher>[3]['log'];
    const bus = new NatsBus({ url: nats.url, streamName: names.stream, subjectPrefix: names.prefix });
    const checkpointName = `nats:${names.stream}`;
    const publisher = new EventPublisher(database.db, store, bus, {
      checkpointName,
      horizon: () => projector.position,
      log,
      batchMax: 7,
    });
    projector.start();
    publisher.start();
    const orgs = [testOrg(), testOrg()];
    try {
      for (let index = 0; index < APPENDS; index += 1) {
        const org = orgs[index % 2] ?? '';
        // Appends never touch NATS: they go on whatever its state.
        await store.append(
          `${org}.thing-${index % 5}`,
          [newEvent('ThingHappened', { index }), newEvent('ThingNoted', { index })],
          'any',
        );
        if (index === 15) {
          await until(() => publisher.publishedCount > 0, 'the first publish');
          await nats.stop();
        }
        if (index === 40) {
          await until(() => lines.some((line) => line.includes('paused')), 'the outage to be noticed');
          expect(publisher.status().bus).toBe('unreachable');
          await nats.start();
        }
      }
      const head = await store.headPosition();
      if (!head) throw new Error('no events');
      await until(async () => {
        const { rows } = await database.db.query<{ commit_position: string; prepare_position: string }>(
          'SELECT commit_position::text, prepare_position::text FROM ll_publisher_checkpoints WHERE name = $1',
          [checkpointName],
        );
        const row = rows[0];
        return row !== undefined && `${row.commit_position}-${row.prepare_position}` === formatPosition(head);
      }, 'the checkpoint to reach the head');

      const committed: RecordedEvent[] = [];
      for (let from = undefined as RecordedEvent['position'] | undefined; ;) {
        const page = await store.readAll({ ...(from ? { from } : {}), maxCount: 1000 });
        committed.push(...page.events);
        from = page.next;
        if (page.isEnd) break;
      }
      const stored = await readWholeStream<BusEvent>(nats.url, names.stream, 10_000);
      expect(stored.map((event) => event.eventId)).toEqual(committed.map((event) => event.eventId));
      expect(stored.map((event) => event.position)).toEqual(
        committed.map((event) => formatPosition(event.position)),
      );
      expect(publisher.status()).toMatchObject({ bus: 'ok', publishedThrough: formatPosition(head) });

      expect(lines.some((line) => line.startsWith('warn event publishing paused'))).toBe(true);
      expect(lines.some((line) => line.startsWith('info event publishing resumed'))).toBe(true);
      // One line when it went down and one when it came back, not one per retry.
      expect(lines.filter((line) => line.includes('paused')).length).toBe(1);
      expect(lines.filter((line) => line.includes('resumed')).length).toBe(1);
    } finally {
      await publisher.stop();
      await projector.stop();
      await bus.close();
    }
  });

  it('resumes after a restart without publishing again what JetStream already holds', async () => {
    const store = new SqlEventStore(database.db);
    const projector = new Projector(database.db, store, PROJECTIONS);
    const names = uniqueBusNames('restart');
    const log = { info: () => undefined, warn: () => undefined } as unknown as ConstructorParameters<
      typeof EventPublisher
    >[3]['log'];
    const checkpointName = `nats:${names.stream}`;
    const org = testOrg();
    projector.start();
    try {
      await projector.catchUp();
      const first = new NatsBus({ url: nats.url, streamName: names.stream, subjectPrefix: names.prefix });
      const publisher = new EventPublisher(database.db, store, first, {
        checkpointName,
        horizon: () => projector.position,
        log,
      });
      publisher.start();
      await until(() => publisher.status().publishedThrough !== null, 'the publisher to load');
      for (let index = 0; index < 10; index += 1) {
        await store.append(`${org}.thing-x`, [newEvent('ThingHappened', { index })], 'any');
      }
      await until(() => publisher.publishedCount === 10, 'ten events');
      await publisher.stop();
      await first.close();
      // A crash after JetStream acknowledged the last batch but before the checkpoint moved.
      const { rows } = await database.db.query<{ commit_position: string; prepare_position: string }>(
        'SELECT commit_position::text, prepare_position::text FROM ll_publisher_checkpoints WHERE name = $1',
        [checkpointName],
      );
      expect(rows).toHaveLength(1);
      const events = (await store.readStream(`${org}.thing-x`)).slice();
      const rewound = events[4]?.position;
      if (!rewound) throw new Error('no fifth event');
      await database.db.query(
        'UPDATE ll_publisher_checkpoints SET commit_position = $2, prepare_position = $3 WHERE name = $1',
        [checkpointName, rewound.commit.toString(), rewound.prepare.toString()],
      );
      for (let index = 10; index < 15; index += 1) {
        await store.append(`${org}.thing-x`, [newEvent('ThingHappened', { index })], 'any');
      }
      const second = new NatsBus({ url: nats.url, streamName: names.stream, subjectPrefix: names.prefix });
      const again = new EventPublisher(database.db, store, second, {
        checkpointName,
        horizon: () => projector.position,
        log,
      });
      again.start();
      await until(() => again.publishedCount === 5, 'the five new events');
      await again.stop();
      await second.close();
      const stored = await readWholeStream<BusEvent>(nats.url, names.stream, 100);
      const all = await store.readStream(`${org}.thing-x`);
      expect(stored.map((event) => event.eventId)).toEqual(all.map((event) => event.eventId));
    } finally {
      await projector.stop();
    }
  });
});
