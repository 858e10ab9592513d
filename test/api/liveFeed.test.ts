/**
 * The live event feed over real HTTP (SPEC §8: `/v1/events` over SSE, `/v1/ws` over
 * WebSocket): each client hears its own organization's events and never another's, in global
 * order, `id` the event's position; a client that comes back with `Last-Event-ID` gets exactly
 * what it missed, then the live events, without a gap or a repeat; the WebSocket carries the
 * same content; filters, heartbeats and refusals. On PGlite and PostgreSQL with the in-process
 * bus; test/api/liveFeed.nats.test.ts runs the feed through NATS and an outage of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusEvent } from '../../src/adapters/bus/busEvent.js';
import { startTestApp, type Backend, type TestApp } from '../support/app.js';
import { isClient, openSse, openWs, type FeedClient } from '../support/feedClients.js';
import { caughtUp, expectFeedMatchesStore, newOrganization, until } from '../support/feedChecks.js';
import { openAccount } from '../support/ledgerHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const BACKENDS: readonly { readonly backend: Backend; readonly run: boolean }[] = [
  { backend: 'pglite', run: true },
  { backend: 'postgres', run: serviceGate('live event feed (PostgreSQL)', probe) },
];
const HEARTBEAT_MS = 100;

async function client(opening: ReturnType<typeof openSse>): Promise<FeedClient> {
  const opened = await opening;
  if (!isClient(opened)) throw new Error(`the feed refused: ${opened.status} ${JSON.stringify(opened.body)}`);
  return opened;
}

for (const { backend, run } of BACKENDS) {
  describe.skipIf(!run)(`the live event feed on ${backend}`, () => {
    let app: TestApp;
    const clients: FeedClient[] = [];
    let counter = 0;
    const address = (): string => `assets:feed:a${(counter += 1)}`;

    beforeAll(async () => {
      app = await startTestApp(backend, { feed: { heartbeatMs: HEARTBEAT_MS } });
      await caughtUp(app);
    });

    afterAll(async () => {
      for (const open of clients) open.close();
      await app.close();
    });

    async function sse(token: string, options: Parameters<typeof openSse>[2] = {}): Promise<FeedClient> {
      const opened = await client(openSse(app.url, token, options));
      clients.push(opened);
      return opened;
    }

    async function ws(token: string, query?: string): Promise<FeedClient> {
      const opened = await client(openWs(app.url, token, query === undefined ? {} : { query }));
      clients.push(opened);
      return opened;
    }

    it('gives each organization its own events only, in order, the same over SSE and WebSocket', async () => {
      const other = await newOrganization(app, 'Feed Other');
      const [sseA, wsA, sseB, wsB] = await Promise.all([
        sse(app.demoKey),
        ws(app.demoKey),
        sse(other.token),
        ws(other.token),
      ]);
      let lastA = '';
      for (let round = 0; round < 3; round += 1) {
        lastA = (await openAccount(app, app.demoKey, address())).position ?? '';
        await openAccount(app, other.token, address());
      }
      // A member created now: its password hash must not travel.
      const member = await app.request('POST', '/v1/members', {
        token: other.token,
        body: { email: 'feed-bob@other.test', name: 'Bob', role: 'user', password: 'a long enough password' },
      });
      expect(member.status, JSON.stringify(member.body)).toBe(201);
      const lastB = member.body.position as string;

      for (const [feed, last] of [
        [sseA, lastA],
        [wsA, lastA],
        [sseB, lastB],
        [wsB, lastB],
      ] as const) {
        await until(() => feed.ids.includes(last), 'the last event on the feed');
      }
      await expectFeedMatchesStore(app, app.demoOrgId, sseA);
      await expectFeedMatchesStore(app, app.demoOrgId, wsA);
      await expectFeedMatchesStore(app, other.orgId, sseB);
      await expectFeedMatchesStore(app, other.orgId, wsB);
      expect(sseA.events.every((event) => event.orgId === app.demoOrgId)).toBe(true);
      expect(sseB.events.every((event) => event.orgId === other.orgId)).toBe(true);
      expect(sseA.ids.some((id) => sseB.ids.includes(id))).toBe(false);
      // Over both transports, the same events from where both were listening.
      const common = (feed: FeedClient, from: string): string[] => feed.ids.slice(feed.ids.indexOf(from));
      const start = wsA.ids.find((id) => sseA.ids.includes(id)) ?? '';
      expect(common(wsA, start)).toEqual(common(sseA, start));

      const created = sseB.events.find((event) => event.type === 'MemberCreated');
      expect(created?.data).toMatchObject({ email: 'feed-bob@other.test', passwordHash: '[redacted]' });
      expect(JSON.stringify(sseB.events)).not.toMatch(/scrypt/);
      expect(created).toMatchObject({
        category: 'organization',
        actor: { kind: 'member' },
        channel: { kind: 'rest' },
      });
    });

    it('resumes from Last-Event-ID (header or parameter) without missing or repeating an event', async () => {
      const first = await sse(app.demoKey);
      const seen: string[] = [];
      for (let index = 0; index < 3; index += 1) {
        seen.push((await openAccount(app, app.demoKey, address())).position ?? '');
      }
      await until(() => first.ids.includes(seen[2] ?? ''), 'the first three events');
      // The client saw only part of what was sent before its connection dropped.
      const lastSeen = first.ids[first.ids.indexOf(seen[0] ?? '')] ?? '';
      first.close();
      for (let index = 0; index < 3; index += 1) await openAccount(app, app.demoKey, address());

      const resumed = await sse(app.demoKey, { lastEventId: lastSeen });
      const resumedWs = await ws(app.demoKey, `lastEventId=${lastSeen}`);
      let last = '';
      for (let index = 0; index < 3; index += 1) {
        last = (await openAccount(app, app.demoKey, address())).position ?? '';
      }
      await until(() => resumed.ids.includes(last) && resumedWs.ids.includes(last), 'the live events');
      const expected = await expectFeedMatchesStore(app, app.demoOrgId, resumed, { after: lastSeen });
      expect(expected.length).toBeGreaterThanOrEqual(6);
      expect(resumedWs.ids).toEqual(resumed.ids);
    });

    it('filters by event type and by stream category', async () => {
      const accounts = await sse(app.demoKey, { query: 'types=AccountOpened,NoSuchType' });
      const tenancy = await sse(app.demoKey, { query: 'categories=organization' });
      const opened = await openAccount(app, app.demoKey, address());
      const key = await app.request('POST', '/v1/api-keys', {
        token: app.demoKey,
        body: { name: 'feed filter', scopes: ['ledger:read'] },
      });
      expect(key.status).toBe(201);
      await until(() => accounts.ids.includes(opened.position ?? ''), 'the account');
      await until(() => tenancy.ids.includes(key.body.position as string), 'the key');
      expect(accounts.events.map((event) => event.type)).toEqual(['AccountOpened']);
      expect(tenancy.events.map((event: BusEvent) => event.type)).toEqual(['ApiKeyCreated']);
      expect(JSON.stringify(tenancy.events)).not.toContain(key.body.apiKey as string);
    });

    it('sends heartbeats: comment lines over SSE, pings over WebSocket', async () => {
      const [quiet, quietWs] = await Promise.all([sse(app.demoKey), ws(app.demoKey)]);
      await until(() => quiet.heartbeats >= 2 && quietWs.heartbeats >= 2, 'heartbeats');
    });

    it('refuses without a credential, without audit:read, and with a bad position or parameter', async () => {
      const anonymous = await openSse(app.url, null);
      expect(anonymous).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
      const anonymousWs = await openWs(app.url, null);
      expect(anonymousWs).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });

      const key = await app.request('POST', '/v1/api-keys', {
        token: app.demoKey,
        body: { name: 'no audit', scopes: ['ledger:read'] },
      });
      const reader = key.body.apiKey as string;
      expect(await openSse(app.url, reader)).toMatchObject({
        status: 403,
        body: { error: { code: 'FORBIDDEN', details: { requiredScope: 'audit:read' } } },
      });
      expect(await openWs(app.url, reader)).toMatchObject({ status: 403 });

      expect(await openSse(app.url, app.demoKey, { lastEventId: 'yesterday' })).toMatchObject({
        status: 400,
        body: { error: { code: 'VALIDATION_FAILED', details: { field: 'Last-Event-ID' } } },
      });
      expect(await openSse(app.url, app.demoKey, { query: 'orgId=org_other' })).toMatchObject({
        status: 400,
        body: { error: { details: { field: 'orgId' } } },
      });
      expect(await openSse(app.url, app.demoKey, { query: 'types=a.b' })).toMatchObject({
        status: 400,
        body: { error: { details: { field: 'types' } } },
      });
      expect(await openWs(app.url, app.demoKey, { query: 'lastEventId=1' })).toMatchObject({ status: 400 });
      const plain = await app.request('GET', '/v1/ws', { token: app.demoKey });
      expect(plain.status).toBe(426);
    });
  });
}
