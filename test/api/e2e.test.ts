/**
 * The README walk-through, over HTTP, as a user would do it: with the printed platform admin
 * key create an organization and its first admin, log in as that admin, add a member, make a
 * scoped API key and use it (allowed and refused), refresh (and catch a reused refresh token),
 * log out — then read the organization's streams and find every change, in order, with its
 * actor, channel and a linked hash chain, and no secret anywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiKeyToken } from '../../src/adapters/crypto/apiKeys.js';
import { parseRefreshToken } from '../../src/adapters/crypto/tokens.js';
import { startTestApp, type Backend, type TestApp, type TestResponse } from '../support/app.js';
import { probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const BACKENDS: readonly { readonly backend: Backend; readonly run: boolean }[] = [
  { backend: 'pglite', run: true },
  { backend: 'postgres', run: serviceGate('README walk-through (PostgreSQL)', probe) },
];

// The README's own values.
const ADA = { email: 'ada@acme.test', name: 'Ada', password: 'correct horse battery' };
const BOB = { email: 'bob@acme.test', name: 'Bob', role: 'user', password: 'another long password' };
const REPORTING_KEY = { name: 'reporting', scopes: ['ledger:read'] };
const REPORTING_IDEMPOTENCY_KEY = 'reporting-key-1';

const ZERO_HASH = '0'.repeat(64);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Envelope {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly streamName: string;
  readonly orgId: string;
  readonly revision: string;
  readonly position: string;
  readonly occurredAt: string;
  readonly actor: { readonly kind: string; readonly id: string; readonly role: string | null };
  readonly channel: {
    readonly kind: string;
    readonly clientName: string | null;
    readonly clientVersion: string | null;
  };
  readonly correlationId: string;
  readonly causationId: string;
  readonly requestId: string | null;
  readonly idempotencyKey: string | null;
  readonly prevHash: string;
  readonly hash: string;
}

/** What the walk-through expects of one event. */
interface Expected {
  readonly type: string;
  readonly actor: { readonly kind: string; readonly id: string; readonly role: string };
  /** The answer of the request that made it: its x-request-id must be the event's requestId. */
  readonly by: TestResponse;
  readonly idempotencyKey?: string;
  readonly data?: Record<string, unknown>;
}

function positionOf(text: string): [bigint, bigint] {
  const match = /^(\d+)-(\d+)$/.exec(text);
  if (!match) throw new Error(`not a position: ${text}`);
  return [BigInt(match[1] ?? ''), BigInt(match[2] ?? '')];
}

function isAfter(a: string, b: string): boolean {
  const [ac, ap] = positionOf(a);
  const [bc, bp] = positionOf(b);
  return ac > bc || (ac === bc && ap > bp);
}

/** The envelope of SPEC §2 on every event, and the chain linking them. */
function expectChain(events: readonly Envelope[], stream: string, orgId: string): void {
  events.forEach((event, index) => {
    expect(event.eventId).toMatch(UUID);
    expect(event.streamName).toBe(stream);
    expect(event.orgId).toBe(orgId);
    expect(event.revision).toBe(String(index));
    expect(event.schemaVersion).toBe(1);
    expect(new Date(event.occurredAt).toISOString()).toBe(event.occurredAt);
    expect(event.correlationId.length).toBeGreaterThan(0);
    expect(event.causationId.length).toBeGreaterThan(0);
    expect(event.hash).toMatch(/^[0-9a-f]{64}$/);
    const previous = events[index - 1];
    if (previous) {
      expect(event.prevHash, `${stream}@${index} links to ${index - 1}`).toBe(previous.hash);
      expect(isAfter(event.position, previous.position), `${stream}@${index} after ${index - 1}`).toBe(true);
      expect(Date.parse(event.occurredAt)).toBeGreaterThanOrEqual(Date.parse(previous.occurredAt));
    } else {
      expect(event.prevHash).toBe(ZERO_HASH);
    }
  });
  expect(new Set(events.map((event) => event.eventId)).size).toBe(events.length);
}

function expectEvents(events: readonly Envelope[], expected: readonly Expected[]): void {
  expect(events.map((event) => event.type)).toEqual(expected.map((item) => item.type));
  expected.forEach((item, index) => {
    const event = events[index]!;
    expect(event.actor, `${item.type}@${index}`).toEqual(item.actor);
    expect(event.channel).toEqual({ kind: 'rest', clientName: null, clientVersion: null });
    expect(event.requestId, `${item.type}@${index} was made by that request`).toBe(
      item.by.headers.get('x-request-id'),
    );
    expect(event.idempotencyKey).toBe(item.idempotencyKey ?? null);
    if (item.data) expect(event.data).toMatchObject(item.data);
  });
}

/** A list answer's items, typed. */
function itemsOf<T>(answer: TestResponse): T[] {
  return (answer.body as { items: T[] }).items;
}

