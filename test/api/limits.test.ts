/**
 * Per-organization limits over real HTTP on two servers sharing one PostgreSQL schema (two
 * processes' worth of state): the organization's requests are counted together and refused at
 * the limit on both with 429 RATE_LIMITED and a sane Retry-After; its commands stop at the
 * monthly quota with 402 QUOTA_EXCEEDED while its queries go on; another organization is not
 * affected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePosition } from '../../src/adapters/eventstore/position.js';
import { startTestApp, type TestApp, type TestResponse } from '../support/app.js';
import { caughtUp, until } from '../support/feedChecks.js';
import { probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const run = serviceGate('per-organization limits across two servers (PostgreSQL)', probe);
const DAY_LIMIT = 12;
/** A test counting in today's window must not straddle midnight (UTC). */
const MIDNIGHT_MARGIN_MS = 2 * 60_000;

describe.skipIf(!run)('per-organization limits shared by two servers', () => {
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    // Access tokens signed by one server are accepted by the other (one secret, as in production).
    const env = { LEDGERLINE_JWT_SECRET: 'limits-test-secret-'.padEnd(48, 'x') };
    first = await startTestApp('postgres', { env, limits: true });
    second = await startTestApp('postgres', { env, limits: true, sameSchemaAs: first });
    await caughtUp(first);
    await caughtUp(second);
    await until(() => {
      const now = Date.now();
      const midnight = Math.ceil(now / 86_400_000) * 86_400_000;
      return midnight - now > MIDNIGHT_MARGIN_MS && now % 86_400_000 > MIDNIGHT_MARGIN_MS;
    }, 'a time away from midnight');
  });

  afterAll(async () => {
    await second.close();
    await first.close();
  });

  /** An organization with these settings, seen by both servers, and its admin's access token. */
  async function organization(settings: Record<string, number>): Promise<{ orgId: string; token: string }> {
    const email = `limits-${Math.random().toString(36).slice(2, 10)}@limits.test`;
    const password = 'correct horse battery staple';
    const created = await first.request('POST', '/v1/organizations', {
      token: first.adminKey,
      body: { name: 'Limited', plan: 'pro', settings, admin: { email, name: 'Admin', password } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const position = parsePosition(created.body.position as string);
    for (const app of [first, second]) {
      expect(await app.server.runtime.services.consistency.waitFor(position, 30_000)).toBe(true);
    }
    const login = await first.request('POST', '/v1/auth/login', { body: { email, password } });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    return { orgId: created.body.orgId as string, token: login.body.accessToken as string };
  }

  it('refuses the combined count at the limit on both servers, with Retry-After; another organization goes on', async () => {
    const { token } = await organization({ rateLimitPerDay: DAY_LIMIT });
    const answers: TestResponse[] = [];
    for (let index = 0; index < DAY_LIMIT; index += 1) {
      const app = index % 2 === 0 ? first : second;
      answers.push(await app.request('GET', '/v1/organization', { token }));
    }
    expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: DAY_LIMIT }, () => 200));

    for (const app of [first, second]) {
      const refused = await app.request('GET', '/v1/organization', { token });
      expect(refused.status).toBe(429);
      expect(refused.body.error).toMatchObject({
        code: 'RATE_LIMITED',
        details: { limit: DAY_LIMIT, window: 'day' },
      });
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(86_400);
      expect(retryAfter).toBe(refused.body.error.details.retryAfterSeconds);
      // Commands are requests too.
      const command = await app.request('PATCH', '/v1/organization/settings', {
        token,
        body: { defaultCurrency: 'USD' },
      });
      expect(command.status).toBe(429);
    }

    const demo = await second.request('GET', '/v1/organization', { token: second.demoKey });
    expect(demo.status).toBe(200);
  });

  it('stops commands at the monthly quota with 402, and lets queries through', async () => {
    const { token } = await organization({ monthlyCommandQuota: 3 });
    const statuses: number[] = [];
    for (let index = 0; index < 5; index += 1) {
      const app = index % 2 === 0 ? first : second;
      const answer = await app.request('POST', '/v1/ledger/accounts', {
        token,
        body: { address: `assets:quota:a${index}`, asset: 'KES', type: 'asset' },
      });
      statuses.push(answer.status);
      if (answer.status === 402) {
        expect(answer.body.error).toMatchObject({
          code: 'QUOTA_EXCEEDED',
          details: { limit: 3, period: 'month' },
        });
      }
    }
    expect(statuses).toEqual([201, 201, 201, 402, 402]);
    expect((await second.request('GET', '/v1/organization', { token })).status).toBe(200);
  });
});
