// The emulator, driven only through @eventstore/db-client v6: what a test of the EventStoreDB
// adapter may rely on. Every wait is event-driven with a generous timeout; no assertion depends
// on timing.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  MaxAppendSizeExceededError,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  binaryEvent,
  eventTypeFilter,
  excludeSystemEvents,
  jsonEvent,
  streamNameFilter,
} from '@eventstore/db-client';
import type {
  AllStreamResolvedEvent,
  AppendExpectedRevision,
  Filter,
  JSONEventData,
  Position,
  ReadPosition,
  ReadRevision,
  ResolvedEvent,
} from '@eventstore/db-client';
import { credentials } from '@grpc/grpc-js';
import streamsGrpcPb from '@eventstore/db-client/generated/streams_grpc_pb.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import { startEsdbEmulator } from './emulator.js';
import type { EsdbEmulator, EsdbEmulatorOptions } from './emulator.js';
import { ReadReq } from './proto.js';
import type { ReadRespT } from './proto.js';

/** Generous: waits end as soon as the awaited thing happens; this only bounds a broken run. */
const WAIT_MS_MAX = 5_000;
/** Events any one read in these tests may return before the test calls it runaway. */
const READ_EVENTS_MAX = 1_000;
/** Attempts for a call made right after a dropped connection, while the client rebuilds its channel. */
const RECONNECT_ATTEMPTS_MAX = 5;

let emulator: EsdbEmulator;
let client: EventStoreDBClient;

async function startWith(options: EsdbEmulatorOptions = {}): Promise<void> {
  emulator = await startEsdbEmulator(options);
  client = EventStoreDBClient.connectionString(emulator.connectionString);
}

beforeEach(async () => {
  await startWith();
});

afterEach(async () => {
  await client.dispose();
  await emulator.stop();
});

function uniqueStream(category: string): string {
  return `${category}-${randomUUID()}`;
}

function events(type: string, count: number): JSONEventData[] {
  return Array.from({ length: count }, (_, i): JSONEventData => jsonEvent({ type, data: { n: i } }));
}