for (const { backend, run } of BACKENDS) {
  describe.skipIf(!run)(`README walk-through on ${backend}`, () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await startTestApp(backend);
    });

    afterAll(async () => {
      await app.close();
    });

    it('organization, admin login, member, scoped key, refresh, logout — all in the audit trail', async () => {
      const adminKeyId = parseApiKeyToken(app.adminKey)?.keyId;
      expect(adminKeyId).toBeDefined();
      const platformAdmin = { kind: 'api_key', id: adminKeyId!, role: 'super_admin' };

      // 1. An organization with its first admin, with the printed platform admin key.
      const org = await app.request('POST', '/v1/organizations', {
        token: app.adminKey,
        body: { name: 'Acme Pay', plan: 'pro', admin: ADA },
      });
      expect(org.status, JSON.stringify(org.body)).toBe(201);
      const orgId = org.body.orgId as string;
      const adaId = org.body.adminMemberId as string;
      expect(orgId).toMatch(/^org_[0-9A-Z]{26}$/);
      expect(adaId).toMatch(/^usr_[0-9A-Z]{26}$/);
      expect(typeof org.body.position).toBe('string');
      const ada = { kind: 'member', id: adaId, role: 'org_admin' };

      // 2. Log in as that admin.
      const login = await app.request('POST', '/v1/auth/login', {
        body: { email: ADA.email, password: ADA.password },
      });
      expect(login.status, JSON.stringify(login.body)).toBe(200);
      expect(login.body).toMatchObject({ tokenType: 'Bearer', memberId: adaId, orgId, role: 'org_admin' });
      const token = login.body.accessToken as string;
      const firstRefresh = login.body.refreshToken as string;

      // 3. A member, and a scoped API key (its secret in this answer only).
      const bob = await app.request('POST', '/v1/members', { token, body: BOB });
      expect(bob.status, JSON.stringify(bob.body)).toBe(201);
      const bobId = bob.body.memberId as string;
      const key = await app.request('POST', '/v1/api-keys', {
        token,
        body: REPORTING_KEY,
        headers: { 'idempotency-key': REPORTING_IDEMPOTENCY_KEY },
      });
      expect(key.status, JSON.stringify(key.body)).toBe(201);
      const reportingKey = key.body.apiKey as string;
      expect(reportingKey).toMatch(/^lk_live_key_[0-9A-Z]{26}_/);
      expect(key.body.scopes).toEqual(REPORTING_KEY.scopes);
      const reportingKeyId = key.body.keyId as string;

      // The scoped key does what it may …
      const organization = await app.request(
        'GET',
        `/v1/organization?consistentWith=${key.body.position as string}`,
        {
          token: reportingKey,
        },
      );
      expect(organization.status, JSON.stringify(organization.body)).toBe(200);
      expect(organization.body).toMatchObject({ orgId, name: 'Acme Pay', plan: 'pro', status: 'active' });
      const members = await app.request('GET', '/v1/members', { token: reportingKey });
      expect(members.status).toBe(200);
      expect(
        itemsOf<{ memberId: string }>(members)
          .map((item) => item.memberId)
          .sort(),
      ).toEqual([adaId, bobId].sort());
      // … and is refused what it may not, and nothing is written.
      const refusedWrite = await app.request('POST', '/v1/members', {
        token: reportingKey,
        body: { email: 'eve@acme.test', name: 'Eve', role: 'viewer', password: 'yet another password' },
      });
      expect(refusedWrite.status, JSON.stringify(refusedWrite.body)).toBe(403);
      expect(refusedWrite.body.error).toMatchObject({
        code: 'FORBIDDEN',
        details: { requiredScope: 'members:write' },
      });
      const refusedKey = await app.request('POST', '/v1/api-keys', {
        token: reportingKey,
        body: { name: 'escalate', scopes: ['keys:write'] },
      });
      expect(refusedKey.status).toBe(403);
      const refusedRead = await app.request('GET', `/v1/audit/streams/${orgId}.organization-${orgId}`, {
        token: reportingKey,
      });
      expect(refusedRead.status).toBe(403);
      expect(refusedRead.body.error).toMatchObject({
        code: 'FORBIDDEN',
        details: { requiredScope: 'audit:read' },
      });

      // 4. Refresh: a new pair; the spent refresh token, shown again, revokes the session.
      const refreshed = await app.request('POST', '/v1/auth/refresh', {
        body: { refreshToken: firstRefresh },
      });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      const secondRefresh = refreshed.body.refreshToken as string;
      expect(secondRefresh).not.toBe(firstRefresh);
      const refreshedToken = refreshed.body.accessToken as string;
      expect((await app.request('GET', '/v1/organization', { token: refreshedToken })).status).toBe(200);
      const reused = await app.request('POST', '/v1/auth/refresh', { body: { refreshToken: firstRefresh } });
      expect(reused.status, JSON.stringify(reused.body)).toBe(401);
      expect(reused.body.error.code).toBe('UNAUTHENTICATED');
      const afterRevocation = await app.request('POST', '/v1/auth/refresh', {
        body: { refreshToken: secondRefresh },
      });
      expect(afterRevocation.status, 'the whole session is revoked').toBe(401);

      // 5. Log in again, and log out: that session's refresh token stops working.
      const second = await app.request('POST', '/v1/auth/login', {
        body: { email: ADA.email, password: ADA.password },
      });
      expect(second.status).toBe(200);
      const logout = await app.request('POST', '/v1/auth/logout', {
        token: second.body.accessToken as string,
      });
      expect(logout.status, JSON.stringify(logout.body)).toBe(200);
      const afterLogout = await app.request('POST', '/v1/auth/refresh', {
        body: { refreshToken: second.body.refreshToken as string },
      });
      expect(afterLogout.status).toBe(401);

      // 6. The organization's stream: every change, in order, with its actor and channel. (Read
      // with a fresh login: whether a revoked session's access tokens still work is not at issue.)
      const third = await app.request('POST', '/v1/auth/login', {
        body: { email: ADA.email, password: ADA.password },
      });
      expect(third.status).toBe(200);
      const readToken = third.body.accessToken as string;
      const orgStream = `${orgId}.organization-${orgId}`;
      const read = await app.request(
        'GET',
        `/v1/audit/streams/${orgStream}?consistentWith=${logout.body.position as string}`,
        { token: readToken },
      );
      expect(read.status, JSON.stringify(read.body)).toBe(200);
      expect(read.body.nextRevision).toBeNull();
      const events = read.body.events as Envelope[];
      expectChain(events, orgStream, orgId);
      expectEvents(events, [
        {
          type: 'OrganizationCreated',
          actor: platformAdmin,
          by: org,
          data: { name: 'Acme Pay', plan: 'pro' },
        },
        { type: 'MemberCreated', actor: platformAdmin, by: org, data: { memberId: adaId, email: ADA.email } },
        {
          type: 'MemberCreated',
          actor: ada,
          by: bob,
          data: { memberId: bobId, email: BOB.email, role: 'user' },
        },
        {
          type: 'ApiKeyCreated',
          actor: ada,
          by: key,
          idempotencyKey: REPORTING_IDEMPOTENCY_KEY,
          data: { keyId: reportingKeyId, scopes: REPORTING_KEY.scopes },
        },
      ]);
      // The organization and its first admin are one append: one request, one position order.
      expect(events[0]!.correlationId).toBe(events[1]!.correlationId);

      // The sessions' streams: started, refreshed, revoked for reuse; started, ended by logout.
      const firstSession = parseRefreshToken(firstRefresh)?.sessionId;
      const secondSession = parseRefreshToken(second.body.refreshToken as string)?.sessionId;
      expect(firstSession).toBeDefined();
      expect(secondSession).toBeDefined();
      const sessionEvents: Envelope[] = [];
      for (const [sessionId, expected] of [
        [
          firstSession!,
          [
            { type: 'SessionStarted', actor: ada, by: login },
            { type: 'SessionRefreshed', actor: ada, by: refreshed },
            { type: 'SessionRevoked', actor: ada, by: reused, data: { reason: 'refresh_token_reused' } },
          ],
        ],
        [
          secondSession!,
          [
            { type: 'SessionStarted', actor: ada, by: second },
            { type: 'SessionRevoked', actor: ada, by: logout, data: { reason: 'logout' } },
          ],
        ],
      ] as const) {
        const stream = `${orgId}.session-${sessionId}`;
        const answer = await app.request('GET', `/v1/audit/streams/${stream}`, { token: readToken });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        const sessionStream = answer.body.events as Envelope[];
        expectChain(sessionStream, stream, orgId);
        expectEvents(sessionStream, expected);
        sessionEvents.push(...sessionStream);
      }

      // 7. No secret anywhere: not in any event, not in any list or read.
      const everything = JSON.stringify([
        events,
        sessionEvents,
        (await app.request('GET', '/v1/members?limit=200', { token: readToken })).body,
        (await app.request('GET', '/v1/api-keys?limit=200', { token: readToken })).body,
        (await app.request('GET', `/v1/members/${adaId}`, { token: readToken })).body,
        (await app.request('GET', `/v1/members/${bobId}`, { token: readToken })).body,
        (await app.request('GET', '/v1/organization', { token: readToken })).body,
        (await app.request('GET', '/v1/organizations?limit=200', { token: app.adminKey })).body,
      ]);
      const secrets = {
        'Ada’s password': ADA.password,
        'Bob’s password': BOB.password,
        'the API key': reportingKey,
        'the API key’s secret part': reportingKey.split('_').slice(4).join('_'),
        'an access token': token,
        'a refreshed access token': refreshedToken,
        'a refresh token': firstRefresh,
        'a refresh token’s secret part': firstRefresh.split('.').at(-1)!,
        'a rotated refresh token': secondRefresh,
      };
      for (const [what, secret] of Object.entries(secrets)) {
        expect(secret.length, what).toBeGreaterThan(8);
        expect(everything.includes(secret), `${what} appears`).toBe(false);
      }
      // The key is listed with its scopes and creator, never its secret.
      const listed = (await app.request('GET', '/v1/api-keys?limit=200', { token: readToken })).body
        .items as {
        keyId: string;
      }[];
      expect(listed.find((item) => item.keyId === reportingKeyId)).toMatchObject({
        name: 'reporting',
        scopes: ['ledger:read'],
        createdBy: adaId,
        status: 'active',
      });
    });
  });
}
