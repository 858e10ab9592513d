/**
 * The live feed through NATS JetStream (a nats-server of this test's own, on PostgreSQL),
 * across an outage: NATS is killed while commands run — they all succeed, /ready says the bus
 * is unreachable but stays ready — and started again; the SSE and WebSocket clients end up
 * with every event of their organization once, in order, the stream holds every committed
 * event once in global order, and another organization's client hears none of them.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusEvent } from '../../src/adapters/bus/busEvent.js';
import { toBusEvent } from '../../src/adapters/bus/busEvent.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { isClient, openSse, openWs, type FeedClient } from '../support/feedClients.js';
import { caughtUp, expectFeedMatchesStore, newOrganization, until } from '../support/feedChecks.js';
import { openAccount } from '../support/ledgerHttp.js';
import {
  NATS_SERVER_BINARY,
  readWholeStream,
  startPrivateNats,
  uniqueBusNames,
  type PrivateNats,
} from '../support/nats.js';
import { probePostgres, serviceGate } from '../support/services.js';

const postgres = await probePostgres();
const run =
  serviceGate('live feed through NATS (PostgreSQL)', postgres) &&
  serviceGate('live feed through a private nats-server', {
    available: existsSync(NATS_SERVER_BINARY),
    reason: `no nats-server binary at ${NATS_SERVER_BINARY}`,
  });

async function client(opening: ReturnType<typeof openSse>): Promise<FeedClient> {
  const opened = await opening;
  if (!isClient(opened)) throw new Error(`the feed refused: ${opened.status} ${JSON.stringify(opened.body)}`);
  return opened;
}

describe.skipIf(!run)('the live feed through NATS JetStream, across an outage', () => {
  let nats: PrivateNats;
  let app: TestApp;
  const names = uniqueBusNames('feed');
  const clients: FeedClient[] = [];

  beforeAll(async () => {
    nats = await startPrivateNats();
    app = await startTestApp('postgres', {
      env: {
        NATS_URL: nats.url,
        LEDGERLINE_NATS_STREAM: names.stream,
        LEDGERLINE_NATS_SUBJECT_PREFIX: names.prefix,
      },
    });
    await caughtUp(app);
  });

  afterAll(async () => {
    for (const open of clients) open.close();
    await app.close();
    await nats.dispose();
  });

  it('loses and repeats nothing when NATS dies and comes back while commands run', async () => {
    const other = await newOrganization(app, 'Feed Through NATS');
    const sse = await client(openSse(app.url, app.demoKey));
    const ws = await client(openWs(app.url, app.demoKey));
    const otherSse = await client(openSse(app.url, other.token));
    clients.push(sse, ws, otherSse);
    const ready = await app.request('GET', '/ready');
    expect(ready.body).toMatchObject({ status: 'ready', checks: { eventBus: 'ok' } });
    expect(ready.body.publisher).toMatchObject({ lagMs: expect.any(Number) });

    let counter = 0;
    const command = async (): Promise<string> =>
      (await openAccount(app, app.demoKey, `assets:nats:a${(counter += 1)}`)).position ?? '';
    for (let index = 0; index < 5; index += 1) await command();
    const otherLast = (await openAccount(app, other.token, 'assets:other:only')).position ?? '';

    await nats.stop();
    // Commands go on while NATS is down (openAccount checks each answered 201).
    for (let index = 0; index < 5; index += 1) await command();
    await until(
      async () => (await app.request('GET', '/ready')).body.checks?.eventBus === 'unreachable',
      'the outage in /ready',
    );
    const during = await app.request('GET', '/ready');
    expect(during.status).toBe(200);

    await nats.start();
    let last = '';
    for (let index = 0; index < 5; index += 1) last = await command();

    await until(() => sse.ids.includes(last) && ws.ids.includes(last), 'every event after the outage');
    await until(() => otherSse.ids.includes(otherLast), 'the other organization’s event');
    await expectFeedMatchesStore(app, app.demoOrgId, sse);
    await expectFeedMatchesStore(app, app.demoOrgId, ws);
    await expectFeedMatchesStore(app, other.orgId, otherSse);
    expect(otherSse.events.every((event) => event.orgId === other.orgId)).toBe(true);
    expect(sse.events.every((event) => event.orgId === app.demoOrgId)).toBe(true);

    // The stream holds every committed event once, in global order.
    const head = await app.server.runtime.store.headPosition?.();
    expect(head).toBeDefined();
    await until(() => app.server.runtime.publisher?.status().lagMs === 0, 'the publisher to catch up');
    const committed: BusEvent[] = [];
    for (let from = undefined as Parameters<typeof app.server.runtime.store.readAll>[0]; ;) {
      const page = await app.server.runtime.store.readAll({ ...(from ?? {}), maxCount: 1000 });
      committed.push(...page.events.map(toBusEvent));
      from = { from: page.next };
      if (page.isEnd) break;
    }
    const stored = await readWholeStream<BusEvent>(nats.url, names.stream, 100_000);
    expect(stored.map((event) => event.eventId)).toEqual(committed.map((event) => event.eventId));
  });
});
