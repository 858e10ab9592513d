/**
 * Idempotency-Key (SPEC §3 step 4): the same key with the same input answers the first answer
 * and writes nothing; the same key with a different input is 409 IDEMPOTENCY_KEY_REUSED; keys
 * are kept at least 24 hours. Keys belong to an organization.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/domain/canonicalJson.js';
import { IDEMPOTENCY_KEY_LENGTH_MAX } from '../../src/commands/idempotency.js';
import { startTestApp, type Backend, type TestApp, type TestResponse } from '../support/app.js';
import { probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const BACKENDS: readonly { readonly backend: Backend; readonly run: boolean }[] = [
  { backend: 'pglite', run: true },
  { backend: 'postgres', run: serviceGate('idempotency (PostgreSQL)', probe) },
];

const PASSWORD = 'correct horse battery staple';
const CONCURRENT = 20;

interface Member {
  readonly memberId: string;
  readonly email: string;
}

/** A list answer's items, typed. */
function itemsOf<T>(answer: TestResponse): T[] {
  return (answer.body as { items: T[] }).items;
}

for (const { backend, run } of BACKENDS) {
  describe.skipIf(!run)(`Idempotency-Key on ${backend}`, () => {
    let app: TestApp;
    let serial = 0;

    beforeAll(async () => {
      app = await startTestApp(backend);
    });

    afterAll(async () => {
      await app.close();
    });

    function unique(label: string): string {
      serial += 1;
      return `${label}-${backend}-${serial}-${Date.now()}`;
    }

    function memberBody(email: string): Record<string, string> {
      return { email, name: 'Idem Potent', role: 'user', password: PASSWORD };
    }

    async function eventCount(): Promise<number> {
      const store = app.server.runtime.store;
      if (!store.countEvents) throw new Error('the event store cannot count its events');
      return store.countEvents();
    }

    /** The organization's stream as REST reads it (straight from the event store). */
    async function orgStream(
      orgId: string,
      token: string,
    ): Promise<{ type: string; idempotencyKey: unknown }[]> {
      const answer = await app.request('GET', `/v1/audit/streams/${orgId}.organization-${orgId}?limit=500`, {
        token,
      });
      expect(answer.status).toBe(200);
      expect(answer.body.nextRevision).toBeNull();
      return answer.body.events as { type: string; idempotencyKey: unknown }[];
    }

    /** Every member of the caller's organization, once the read models have passed `position`. */
    async function members(token: string, position: string): Promise<Member[]> {
      const answer = await app.request('GET', `/v1/members?limit=200&consistentWith=${position}`, { token });
      expect(answer.status).toBe(200);
      expect(answer.body.nextCursor).toBeNull();
      return answer.body.items as Member[];
    }

    async function latestPosition(orgId: string, token: string): Promise<string> {
      const events = await orgStream(orgId, token);
      return (events.at(-1) as unknown as { position: string }).position;
    }

    function post(path: string, token: string, body: unknown, key?: string): Promise<TestResponse> {
      return app.request('POST', path, {
        token,
        body,
        ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }),
      });
    }

    it(`${CONCURRENT} concurrent identical create_member with one key: written once, ${CONCURRENT} identical answers`, async () => {
      const key = unique('concurrent');
      const email = `${unique('twenty')}@example.com`;
      const eventsBefore = await eventCount();
      const streamBefore = (await orgStream(app.demoOrgId, app.demoKey)).length;

      const answers = await Promise.all(
        Array.from({ length: CONCURRENT }, () => post('/v1/members', app.demoKey, memberBody(email), key)),
      );

      const first = answers[0]!;
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      for (const answer of answers) {
        expect(answer.status).toBe(first.status);
        expect(answer.body).toEqual(first.body);
      }
      const replayed = answers.filter((answer) => answer.headers.get('idempotent-replayed') === 'true');
      expect(replayed).toHaveLength(CONCURRENT - 1);
      const original = answers.filter((answer) => answer.headers.get('idempotent-replayed') !== 'true');
      expect(original).toHaveLength(1);

      expect(await eventCount()).toBe(eventsBefore + 1);
      const stream = await orgStream(app.demoOrgId, app.demoKey);
      expect(stream).toHaveLength(streamBefore + 1);
      // SPEC §2: events carry the idempotency key when one was given.
      expect(stream.at(-1)).toMatchObject({ type: 'MemberCreated', idempotencyKey: key });
      const found = (await members(app.demoKey, first.body.position as string)).filter(
        (member) => member.email === email,
      );
      expect(found).toEqual([expect.objectContaining({ memberId: first.body.memberId, email })]);
    });

    it('a later retry with the same key and input replays the first answer and writes nothing', async () => {
      const key = unique('retry');
      const body = memberBody(`${unique('retry')}@example.com`);
      const first = await post('/v1/members', app.demoKey, body, key);
      expect(first.status).toBe(201);
      expect(first.headers.get('idempotent-replayed')).not.toBe('true');
      const eventsAfterFirst = await eventCount();

      const again = await post('/v1/members', app.demoKey, body, key);
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await eventCount()).toBe(eventsAfterFirst);
    });

    it('the same key with a different input is 409 IDEMPOTENCY_KEY_REUSED and writes nothing', async () => {
      const key = unique('reuse');
      const body = memberBody(`${unique('reuse')}@example.com`);
      const first = await post('/v1/members', app.demoKey, body, key);
      expect(first.status).toBe(201);
      const eventsBefore = await eventCount();
      const membersBefore = await members(app.demoKey, first.body.position as string);

      const otherEmail = `${unique('other')}@example.com`;
      const variants: unknown[] = [
        { ...body, email: otherEmail },
        { ...body, role: 'viewer' },
        { ...body, name: 'Someone Else' },
      ];
      for (const variant of variants) {
        const refused = await post('/v1/members', app.demoKey, variant, key);
        expect(refused.status, JSON.stringify(refused.body)).toBe(409);
        expect(refused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
        expect(refused.body.error.requestId).toBe(refused.headers.get('x-request-id'));
      }
      // The same key on another command is a different input too.
      const otherCommand = await post(
        '/v1/api-keys',
        app.demoKey,
        { name: 'k', scopes: ['ledger:read'] },
        key,
      );
      expect(otherCommand.status).toBe(409);
      expect(otherCommand.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');

      expect(await eventCount()).toBe(eventsBefore);
      const position = await latestPosition(app.demoOrgId, app.demoKey);
      expect(await members(app.demoKey, position)).toEqual(membersBefore);
      expect((await members(app.demoKey, position)).some((member) => member.email === otherEmail)).toBe(
        false,
      );

      // The key still answers its first request.
      const replay = await post('/v1/members', app.demoKey, body, key);
      expect(replay.status).toBe(201);
      expect(replay.body).toEqual(first.body);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
    });

    it('keys belong to an organization: the same key and input in another organization runs on its own', async () => {
      const adminEmail = `${unique('org2-admin')}@example.com`;
      const created = await post('/v1/organizations', app.adminKey, {
        name: 'Second Org',
        admin: { email: adminEmail, name: 'Second Admin', password: PASSWORD },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const orgId = created.body.orgId as string;
      const login = await app.request('POST', '/v1/auth/login', {
        body: { email: adminEmail, password: PASSWORD },
      });
      expect(login.status, JSON.stringify(login.body)).toBe(200);
      const otherToken = login.body.accessToken as string;

      const key = unique('per-org');
      const body = memberBody(`${unique('shared')}@example.com`);
      const inDemo = await post('/v1/members', app.demoKey, body, key);
      expect(inDemo.status).toBe(201);
      const eventsBefore = await eventCount();

      const inOther = await post('/v1/members', otherToken, body, key);
      expect(inOther.status, JSON.stringify(inOther.body)).toBe(201);
      expect(inOther.headers.get('idempotent-replayed')).not.toBe('true');
      expect(inOther.body.memberId).not.toBe(inDemo.body.memberId);
      expect(await eventCount()).toBe(eventsBefore + 1);
      const otherMembers = await members(otherToken, inOther.body.position as string);
      expect(otherMembers.map((member) => member.memberId)).toContain(inOther.body.memberId);
      const stream = await orgStream(orgId, otherToken);
      expect(stream.at(-1)).toMatchObject({ type: 'MemberCreated', idempotencyKey: key });

      // Each organization replays its own answer.
      const replayDemo = await post('/v1/members', app.demoKey, body, key);
      const replayOther = await post('/v1/members', otherToken, body, key);
      expect(replayDemo.body).toEqual(inDemo.body);
      expect(replayOther.body).toEqual(inOther.body);
      expect(replayDemo.headers.get('idempotent-replayed')).toBe('true');
      expect(replayOther.headers.get('idempotent-replayed')).toBe('true');
    });

    it('a refused command is replayed as the same refusal, even once it would succeed', async () => {
      const email = `${unique('taken')}@example.com`;
      const existing = await post('/v1/members', app.demoKey, memberBody(email));
      expect(existing.status).toBe(201);

      const key = unique('refusal');
      const refused = await post('/v1/members', app.demoKey, memberBody(email), key);
      expect(refused.status, JSON.stringify(refused.body)).toBe(409);
      expect(refused.body.error.code).toBe('ALREADY_EXISTS');

      // Free the email: a fresh request would now succeed.
      const renamed = await app.request('PATCH', `/v1/members/${existing.body.memberId as string}/profile`, {
        token: app.demoKey,
        body: { email: `${unique('moved')}@example.com` },
      });
      expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
      const eventsBefore = await eventCount();

      const replay = await post('/v1/members', app.demoKey, memberBody(email), key);
      expect(replay.status).toBe(409);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body.error.code).toBe(refused.body.error.code);
      expect(replay.body.error.message).toBe(refused.body.error.message);
      expect(replay.body.error.details).toEqual(refused.body.error.details);
      expect(await eventCount()).toBe(eventsBefore);
      const position = await latestPosition(app.demoOrgId, app.demoKey);
      expect((await members(app.demoKey, position)).some((member) => member.email === email)).toBe(false);
    });

    it('an input refused by validation is not kept: the key is free for the corrected request', async () => {
      const key = unique('invalid-first');
      const email = `${unique('corrected')}@example.com`;
      const invalid = await post('/v1/members', app.demoKey, { ...memberBody(email), role: 'emperor' }, key);
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.details.field).toBe('role');
      const corrected = await post('/v1/members', app.demoKey, memberBody(email), key);
      expect(corrected.status, JSON.stringify(corrected.body)).toBe(201);
      expect(corrected.headers.get('idempotent-replayed')).not.toBe('true');
    });

    it('generate_api_key: the secret is answered once; replays say "[shown once]" and keep it nowhere', async () => {
      const key = unique('api-key');
      const body = { name: unique('idempotent key'), scopes: ['ledger:read', 'audit:read'] };
      const eventsBefore = await eventCount();
      const answers = await Promise.all(
        Array.from({ length: CONCURRENT }, () => post('/v1/api-keys', app.demoKey, body, key)),
      );
      for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      const withSecret = answers.filter((answer) => String(answer.body.apiKey).startsWith('lk_'));
      expect(withSecret).toHaveLength(1);
      const original = withSecret[0]!;
      expect(original.headers.get('idempotent-replayed')).not.toBe('true');
      const secret = original.body.apiKey as string;
      for (const answer of answers) {
        if (answer === original) continue;
        expect(answer.headers.get('idempotent-replayed')).toBe('true');
        expect(answer.body).toEqual({ ...original.body, apiKey: '[shown once]' });
      }
      expect(await eventCount()).toBe(eventsBefore + 1);

      const later = await post('/v1/api-keys', app.demoKey, body, key);
      expect(later.body).toEqual({ ...original.body, apiKey: '[shown once]' });

      // The key made once works, and exactly one was made.
      const keys = await app.request(
        'GET',
        `/v1/api-keys?limit=200&consistentWith=${original.body.position as string}`,
        {
          token: app.demoKey,
        },
      );
      expect(keys.status).toBe(200);
      expect(itemsOf<{ name: string }>(keys).filter((item) => item.name === body.name)).toHaveLength(1);
      expect(JSON.stringify(keys.body)).not.toContain(secret);
      const used = await app.request('GET', '/v1/organization', { token: secret });
      expect(used.status).toBe(200);

      // Nowhere kept: not in the stored answers, not in the events.
      const { rows } = await app.server.runtime.db.query<{ response: unknown }>(
        'SELECT response FROM ll_idempotency_keys',
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(JSON.stringify(rows)).not.toContain(secret);
      expect(JSON.stringify(await orgStream(app.demoOrgId, app.demoKey))).not.toContain(secret);
    });

    it('keeps only a keyed fingerprint of the input: a password in it cannot be guessed from the table', async () => {
      const key = unique('keyed');
      const body = memberBody(`${unique('keyed')}@example.com`);
      expect((await post('/v1/members', app.demoKey, body, key)).status).toBe(201);
      const { rows } = await app.server.runtime.services.db.query<{ request_hash: string }>(
        'SELECT request_hash FROM ll_idempotency_keys WHERE org_id = $1 AND idempotency_key = $2',
        [app.demoOrgId, key],
      );
      const stored = rows[0]?.request_hash;
      expect(stored).toMatch(/^[0-9a-f]{64}$/);
      // What anyone could compute from a guessed password, without the platform's secret.
      const unkeyed = createHash('sha256')
        .update(`create_member\n${canonicalJson({ ...body })}`)
        .digest('hex');
      expect(stored).not.toBe(unkeyed);
      expect(stored).not.toContain(PASSWORD);
      // Still a fingerprint: the same input replays, another is refused.
      const again = await post('/v1/members', app.demoKey, body, key);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      const other = await post('/v1/members', app.demoKey, { ...body, name: 'Someone Else' }, key);
      expect(other.status).toBe(409);
    });

    it('still replays a key stored with the plain fingerprint used before keyed ones', async () => {
      const key = unique('legacy');
      const body = memberBody(`${unique('legacy')}@example.com`);
      const legacy = createHash('sha256')
        .update(`create_member\n${canonicalJson({ ...body })}`)
        .digest('hex');
      const first = { memberId: 'mem_01JLEGACYLEGACYLEGACYLEGAC', revision: '7', position: '1-1' };
      await app.server.runtime.services.db.query(
        `INSERT INTO ll_idempotency_keys (org_id, idempotency_key, command, request_hash, state, status_code,
           response, expires_at)
         VALUES ($1, $2, 'create_member', $3, 'done', 201, $4::jsonb, now() + interval '1 hour')`,
        [app.demoOrgId, key, legacy, JSON.stringify(first)],
      );
      const before = await eventCount();
      const retried = await post('/v1/members', app.demoKey, body, key);
      expect(retried.status).toBe(201);
      expect(retried.headers.get('idempotent-replayed')).toBe('true');
      expect(retried.body).toEqual(first);
      expect(await eventCount()).toBe(before);
      const other = await post('/v1/members', app.demoKey, { ...body, name: 'Someone Else' }, key);
      expect(other.status).toBe(409);
    });

    it('keeps keys at least 24 hours', async () => {
      const key = unique('kept');
      const answer = await post('/v1/members', app.demoKey, memberBody(`${unique('kept')}@example.com`), key);
      expect(answer.status).toBe(201);
      const { rows } = await app.server.runtime.db.query<{ seconds: number }>(
        `SELECT extract(epoch FROM expires_at - created_at)::float8 AS seconds
           FROM ll_idempotency_keys WHERE org_id = $1 AND idempotency_key = $2`,
        [app.demoOrgId, key],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]!.seconds).toBeGreaterThanOrEqual(24 * 60 * 60);
    });

    it('refuses a malformed Idempotency-Key, naming the header, and writes nothing; the longest allowed works', async () => {
      const eventsBefore = await eventCount();
      for (const bad of ['', 'k'.repeat(IDEMPOTENCY_KEY_LENGTH_MAX + 1), 'two words', 'naïve']) {
        const answer = await post(
          '/v1/members',
          app.demoKey,
          memberBody(`${unique('badkey')}@example.com`),
          bad,
        );
        expect(answer.status, `${JSON.stringify(bad)}: ${JSON.stringify(answer.body)}`).toBe(400);
        expect(answer.body.error.code).toBe('VALIDATION_FAILED');
        expect(answer.body.error.details.field).toBe('Idempotency-Key');
        expect(answer.body.error.message).toMatch(/^Idempotency-Key: /);
      }
      expect(await eventCount()).toBe(eventsBefore);
      const longest = await post(
        '/v1/members',
        app.demoKey,
        memberBody(`${unique('longkey')}@example.com`),
        'k'.repeat(IDEMPOTENCY_KEY_LENGTH_MAX),
      );
      expect(longest.status, JSON.stringify(longest.body)).toBe(201);
    });
  });
}