async function withTimeout<T>(promise: Promise<T>, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${WAIT_MS_MAX} ms waiting for ${label}`));
    }, WAIT_MS_MAX);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function collect<E>(read: AsyncIterable<E>): Promise<E[]> {
  const all: E[] = [];
  for await (const item of read) {
    all.push(item);
    if (all.length > READ_EVENTS_MAX) throw new Error(`read returned more than ${READ_EVENTS_MAX} events`);
  }
  return all;
}

async function readStreamEvents(
  stream: string,
  options: {
    fromRevision?: ReadRevision;
    direction?: typeof FORWARDS | typeof BACKWARDS;
    maxCount?: number;
  } = {},
): Promise<ResolvedEvent[]> {
  return withTimeout(collect(client.readStream(stream, options)), `readStream ${stream}`);
}

async function readAllEvents(
  options: {
    fromPosition?: ReadPosition;
    direction?: typeof FORWARDS | typeof BACKWARDS;
    maxCount?: number;
  } = {},
): Promise<AllStreamResolvedEvent[]> {
  return withTimeout(collect(client.readAll(options)), 'readAll');
}

function idsOf(resolved: readonly (ResolvedEvent | AllStreamResolvedEvent)[]): string[] {
  return resolved.map((r) => r.event?.id ?? 'missing');
}

/** Retries a call that failed because the connection was just dropped, a bounded number of times. */
async function afterReconnect<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error: unknown) {
      if (!(error instanceof UnavailableError) || attempt >= RECONNECT_ATTEMPTS_MAX) throw error;
    }
  }
}

/** Records what a subscription delivers and lets a test wait for a condition on it. */
class SubscriptionProbe<E extends ResolvedEvent | AllStreamResolvedEvent> {
  readonly events: E[] = [];
  readonly checkpoints: Position[] = [];
  caughtUpCount = 0;
  error: Error | undefined;
  private readonly wakers = new Set<() => void>();

  /** Pass as `checkpointReached` of a filter (the client surfaces checkpoints only that way). */
  readonly onCheckpoint = (_subscription: unknown, position: Position): void => {
    this.checkpoints.push(position);
    this.wake();
  };

  attach(subscription: {
    on(event: 'data', listener: (event: E) => void): unknown;
    on(event: 'caughtUp', listener: () => void): unknown;
    on(event: 'error', listener: (error: Error) => void): unknown;
  }): this {
    subscription.on('data', (event: E) => {
      this.events.push(event);
      this.wake();
    });
    subscription.on('caughtUp', () => {
      this.caughtUpCount++;
      this.wake();
    });
    subscription.on('error', (error: Error) => {
      this.error = error;
      this.wake();
    });
    return this;
  }

  async until(label: string, condition: () => boolean): Promise<void> {
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!condition()) return;
          this.wakers.delete(check);
          resolve();
        };
        this.wakers.add(check);
        check();
      }),
      label,
    );
  }

  private wake(): void {
    for (const waker of [...this.wakers]) waker();
  }
}

function subscribeAll(
  options: { fromPosition?: ReadPosition; filter?: Filter } = {},
): SubscriptionProbe<AllStreamResolvedEvent> {
  return new SubscriptionProbe<AllStreamResolvedEvent>().attach(client.subscribeToAll(options));
}

describe('appendToStream', () => {
  it('numbers revisions from 0 and returns the next expected revision and an increasing position', async () => {
    const stream = uniqueStream('order');
    const first = await client.appendToStream(stream, events('Placed', 2), { expectedRevision: NO_STREAM });
    const second = await client.appendToStream(stream, events('Paid', 1), {
      expectedRevision: first.nextExpectedRevision,
    });

    expect(first.nextExpectedRevision).toBe(1n);
    expect(second.nextExpectedRevision).toBe(2n);
    expect(first.position).toBeDefined();
    expect(second.position!.commit).toBeGreaterThan(first.position!.commit);
    expect(second.position!.prepare).toBe(second.position!.commit);
    const read = await readStreamEvents(stream);
    expect(read.map((r) => r.event?.revision)).toEqual([0n, 1n, 2n]);
  });

  it('reads back type, JSON data, metadata, binary data and created as the client converts them', async () => {
    const createdAt = new Date('2024-05-06T07:08:09.123Z');
    await client.dispose();
    await emulator.stop();
    await startWith({ now: () => createdAt });
    const stream = uniqueStream('doc');
    const json = jsonEvent({
      type: 'Noted',
      data: { text: 'héllo' },
      metadata: { $correlationId: 'c-1', $causationId: 'c-0' },
    });
    const binary = binaryEvent({ type: 'Blob', data: new Uint8Array([0, 1, 255]) });

    await client.appendToStream(stream, [json, binary]);

    const [readJson, readBinary] = (await readStreamEvents(stream)).map((r) => r.event);
    expect(readJson).toMatchObject({
      streamId: stream,
      id: json.id,
      type: 'Noted',
      isJson: true,
      data: { text: 'héllo' },
      metadata: { $correlationId: 'c-1', $causationId: 'c-0' },
      created: createdAt,
    });
    expect(readBinary?.isJson).toBe(false);
    expect(readBinary?.data).toEqual(new Uint8Array([0, 1, 255]));
  });

  it.each<{ name: string; setup: number; expected: AppendExpectedRevision; current: bigint | 'no_stream' }>([
    { name: 'an exact revision behind the stream', setup: 3, expected: 1n, current: 2n },
    { name: 'an exact revision ahead of the stream', setup: 1, expected: 5n, current: 0n },
    { name: 'an exact revision on a missing stream', setup: 0, expected: 0n, current: 'no_stream' },
    { name: 'NO_STREAM on an existing stream', setup: 2, expected: NO_STREAM, current: 1n },
    { name: 'STREAM_EXISTS on a missing stream', setup: 0, expected: STREAM_EXISTS, current: 'no_stream' },
  ])(
    'refuses $name with WrongExpectedVersionError carrying expected and actual',
    async ({ setup, expected, current }) => {
      const stream = uniqueStream('acct');
      if (setup > 0) await client.appendToStream(stream, events('Opened', setup));

      const attempt = client.appendToStream(stream, events('Changed', 1), { expectedRevision: expected });

      await expect(attempt).rejects.toBeInstanceOf(WrongExpectedVersionError);
      await expect(attempt).rejects.toMatchObject({
        streamName: stream,
        expectedVersion: expected,
        actualVersion: current,
      });
      expect(emulator.currentRevision(stream)).toBe(setup === 0 ? 'no_stream' : BigInt(setup - 1));
    },
  );

  it('accepts ANY and STREAM_EXISTS on an existing stream', async () => {
    const stream = uniqueStream('acct');
    await client.appendToStream(stream, events('Opened', 1), { expectedRevision: ANY });
    const result = await client.appendToStream(stream, events('Changed', 1), {
      expectedRevision: STREAM_EXISTS,
    });
    expect(result.nextExpectedRevision).toBe(1n);
  });

  it('answers a repeated append (same ids, same expected revision) with the original result and writes once', async () => {
    const stream = uniqueStream('pay');
    await client.appendToStream(stream, events('Started', 1));
    const batch = events('Captured', 2);

    const original = await client.appendToStream(stream, batch, { expectedRevision: 0n });
    const repeated = await client.appendToStream(stream, batch, { expectedRevision: 0n });
    const next = await client.appendToStream(stream, events('Other', 1), { expectedRevision: 2n });

    expect(repeated).toEqual(original);
    expect(next.nextExpectedRevision).toBe(3n);
    expect(idsOf(await readStreamEvents(stream)).filter((id) => batch.some((e) => e.id === id))).toHaveLength(
      2,
    );
  });

  it('dedupes an ANY retry of the same ids, and refuses ids that only partly match', async () => {
    const stream = uniqueStream('pay');
    const batch = events('Captured', 2);
    const original = await client.appendToStream(stream, batch, { expectedRevision: ANY });
    const retried = await client.appendToStream(stream, batch, { expectedRevision: ANY });
    expect(retried).toEqual(original);

    const partial = [batch[0]!, jsonEvent({ type: 'Captured', data: {} })];
    await expect(client.appendToStream(stream, partial, { expectedRevision: 0n })).rejects.toBeInstanceOf(
      WrongExpectedVersionError,
    );
    expect(await readStreamEvents(stream)).toHaveLength(2);
  });

  it('refuses an append over the maximum append size with MaxAppendSizeExceededError and stores nothing', async () => {
    const stream = uniqueStream('big');
    // 600,000 characters of data twice: over the default 1,048,576-byte limit only together.
    const half = 'x'.repeat(600_000);
    const attempt = client.appendToStream(stream, [
      jsonEvent({ type: 'Chunk', data: { half } }),
      jsonEvent({ type: 'Chunk', data: { half } }),
    ]);

    await expect(attempt).rejects.toBeInstanceOf(MaxAppendSizeExceededError);
    await expect(attempt).rejects.toMatchObject({ maxAppendSize: 1_048_576 });
    expect(emulator.currentRevision(stream)).toBe('no_stream');
    const single = await client.appendToStream(stream, jsonEvent({ type: 'Chunk', data: { half } }));
    expect(single.nextExpectedRevision).toBe(0n);
  });

  it('counts data plus custom metadata bytes against a configured limit, inclusive', async () => {
    await client.dispose();
    await emulator.stop();
    await startWith({ maxAppendSizeBytes: 100 });
    const stream = uniqueStream('small');
    // JSON {"s":"..."} is 8 bytes plus the string; metadata {"m":1} is 7 bytes.
    const sized = (dataBytes: number) =>
      jsonEvent({ type: 'T', data: { s: 'y'.repeat(dataBytes - 8) }, metadata: { m: 1 } });

    await expect(client.appendToStream(stream, sized(93))).resolves.toMatchObject({
      nextExpectedRevision: 0n,
    });
    await expect(client.appendToStream(stream, sized(94))).rejects.toMatchObject({ maxAppendSize: 100 });
  });
});

describe('readStream', () => {
  it('throws StreamNotFoundError for a stream without events', async () => {
    const stream = uniqueStream('ghost');
    const attempt = readStreamEvents(stream);
    await expect(attempt).rejects.toBeInstanceOf(StreamNotFoundError);
    await expect(attempt).rejects.toMatchObject({ streamName: stream });
  });

  it('reads forwards and backwards, from START, END or a revision (inclusive), up to maxCount', async () => {
    const stream = uniqueStream('seq');
    await client.appendToStream(stream, events('E', 5));
    const revisions = (read: ResolvedEvent[]) => read.map((r) => r.event?.revision);

    expect(revisions(await readStreamEvents(stream))).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(revisions(await readStreamEvents(stream, { fromRevision: 2n, maxCount: 2 }))).toEqual([2n, 3n]);
    expect(revisions(await readStreamEvents(stream, { fromRevision: 9n }))).toEqual([]);
    expect(revisions(await readStreamEvents(stream, { direction: BACKWARDS, fromRevision: END }))).toEqual([
      4n,
      3n,
      2n,
      1n,
      0n,
    ]);
    expect(
      revisions(await readStreamEvents(stream, { direction: BACKWARDS, fromRevision: 3n, maxCount: 2 })),
    ).toEqual([3n, 2n]);
    expect(revisions(await readStreamEvents(stream, { direction: BACKWARDS, fromRevision: START }))).toEqual([
      0n,
    ]);
  });
});

describe('readAll', () => {
  it('returns every append in order with strictly increasing positions; a position is inclusive forwards', async () => {
    const a = uniqueStream('a');
    const b = uniqueStream('b');
    await client.appendToStream(a, events('A', 2));
    await client.appendToStream(b, events('B', 2));
    await client.appendToStream(a, events('A', 1));

    const all = await readAllEvents();
    expect(all.map((r) => r.event?.streamId)).toEqual([a, a, b, b, a]);
    const positions = all.map((r) => r.event!.position.commit);
    expect(positions.every((p, i) => i === 0 || p > positions[i - 1]!)).toBe(true);
    expect(all.every((r) => r.commitPosition === r.event?.position.commit)).toBe(true);

    const third = all[2]!.event!.position;
    expect(idsOf(await readAllEvents({ fromPosition: third, maxCount: 2 }))).toEqual(idsOf(all.slice(2, 4)));
    expect(idsOf(await readAllEvents({ direction: BACKWARDS, fromPosition: END, maxCount: 2 }))).toEqual(
      idsOf(all.slice(3).reverse()),
    );
    expect(idsOf(await readAllEvents({ direction: BACKWARDS, fromPosition: third }))).toEqual(
      idsOf(all.slice(0, 2).reverse()),
    );
  });

  // The v6 client cannot send a filter on readAll (it always sends no_filter), so this drives the
  // server-side filter through the gRPC client generated in the same package.
  it('filters server-side by stream prefix and event type when a reader asks (generated StreamsClient)', async () => {
    const org1 = `org1.order-${randomUUID()}`;
    const org2 = `org2.order-${randomUUID()}`;
    await client.appendToStream(org1, [
      jsonEvent({ type: 'Placed', data: {} }),
      jsonEvent({ type: 'Paid', data: {} }),
    ]);
    await client.appendToStream(org2, [jsonEvent({ type: 'Placed', data: {} })]);
    emulator.appendDirect('$settings', [{ type: '$settings', data: {} }]);

    const byStream = await rawFilteredReadAll((f) => f.setStreamIdentifier(expression(['org1.'])));
    const byType = await rawFilteredReadAll((f) => f.setEventType(expression(['Pla'])));
    const nonSystem = await rawFilteredReadAll((f) => f.setEventType(expression([], '^[^$].*')));

    expect(byStream.map((e) => e.stream)).toEqual([org1, org1]);
    expect(byType.map((e) => `${e.stream}/${e.type}`)).toEqual([`${org1}/Placed`, `${org2}/Placed`]);
    expect(nonSystem).toHaveLength(3);
  });
});

type FilterOptions = InstanceType<typeof ReadReq.Options.FilterOptions>;
type FilterExpression = InstanceType<typeof ReadReq.Options.FilterOptions.Expression>;

function expression(prefixes: string[], regex = ''): FilterExpression {
  return new ReadReq.Options.FilterOptions.Expression().setPrefixList(prefixes).setRegex(regex);
}

async function rawFilteredReadAll(
  configure: (filter: FilterOptions) => void,
): Promise<{ stream: string; type: string }[]> {
  const raw = new streamsGrpcPb.StreamsClient(`127.0.0.1:${emulator.port}`, credentials.createInsecure());
  const filter = new ReadReq.Options.FilterOptions()
    .setCount(new sharedPb.Empty())
    .setCheckpointintervalmultiplier(1);
  configure(filter);
  const options = new ReadReq.Options()
    .setAll(new ReadReq.Options.AllOptions().setStart(new sharedPb.Empty()))
    .setReadDirection(ReadReq.Options.ReadDirection.FORWARDS)
    .setCount(String(READ_EVENTS_MAX))
    .setUuidOption(new ReadReq.Options.UUIDOption().setString(new sharedPb.Empty()))
    .setFilter(filter);
  try {
    const responses = await withTimeout(
      collect<ReadRespT>(raw.read(new ReadReq().setOptions(options))),
      'raw filtered readAll',
    );
    return responses.flatMap((response) => {
      const event = response.getEvent()?.getEvent();
      if (event === undefined) return [];
      const stream = Buffer.from(event.getStreamIdentifier()!.getStreamName_asU8()).toString('utf8');
      return [{ stream, type: event.getMetadataMap().get('type') ?? '' }];
    });
  } finally {
    raw.close();
  }
}

describe('subscribeToAll', () => {
  it('catches up from START, reports caughtUp once, then delivers live events in order', async () => {
    const stream = uniqueStream('live');
    await client.appendToStream(stream, events('Old', 3));
    const probe = subscribeAll({ fromPosition: START });

    await probe.until(
      '3 historical events and caughtUp',
      () => probe.events.length >= 3 && probe.caughtUpCount >= 1,
    );
    await client.appendToStream(stream, events('New', 2));
    await probe.until('2 live events', () => probe.events.length >= 5);

    expect(probe.events.map((r) => r.event?.revision)).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(probe.caughtUpCount).toBe(1);
  });

  it('starts strictly after a given position, and END delivers only new events', async () => {
    const stream = uniqueStream('after');
    await client.appendToStream(stream, events('E', 4));
    const all = await readAllEvents();
    const fromSecond = subscribeAll({ fromPosition: all[1]!.event!.position });
    const fromEnd = subscribeAll({ fromPosition: END });

    await fromSecond.until('caught up after position', () => fromSecond.caughtUpCount >= 1);
    await fromEnd.until('caught up at END', () => fromEnd.caughtUpCount >= 1);
    await client.appendToStream(stream, events('E', 1));
    await fromSecond.until('3 events', () => fromSecond.events.length >= 3);
    await fromEnd.until('1 event', () => fromEnd.events.length >= 1);

    expect(fromSecond.events.map((r) => r.event?.revision)).toEqual([2n, 3n, 4n]);
    expect(fromEnd.events.map((r) => r.event?.revision)).toEqual([4n]);
  });

  it('filters by stream-name prefix, event-type prefix, regex, and excludes system events', async () => {
    const org1 = `org1.order-${randomUUID()}`;
    const org2 = `org2.order-${randomUUID()}`;
    const byStream = new SubscriptionProbe<AllStreamResolvedEvent>();
    const byType = new SubscriptionProbe<AllStreamResolvedEvent>();
    const byRegex = new SubscriptionProbe<AllStreamResolvedEvent>();
    const nonSystem = new SubscriptionProbe<AllStreamResolvedEvent>();
    byStream.attach(client.subscribeToAll({ filter: streamNameFilter({ prefixes: ['org1.'] }) }));
    byType.attach(client.subscribeToAll({ filter: eventTypeFilter({ prefixes: ['Paid', 'Refunded'] }) }));
    byRegex.attach(client.subscribeToAll({ filter: streamNameFilter({ regex: '^org2\\.' }) }));
    nonSystem.attach(client.subscribeToAll({ filter: excludeSystemEvents() }));

    await client.appendToStream(org1, [
      jsonEvent({ type: 'Placed', data: {} }),
      jsonEvent({ type: 'Paid', data: {} }),
    ]);
    await client.appendToStream(org2, [jsonEvent({ type: 'Refunded', data: {} })]);
    await client.appendToStream(`$$${org1}`, [jsonEvent({ type: '$metadata', data: {} })]);
    await client.appendToStream(org1, [jsonEvent({ type: 'Shipped', data: {} })]);

    await byStream.until('org1 events', () => byStream.events.length >= 3);
    await byType.until('Paid and Refunded', () => byType.events.length >= 2);
    await byRegex.until('org2 events', () => byRegex.events.length >= 1);
    await nonSystem.until('non-system events', () => nonSystem.events.length >= 4);

    const typesOf = (probe: SubscriptionProbe<AllStreamResolvedEvent>) =>
      probe.events.map((r) => r.event?.type);
    expect(typesOf(byStream)).toEqual(['Placed', 'Paid', 'Shipped']);
    expect(typesOf(byType)).toEqual(['Paid', 'Refunded']);
    expect(typesOf(byRegex)).toEqual(['Refunded']);
    expect(typesOf(nonSystem)).toEqual(['Placed', 'Paid', 'Refunded', 'Shipped']);
  });

  it('sends checkpoints every multiplier × search window considered events, and at the end of catch-up', async () => {
    const mine = `org1.acct-${randomUUID()}`;
    const other = `org2.acct-${randomUUID()}`;
    for (let i = 0; i < 3; i++) {
      await client.appendToStream(other, events('Noise', 2));
      await client.appendToStream(mine, events('Signal', 1));
    }
    const all = await readAllEvents();
    const probe = new SubscriptionProbe<AllStreamResolvedEvent>();
    const filter = streamNameFilter({
      prefixes: ['org1.'],
      maxSearchWindow: 2,
      checkpointInterval: 2,
      checkpointReached: probe.onCheckpoint,
    });
    probe.attach(client.subscribeToAll({ fromPosition: START, filter }));

    await probe.until('caught up', () => probe.caughtUpCount >= 1);
    // 9 events considered, a checkpoint every 4: after the 4th and 8th, then at the last one.
    expect(probe.checkpoints.map((p) => p.commit)).toEqual(
      [3, 7, 8].map((i) => all[i]!.event!.position.commit),
    );
    expect(probe.events).toHaveLength(3);

    await client.appendToStream(other, events('Noise', 4));
    await probe.until('live checkpoint', () => probe.checkpoints.length >= 4);
    expect(probe.checkpoints[3]!.commit).toBe(emulator.lastPosition);
  });

  it('ends with UnavailableError when connections drop; resubscribing from the last position loses and repeats nothing', async () => {
    const stream = uniqueStream('resume');
    await client.appendToStream(stream, events('Before', 4));
    const first = subscribeAll({ fromPosition: START });
    await first.until('4 events and caughtUp', () => first.events.length >= 4 && first.caughtUpCount >= 1);

    await emulator.dropConnections();
    await first.until('subscription error', () => first.error !== undefined);
    expect(first.error).toBeInstanceOf(UnavailableError);

    // Written while nobody is subscribed; the exact revision makes a retried append idempotent.
    await afterReconnect(() => client.appendToStream(stream, events('During', 3), { expectedRevision: 3n }));
    const lastSeen = first.events.at(-1)!.event!.position;
    const second = subscribeAll({ fromPosition: lastSeen });
    await second.until(
      '3 missed events and caughtUp',
      () => second.events.length >= 3 && second.caughtUpCount >= 1,
    );
    await client.appendToStream(stream, events('After', 1), { expectedRevision: 6n });
    await second.until('1 live event', () => second.events.length >= 4);

    const delivered = [...idsOf(first.events), ...idsOf(second.events)];
    expect(delivered).toEqual(idsOf(await readStreamEvents(stream)));
    expect(new Set(delivered).size).toBe(8);
  });
});

describe('subscribeToStream', () => {
  it('catches up, goes live, and starts after a revision; other streams are not delivered', async () => {
    const stream = uniqueStream('cart');
    await client.appendToStream(stream, events('Added', 3));
    const fromStart = new SubscriptionProbe<ResolvedEvent>().attach(client.subscribeToStream(stream));
    const afterFirst = new SubscriptionProbe<ResolvedEvent>().attach(
      client.subscribeToStream(stream, { fromRevision: 0n }),
    );
    const fromEnd = new SubscriptionProbe<ResolvedEvent>().attach(
      client.subscribeToStream(stream, { fromRevision: END }),
    );

    await fromStart.until('caught up', () => fromStart.caughtUpCount >= 1 && fromStart.events.length >= 3);
    await afterFirst.until('caught up', () => afterFirst.caughtUpCount >= 1);
    await fromEnd.until('caught up', () => fromEnd.caughtUpCount >= 1);
    await client.appendToStream(uniqueStream('cart'), events('Elsewhere', 1));
    await client.appendToStream(stream, events('Added', 1));
    await fromEnd.until('the live event', () => fromEnd.events.length >= 1);
    await fromStart.until('4 events', () => fromStart.events.length >= 4);
    await afterFirst.until('3 events', () => afterFirst.events.length >= 3);

    const revisions = (probe: SubscriptionProbe<ResolvedEvent>) => probe.events.map((r) => r.event?.revision);
    expect(revisions(fromStart)).toEqual([0n, 1n, 2n, 3n]);
    expect(revisions(afterFirst)).toEqual([1n, 2n, 3n]);
    expect(revisions(fromEnd)).toEqual([3n]);
  });

  it('waits on a stream that does not exist yet', async () => {
    const stream = uniqueStream('later');
    const probe = new SubscriptionProbe<ResolvedEvent>().attach(client.subscribeToStream(stream));
    await probe.until('caught up on nothing', () => probe.caughtUpCount >= 1);
    await client.appendToStream(stream, events('First', 1), { expectedRevision: NO_STREAM });
    await probe.until('the first event', () => probe.events.length >= 1);
    expect(probe.events[0]!.event?.revision).toBe(0n);
  });
});

describe('fault injection', () => {
  it('failNextAppends after the write: the client sees UnavailableError, the event is stored, a retry is idempotent', async () => {
    const stream = uniqueStream('retry');
    await client.appendToStream(stream, events('Opened', 1));
    const batch = events('Deposited', 2);
    emulator.failNextAppends(1);

    await expect(client.appendToStream(stream, batch, { expectedRevision: 0n })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect(emulator.currentRevision(stream)).toBe(2n);

    const retried = await afterReconnect(() =>
      client.appendToStream(stream, batch, { expectedRevision: 0n }),
    );
    expect(retried.nextExpectedRevision).toBe(2n);
    expect(idsOf(await readStreamEvents(stream)).slice(1)).toEqual(batch.map((e) => e.id));
  });

  it('failNextAppends before the write: nothing is stored and the retry writes', async () => {
    const stream = uniqueStream('retry');
    emulator.failNextAppends(2, 'beforeWrite');
    const batch = events('Opened', 1);

    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(
        client.appendToStream(stream, batch, { expectedRevision: NO_STREAM }),
      ).rejects.toBeInstanceOf(UnavailableError);
    }
    expect(emulator.currentRevision(stream)).toBe('no_stream');
    const result = await afterReconnect(() =>
      client.appendToStream(stream, batch, { expectedRevision: NO_STREAM }),
    );
    expect(result.nextExpectedRevision).toBe(0n);
  });

  it('refuses new connections while not accepting, and serves again on the same port afterwards', async () => {
    const stream = uniqueStream('outage');
    await client.appendToStream(stream, events('Up', 1));
    emulator.setAcceptingConnections(false);
    await emulator.dropConnections();

    await expect(client.appendToStream(stream, events('Down', 1))).rejects.toBeInstanceOf(UnavailableError);
    emulator.setAcceptingConnections(true);
    const result = await afterReconnect(() =>
      client.appendToStream(stream, events('Up', 1), { expectedRevision: 0n }),
    );
    expect(result.nextExpectedRevision).toBe(1n);
  });

  it('appendDirect writes through the same rules and is visible to the client', async () => {
    const stream = uniqueStream('seeded');
    const outcome = emulator.appendDirect(stream, [{ type: 'Seeded', data: { ok: true } }], {
      kind: 'no_stream',
    });
    expect(outcome).toMatchObject({ kind: 'success', currentRevision: 0n });
    expect(emulator.appendDirect(stream, [{ type: 'Again' }], { kind: 'no_stream' })).toMatchObject({
      kind: 'wrong_expected_version',
      currentRevision: 0n,
    });
    const [read] = await readStreamEvents(stream);
    expect(read?.event).toMatchObject({ type: 'Seeded', data: { ok: true }, isJson: true });
  });
});

describe('tampering (hash-chain tests only)', () => {
  it('edits data in place, keeping id, revision and position', async () => {
    const stream = uniqueStream('ledger');
    await client.appendToStream(stream, events('Posted', 3), { expectedRevision: NO_STREAM });
    const [before] = await readStreamEvents(stream, { fromRevision: 1n, maxCount: 1 });
    emulator.tamper.editData(stream, 1n, { n: 999 });
    const [after] = await readStreamEvents(stream, { fromRevision: 1n, maxCount: 1 });
    expect(after?.event?.data).toEqual({ n: 999 });
    expect([after?.event?.id, after?.event?.revision, after?.event?.position]).toEqual([
      before?.event?.id,
      1n,
      before?.event?.position,
    ]);
  });

  it('hides a deleted event from reads and subscriptions; its revision stays taken', async () => {
    const stream = uniqueStream('ledger');
    await client.appendToStream(stream, events('Posted', 3), { expectedRevision: NO_STREAM });
    emulator.tamper.deleteEvent(stream, 1n);
    expect((await readStreamEvents(stream)).map((r) => r.event?.revision)).toEqual([0n, 2n]);
    const all = await readAllEvents();
    expect(all.filter((r) => r.event?.streamId === stream).map((r) => r.event?.revision)).toEqual([0n, 2n]);
    const probe = subscribeAll({ filter: streamNameFilter({ prefixes: [stream] }) });
    await probe.until('the two remaining events', () => probe.events.length >= 2);
    expect(probe.events.map((r) => r.event?.revision)).toEqual([0n, 2n]);
    const next = await client.appendToStream(stream, events('Posted', 1), { expectedRevision: 2n });
    expect(next.nextExpectedRevision).toBe(3n);
  });

  it('swaps the revisions of two events, each keeping its $all position', async () => {
    const stream = uniqueStream('ledger');
    await client.appendToStream(stream, events('Posted', 3), { expectedRevision: NO_STREAM });
    const before = await readStreamEvents(stream);
    emulator.tamper.swapEvents(stream, 0n, 1n);
    const after = await readStreamEvents(stream);
    expect(idsOf(after)).toEqual([before[1], before[0], before[2]].map((r) => r?.event?.id ?? 'missing'));
    expect(after[0]?.event?.position).toEqual(before[1]?.event?.position);
    const all = (await readAllEvents()).filter((r) => r.event?.streamId === stream);
    expect(idsOf(all)).toEqual(idsOf(before));
    expect(all.map((r) => r.event?.revision)).toEqual([1n, 0n, 2n]);
  });
});
