/**
 * The event store conformance suite: written once, run against every adapter. Each adapter's
 * test file calls `eventStoreConformance` with a factory; tamper hooks let the hash-chain
 * tests edit storage behind the store's back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConcurrencyError, LedgerlineError, ValidationError } from '../../src/domain/errors.js';
import { comparePositions } from '../../src/adapters/eventstore/position.js';
import { GENESIS_HASH } from '../../src/adapters/eventstore/hashChain.js';
import { APPEND_BYTES_MAX, EVENT_BYTES_MAX } from '../../src/adapters/eventstore/newEvents.js';
import type {
  EventStore,
  NewEvent,
  ReadAllOptions,
  RecordedEvent,
} from '../../src/adapters/eventstore/port.js';
import type { JsonValue } from '../../src/domain/canonicalJson.js';
import { newEvent, newEvents, testOrg } from '../support/events.js';
import { take } from '../support/subscriptions.js';
import { randomUUID } from 'node:crypto';

export interface Tamper {
  /** Replaces the stored data of one event, leaving its hashes as they were. */
  editData(stream: string, revision: bigint, data: JsonValue): Promise<void>;
  /** Removes one stored event. */
  deleteEvent(stream: string, revision: bigint): Promise<void>;
  /** Swaps the stream revisions of two stored events (a reordering). */
  swapEvents(stream: string, a: bigint, b: bigint): Promise<void>;
}

export interface ConformanceFixture {
  readonly store: EventStore;
  readonly tamper?: Tamper;
  /**
   * False for an adapter that keeps no record of a stream's last revision and hash apart from
   * the events themselves (EventStoreDB), so removing the newest event cannot be detected by
   * `verifyStream`. Default true.
   */
  readonly recordsStreamHead?: boolean;
  dispose(): Promise<void>;
}

async function expectRejects<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}`);
}

/** Visibility in the global order may trail a commit (PostgreSQL waits for older open transactions). */
const VISIBLE_WAIT_MS = 15_000;
const VISIBLE_POLL_MS = 20;

/** readAll, polled until it shows at least `expected` events (a no-op wait when 0). */
async function readAllEventually(
  store: EventStore,
  options: ReadAllOptions,
  expected: number,
): Promise<RecordedEvent[]> {
  const deadline = Date.now() + VISIBLE_WAIT_MS;
  for (;;) {
    const page = await store.readAll(options);
    if (page.events.length >= expected || Date.now() > deadline) return [...page.events];
    await new Promise((resolve) => setTimeout(resolve, VISIBLE_POLL_MS));
  }
}

async function readWholeOrg(store: EventStore, org: string, expected = 0): Promise<RecordedEvent[]> {
  return readAllEventually(store, { filter: { streamPrefix: `${org}.` } }, expected);
}

export function eventStoreConformance(adapter: string, open: () => Promise<ConformanceFixture>): void {
  describe(`event store conformance: ${adapter}`, () => {
    let fixture: ConformanceFixture;
    let store: EventStore;

    beforeAll(async () => {
      fixture = await open();
      store = fixture.store;
    });

    afterAll(async () => {
      await fixture.dispose();
    });

    describe('revisions and conflicts', () => {
      it('numbers a new stream from revision 0 and answers the next expected revision', async () => {
        const stream = `${testOrg()}.account-a1`;
        const first = await store.append(stream, [newEvent()], 'no_stream');
        expect(first.nextExpectedRevision).toBe(0n);
        const second = await store.append(stream, newEvents(3), 0n);
        expect(second.nextExpectedRevision).toBe(3n);
        expect(comparePositions(second.position, first.position)).toBeGreaterThan(0);
        const events = await store.readStream(stream);
        expect(events.map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n]);
        expect(events.at(-1)?.position).toEqual(second.position);
      });

      it('stores the whole envelope of SPEC §2', async () => {
        const org = testOrg();
        const stream = `${org}.payment-p1`;
        const eventId = randomUUID();
        const occurredAt = new Date('2026-01-02T03:04:05.678Z');
        await store.append(
          stream,
          [
            {
              eventId,
              type: 'PaymentInitiated',
              schemaVersion: 2,
              data: { amount: '10.50', currency: 'KES', nested: { list: [1, 'two', null, true] } },
              occurredAt,
              metadata: {
                actor: { kind: 'api_key', id: 'key_1', role: 'user' },
                channel: { kind: 'mcp', clientName: 'claude', clientVersion: '1.2.3' },
                correlationId: 'cor_1',
                causationId: 'cau_1',
                requestId: 'req_1',
                idempotencyKey: 'idem_1',
              },
            },
          ],
          'any',
        );
        const [event] = await store.readStream(stream);
        expect(event).toMatchObject({
          eventId,
          type: 'PaymentInitiated',
          schemaVersion: 2,
          data: { amount: '10.50', currency: 'KES', nested: { list: [1, 'two', null, true] } },
          streamName: stream,
          orgId: org,
          revision: 0n,
          actor: { kind: 'api_key', id: 'key_1', role: 'user' },
          channel: { kind: 'mcp', clientName: 'claude', clientVersion: '1.2.3' },
          correlationId: 'cor_1',
          causationId: 'cau_1',
          requestId: 'req_1',
          idempotencyKey: 'idem_1',
          prevHash: GENESIS_HASH,
        });
        expect(event?.occurredAt.toISOString()).toBe(occurredAt.toISOString());
        expect(event?.hash).toMatch(/^[0-9a-f]{64}$/);
        expect(typeof event?.position.commit).toBe('bigint');
        expect(typeof event?.position.prepare).toBe('bigint');
      });

      it('defaults correlation and causation to the first event of the append', async () => {
        const stream = `${testOrg()}.thing-t1`;
        const id = randomUUID();
        await store.append(stream, [newEvent('A', {}, id), newEvent('B', {})], 'no_stream');
        const events = await store.readStream(stream);
        expect(events.map((event) => [event.correlationId, event.causationId])).toEqual([
          [id, id],
          [id, id],
        ]);
      });

      it('refuses no_stream on an existing stream, naming the actual revision', async () => {
        const stream = `${testOrg()}.account-a2`;
        await store.append(stream, newEvents(2), 'no_stream');
        const error = await expectRejects(store.append(stream, [newEvent()], 'no_stream'), ConcurrencyError);
        expect(error.code).toBe('CONCURRENCY_CONFLICT');
        expect(error.stream).toBe(stream);
        expect(error.expected).toBe('no_stream');
        expect(error.actual).toBe(1n);
        expect((await store.readStream(stream)).length).toBe(2);
      });

      it('refuses a stale exact revision and an exact revision on a missing stream', async () => {
        const stream = `${testOrg()}.account-a3`;
        await store.append(stream, newEvents(3), 'no_stream');
        const stale = await expectRejects(store.append(stream, [newEvent()], 0n), ConcurrencyError);
        expect([stale.expected, stale.actual]).toEqual([0n, 2n]);
        const ahead = await expectRejects(store.append(stream, [newEvent()], 7n), ConcurrencyError);
        expect([ahead.expected, ahead.actual]).toEqual([7n, 2n]);
        const missing = await expectRejects(
          store.append(`${testOrg()}.account-none`, [newEvent()], 0n),
          ConcurrencyError,
        );
        expect(missing.actual).toBe('no_stream');
      });

      it('appends with any whatever the revision', async () => {
        const stream = `${testOrg()}.account-a4`;
        expect((await store.append(stream, [newEvent()], 'any')).nextExpectedRevision).toBe(0n);
        expect((await store.append(stream, newEvents(2), 'any')).nextExpectedRevision).toBe(2n);
      });

      it('lets exactly one of many racing writers win the same expected revision', async () => {
        const stream = `${testOrg()}.account-race`;
        await store.append(stream, [newEvent()], 'no_stream');
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, () => store.append(stream, [newEvent()], 0n)),
        );
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
        for (const result of results) {
          if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(ConcurrencyError);
        }
        expect((await store.readStream(stream)).length).toBe(2);
      });
    });

    describe('idempotent retry', () => {
      it('answers a retry with the same ids and expected revision as the first append did', async () => {
        const stream = `${testOrg()}.payout-r1`;
        await store.append(stream, [newEvent()], 'no_stream');
        const batch = newEvents(3).map((event) => ({ ...event, eventId: randomUUID() }));
        const first = await store.append(stream, batch, 0n);
        const retry = await store.append(stream, batch, 0n);
        expect(retry).toEqual(first);
        expect((await store.readStream(stream)).length).toBe(4);
      });

      it('treats a retry of a first append with no_stream and of any as idempotent', async () => {
        const stream = `${testOrg()}.payout-r2`;
        const batch = [newEvent('A', {}, randomUUID()), newEvent('B', {}, randomUUID())];
        const first = await store.append(stream, batch, 'no_stream');
        expect(await store.append(stream, batch, 'no_stream')).toEqual(first);
        const other = `${testOrg()}.payout-r3`;
        const once = [newEvent('A', {}, randomUUID())];
        const anyFirst = await store.append(other, once, 'any');
        expect(await store.append(other, once, 'any')).toEqual(anyFirst);
        expect((await store.readStream(stream)).length).toBe(2);
        expect((await store.readStream(other)).length).toBe(1);
      });

      it('refuses the same ids with a different expected revision as a conflict', async () => {
        const stream = `${testOrg()}.payout-r4`;
        const batch = [newEvent('A', {}, randomUUID())];
        await store.append(stream, batch, 'no_stream');
        await store.append(stream, [newEvent()], 0n);
        await expectRejects(store.append(stream, batch, 1n), LedgerlineError);
        expect((await store.readStream(stream)).length).toBe(2);
      });
    });

    describe('reused event ids', () => {
      it('refuses an event id stored in another stream, anywhere in the append, writing nothing', async () => {
        const id = randomUUID();
        await store.append(`${testOrg()}.thing-owner`, [newEvent('A', {}, id)], 'no_stream');
        const target = `${testOrg()}.thing-thief`;
        const first = await expectRejects(
          store.append(target, [newEvent('B', {}, id)], 'any'),
          LedgerlineError,
        );
        expect(first.code).toBe('DUPLICATE_EVENT_ID');
        const later = await expectRejects(
          store.append(target, [newEvent('B', {}, randomUUID()), newEvent('C', {}, id)], 'any'),
          LedgerlineError,
        );
        expect(later.code).toBe('DUPLICATE_EVENT_ID');
        expect(await store.readStream(target)).toEqual([]);
      });

      it('keeps other appends of the same moment unharmed when one reuses an id', async () => {
        const id = randomUUID();
        const org = testOrg();
        await store.append(`${org}.thing-owner`, [newEvent('A', {}, id)], 'no_stream');
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) =>
            store.append(`${org}.thing-${i}`, [newEvent('B', {}, i === 5 ? id : randomUUID())], 'no_stream'),
          ),
        );
        expect(results.map((result) => result.status)).toEqual(
          Array.from({ length: 10 }, (_, i) => (i === 5 ? 'rejected' : 'fulfilled')),
        );
      });
    });

    describe('reading a stream', () => {
      it('pages forwards and backwards from a revision', async () => {
        const stream = `${testOrg()}.ledger-main`;
        await store.append(stream, newEvents(10), 'no_stream');
        const forwards = await store.readStream(stream, { from: 3n, maxCount: 4 });
        expect(forwards.map((event) => event.revision)).toEqual([3n, 4n, 5n, 6n]);
        const backwards = await store.readStream(stream, { direction: 'backwards', maxCount: 3 });
        expect(backwards.map((event) => event.revision)).toEqual([9n, 8n, 7n]);
        const backFrom = await store.readStream(stream, { direction: 'backwards', from: 2n, maxCount: 10 });
        expect(backFrom.map((event) => event.revision)).toEqual([2n, 1n, 0n]);
        const past = await store.readStream(stream, { from: 10n });
        expect(past).toEqual([]);
      });

      it('reads a missing stream as empty', async () => {
        expect(await store.readStream(`${testOrg()}.ledger-missing`)).toEqual([]);
        expect(await store.readStream(`${testOrg()}.ledger-missing`, { direction: 'backwards' })).toEqual([]);
      });

      it('bounds the page size', async () => {
        const stream = `${testOrg()}.ledger-bounds`;
        await expectRejects(store.readStream(stream, { maxCount: 0 }), ValidationError);
        await expectRejects(store.readStream(stream, { maxCount: 1_000_000 }), ValidationError);
      });
    });

    describe('reading all', () => {
      it('reads in global order, exclusive of the start position, page after page', async () => {
        const org = testOrg();
        for (let i = 0; i < 5; i += 1)
          await store.append(`${org}.thing-${i % 2}`, [newEvent('Step', { i })], 'any');
        const all = await readWholeOrg(store, org, 5);
        expect(all.map((event) => event.data)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
        for (let i = 1; i < all.length; i += 1) {
          expect(comparePositions(all[i - 1]!.position, all[i]!.position)).toBeLessThan(0);
        }
        const pages: RecordedEvent[] = [];
        let page = await store.readAll({ filter: { streamPrefix: `${org}.` }, maxCount: 2 });
        for (let guard = 0; guard < 10; guard += 1) {
          pages.push(...page.events);
          if (page.events.length === 0) break;
          page = await store.readAll({ from: page.next, filter: { streamPrefix: `${org}.` }, maxCount: 2 });
        }
        expect(pages.map((event) => event.eventId)).toEqual(all.map((event) => event.eventId));
        const after = await store.readAll({ from: all[1]!.position, filter: { streamPrefix: `${org}.` } });
        expect(after.events.map((event) => event.data)).toEqual([{ i: 2 }, { i: 3 }, { i: 4 }]);
      });

      it('filters by stream-name prefix: one organization never sees another', async () => {
        const mine = testOrg();
        const theirs = testOrg();
        await store.append(`${mine}.thing-1`, [newEvent('Mine')], 'any');
        await store.append(`${theirs}.thing-1`, [newEvent('Theirs')], 'any');
        await store.append(`${mine}.other-2`, [newEvent('Mine')], 'any');
        const read = await readWholeOrg(store, mine, 2);
        expect(read.map((event) => event.type)).toEqual(['Mine', 'Mine']);
        expect(read.every((event) => event.orgId === mine)).toBe(true);
        const category = await readAllEventually(store, { filter: { streamPrefix: `${mine}.other-` } }, 1);
        expect(category.map((event) => event.streamName)).toEqual([`${mine}.other-2`]);
      });

      it('filters by event type', async () => {
        const org = testOrg();
        await store.append(
          `${org}.thing-1`,
          [newEvent('Kept'), newEvent('Dropped'), newEvent('AlsoKept')],
          'any',
        );
        const page = await store.readAll({
          filter: { streamPrefix: `${org}.`, eventTypes: ['Kept', 'AlsoKept'] },
        });
        expect(page.events.map((event) => event.type)).toEqual(['Kept', 'AlsoKept']);
      });

      it('reads everything without a filter, in the same order as filtered reads', async () => {
        const org = testOrg();
        await store.append(`${org}.thing-1`, newEvents(3), 'any');
        const mine = await readWholeOrg(store, org, 3);
        const start = (await store.readAll({ maxCount: 1 })).events[0];
        expect(start).toBeDefined();
        const tail: RecordedEvent[] = [];
        let from = mine[0]!.position;
        // The org's first event, then read on unfiltered until the org's events are all seen.
        tail.push(mine[0]!);
        for (let guard = 0; guard < 100 && tail.length < 3; guard += 1) {
          const page = await store.readAll({ from, maxCount: 100 });
          tail.push(...page.events.filter((event) => event.orgId === org));
          from = page.next;
          if (page.isEnd) break;
        }
        expect(tail.map((event) => event.eventId)).toEqual(mine.map((event) => event.eventId));
      });
    });

    describe('subscribing', () => {
      it('catches up from a position, then delivers live events as they commit', async () => {
        const org = testOrg();
        const stream = `${org}.thing-live`;
        await store.append(stream, newEvents(3, 'Old'), 'no_stream');
        const history = await readWholeOrg(store, org, 3);
        const subscription = store.subscribe({
          from: history[0]!.position,
          filter: { streamPrefix: `${org}.` },
        });
        try {
          const caughtUp = await take(subscription, 2);
          expect(caughtUp.map((event) => event.revision)).toEqual([1n, 2n]);
          const live = take(subscription, 3);
          await store.append(stream, newEvents(2, 'New'), 2n);
          await store.append(`${org}.thing-other`, [newEvent('New')], 'no_stream');
          const delivered = await live;
          expect(delivered.map((event) => event.type)).toEqual(['New', 'New', 'New']);
          expect(delivered.map((event) => event.streamName)).toEqual([stream, stream, `${org}.thing-other`]);
        } finally {
          await subscription.close();
        }
      });

      it('filters a subscription by event type and ends when closed', async () => {
        const org = testOrg();
        const subscription = store.subscribe({ filter: { streamPrefix: `${org}.`, eventTypes: ['Wanted'] } });
        const wanted = take(subscription, 2);
        await store.append(`${org}.thing-1`, [newEvent('Unwanted'), newEvent('Wanted', { k: 1 })], 'any');
        await store.append(`${org}.thing-2`, [newEvent('Wanted', { k: 2 })], 'any');
        expect((await wanted).map((event) => event.data)).toEqual([{ k: 1 }, { k: 2 }]);
        await subscription.close();
        const after = await subscription[Symbol.asyncIterator]().next();
        expect(after.done).toBe(true);
      });
    });

    describe('hash chain', () => {
      it('chains every event to the one before and verifies', async () => {
        const stream = `${testOrg()}.ledger-chain`;
        await store.append(stream, newEvents(3), 'no_stream');
        await store.append(stream, newEvents(2), 2n);
        const events = await store.readStream(stream);
        expect(events[0]!.prevHash).toBe(GENESIS_HASH);
        for (let i = 1; i < events.length; i += 1) expect(events[i]!.prevHash).toBe(events[i - 1]!.hash);
        expect(await store.verifyStream(stream)).toEqual({ ok: true, stream, eventsChecked: 5 });
      });

      it('verifies a missing stream as empty and intact', async () => {
        const stream = `${testOrg()}.ledger-none`;
        expect(await store.verifyStream(stream)).toEqual({ ok: true, stream, eventsChecked: 0 });
      });

      const tamperIt = (name: string, body: (tamper: Tamper) => Promise<void>): void => {
        it(name, async (context) => {
          if (!fixture.tamper) {
            context.skip();
            return;
          }
          await body(fixture.tamper);
        });
      };

      tamperIt('detects an edited event and names its revision', async (tamper) => {
        const stream = `${testOrg()}.ledger-edit`;
        await store.append(stream, newEvents(5), 'no_stream');
        await tamper.editData(stream, 2n, { n: 999 });
        const result = await store.verifyStream(stream);
        expect(result.ok).toBe(false);
        if (!result.ok)
          expect(result.brokenLink).toMatchObject({ stream, revision: 2n, reason: 'content_changed' });
      });

      tamperIt('detects a deleted event in the middle and at the end', async (tamper) => {
        const stream = `${testOrg()}.ledger-delete`;
        await store.append(stream, newEvents(5), 'no_stream');
        await tamper.deleteEvent(stream, 1n);
        const middle = await store.verifyStream(stream);
        expect(middle.ok).toBe(false);
        if (!middle.ok) expect(middle.brokenLink).toMatchObject({ revision: 1n, reason: 'revision_gap' });
        // Only a recorded stream head reveals a removed newest event. EventStoreDB keeps none,
        // and cannot delete a single event anyway (only truncate a stream or scavenge), which
        // verifyStream cannot see without such a head: that adapter skips this half.
        if (fixture.recordsStreamHead === false) return;
        const other = `${testOrg()}.ledger-delete`;
        await store.append(other, newEvents(3), 'no_stream');
        await tamper.deleteEvent(other, 2n);
        const end = await store.verifyStream(other);
        expect(end.ok).toBe(false);
        if (!end.ok) expect(end.brokenLink).toMatchObject({ revision: 2n, reason: 'head_mismatch' });
      });

      tamperIt('detects two events swapped', async (tamper) => {
        const stream = `${testOrg()}.ledger-swap`;
        await store.append(stream, newEvents(4), 'no_stream');
        await tamper.swapEvents(stream, 1n, 2n);
        const result = await store.verifyStream(stream);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.brokenLink.revision).toBe(1n);
      });
    });

    describe('bad input: a clear error and nothing written', () => {
      const refusals: [string, (stream: string) => [unknown, unknown, unknown], string][] = [
        ['an empty event list', (stream) => [stream, [], 'any'], 'events'],
        ['an invalid stream name', () => ['not a stream', [newEvent()], 'any'], 'stream'],
        ['a stream of no organization', () => ['acme.thing-1', [newEvent()], 'any'], 'stream'],
        ['a negative expected revision', (stream) => [stream, [newEvent()], -1n], 'expectedRevision'],
        ['a number as expected revision', (stream) => [stream, [newEvent()], 1], 'expectedRevision'],
        [
          'NaN in data',
          (stream) => [stream, [newEvent('X', { amount: Number.NaN })], 'any'],
          'events[0].data.amount',
        ],
        ['Infinity in data', (stream) => [stream, [newEvent('X', [Infinity])], 'any'], 'events[0].data[0]'],
        [
          'undefined data',
          (stream) => [stream, [{ ...newEvent(), data: undefined }], 'any'],
          'events[0].data',
        ],
        [
          'a Date in data',
          (stream) => [stream, [newEvent('X', { at: new Date() } as never)], 'any'],
          'events[0].data.at',
        ],
        [
          'a bigint in data',
          (stream) => [stream, [newEvent('X', { n: 1n } as never)], 'any'],
          'events[0].data.n',
        ],
        [
          'a function in data',
          (stream) => [stream, [newEvent('X', { f: () => 1 } as never)], 'any'],
          'events[0].data.f',
        ],
        [
          'a NUL character in data',
          (stream) => [stream, [newEvent('X', { s: 'a\u0000b' })], 'any'],
          'events[0].data.s',
        ],
        [
          'a malformed event id',
          (stream) => [stream, [{ ...newEvent(), eventId: 'nope' }], 'any'],
          'events[0].eventId',
        ],
        ['an event type with spaces', (stream) => [stream, [newEvent('Bad Type')], 'any'], 'events[0].type'],
        ['a system event type', (stream) => [stream, [newEvent('$metadata')], 'any'], 'events[0].type'],
        [
          'a missing actor',
          (stream) => [stream, [{ type: 'X', data: {}, metadata: { channel: { kind: 'rest' } } }], 'any'],
          'events[0].metadata.actor',
        ],
        [
          'an unknown channel',
          (stream) => [
            stream,
            [{ ...newEvent(), metadata: { actor: { kind: 'system', id: 's' }, channel: { kind: 'fax' } } }],
            'any',
          ],
          'events[0].metadata.channel.kind',
        ],
        [
          'a schema version of 0',
          (stream) => [stream, [{ ...newEvent(), schemaVersion: 0 }], 'any'],
          'events[0].schemaVersion',
        ],
      ];

      for (const [name, build, field] of refusals) {
        it(`refuses ${name}, naming ${field}`, async () => {
          const org = testOrg();
          const stream = `${org}.thing-bad`;
          const [target, events, expected] = build(stream);
          const error = await expectRejects(
            store.append(target as string, events as NewEvent[], expected as 'any'),
            ValidationError,
          );
          expect(error.field).toBe(field);
          expect(error.message).toContain(field);
          expect(await store.readStream(stream)).toEqual([]);
          expect(await readWholeOrg(store, org)).toEqual([]);
        });
      }

      it('refuses a cycle in data', async () => {
        const stream = `${testOrg()}.thing-cycle`;
        const data: Record<string, unknown> = {};
        data['self'] = data;
        await expectRejects(store.append(stream, [newEvent('X', data as never)], 'any'), ValidationError);
        expect(await store.readStream(stream)).toEqual([]);
      });

      it('refuses an oversized event and an oversized append', async () => {
        const stream = `${testOrg()}.thing-big`;
        const huge = await expectRejects(
          store.append(stream, [newEvent('X', { blob: 'x'.repeat(EVENT_BYTES_MAX + 1) })], 'any'),
          LedgerlineError,
        );
        expect(huge.code).toBe('APPEND_TOO_LARGE');
        // Each event fits on its own; together they pass the append's bound.
        const each = Math.floor(EVENT_BYTES_MAX / 2);
        const many = Array.from({ length: Math.ceil(APPEND_BYTES_MAX / each) + 1 }, () =>
          newEvent('X', { blob: 'x'.repeat(each) }),
        );
        const tooMany = await expectRejects(store.append(stream, many, 'any'), LedgerlineError);
        expect(tooMany.code).toBe('APPEND_TOO_LARGE');
        expect(await store.readStream(stream)).toEqual([]);
      });

      it('refuses the same event id twice in one append', async () => {
        const stream = `${testOrg()}.thing-dup`;
        const id = randomUUID();
        const error = await expectRejects(
          store.append(stream, [newEvent('A', {}, id), newEvent('B', {}, id)], 'any'),
          ValidationError,
        );
        expect(error.field).toBe('events[1].eventId');
        expect(await store.readStream(stream)).toEqual([]);
      });
    });

    describe('properties', () => {
      it('reads back exactly what any JSON data was appended as, and the chain verifies', async () => {
        const json = fc
          .jsonValue({ maxDepth: 4 })
          .filter((value) => !JSON.stringify(value).includes('\\u0000'));
        await fc.assert(
          fc.asyncProperty(fc.array(json, { minLength: 1, maxLength: 5 }), async (datas) => {
            const stream = `${testOrg()}.prop-1`;
            const normalized = datas.map((data) => JSON.parse(JSON.stringify(data)) as JsonValue);
            await store.append(
              stream,
              normalized.map((data) => newEvent('Prop', data)),
              'no_stream',
            );
            const read = await store.readStream(stream);
            expect(read.map((event) => event.data)).toEqual(normalized);
            expect((await store.verifyStream(stream)).ok).toBe(true);
          }),
          { numRuns: 60 },
        );
      });
    });
  });
}
