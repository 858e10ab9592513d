/**
 * The rate limiter on real databases: two limiters on one database (two processes) share an
 * organization's limits exactly — the combined count is refused at the limit, never before it
 * for small limits, and never after it for large ones, where leases make it early by at most
 * a lease per process; refusals name the window and say when to retry; windows roll over;
 * another organization is unaffected; a settings change is seen at once after `forget`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/adapters/db/database.js';
import { LedgerlineError } from '../../src/domain/errors.js';
import { effectiveLimits, PLAN_LIMITS } from '../../src/domain/tenancy/plans.js';
import { LEASE_LIMIT_DIVISOR, RateLimiter, type Admission } from '../../src/commands/limits/rateLimiter.js';
import { freshPglite, freshPostgres, type TestDatabase } from '../support/databases.js';
import { testOrg } from '../support/events.js';
import { probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const DATABASES = [
  { name: 'PGlite', run: true, open: () => freshPglite() },
  {
    name: 'PostgreSQL',
    run: serviceGate('rate limiter on PostgreSQL', probe),
    open: () => freshPostgres('limits'),
  },
] as const;

const NOON = new Date('2026-11-21T12:00:10Z');

async function organization(db: Database, settings: Record<string, unknown>, plan = 'free'): Promise<string> {
  const orgId = testOrg();
  await db.query(
    `INSERT INTO rm_organizations (org_id, name, plan, status, settings, created_at, updated_at)
     VALUES ($1, 'Limits', $2, 'active', $3, now(), now())`,
    [orgId, plan, JSON.stringify({ defaultCurrency: 'KES', ...settings })],
  );
  return orgId;
}

/** Fires `count` admissions at once, spread over the limiters; answers how many got through. */
async function burst(
  limiters: readonly RateLimiter[],
  orgId: string,
  count: number,
  admission: Admission,
  now: Date,
): Promise<{ admitted: number; refusals: LedgerlineError[] }> {
  const results = await Promise.allSettled(
    Array.from({ length: count }, (_, index) =>
      limiters[index % limiters.length]!.admit(orgId, admission, now),
    ),
  );
  const refusals = results.flatMap((result) => {
    if (result.status === 'fulfilled') return [];
    if (!(result.reason instanceof LedgerlineError)) throw result.reason;
    return [result.reason];
  });
  return { admitted: count - refusals.length, refusals };
}

for (const { name, run, open } of DATABASES) {
  describe.skipIf(!run)(`the rate limiter on ${name}`, () => {
    let database: TestDatabase;
    let one: RateLimiter;
    let two: RateLimiter;

    beforeAll(async () => {
      database = await open();
      one = new RateLimiter(database.db);
      two = new RateLimiter(database.db);
    });

    afterAll(async () => {
      await database.dispose();
    });

    it('shares a small per-minute limit between two processes exactly, and says when to retry', async () => {
      const orgId = await organization(database.db, { rateLimitPerMinute: 40 });
      const { admitted, refusals } = await burst([one, two], orgId, 70, 'request', NOON);
      expect(admitted).toBe(40);
      expect(refusals).toHaveLength(30);
      expect(refusals[0]).toMatchObject({
        code: 'RATE_LIMITED',
        status: 429,
        details: { limit: 40, window: 'minute', retryAfterSeconds: 50, resetsAt: '2026-11-21T12:01:00.000Z' },
      });
      // Another organization is not touched by it.
      const other = await organization(database.db, { rateLimitPerMinute: 40 });
      expect((await burst([one, two], other, 10, 'request', NOON)).admitted).toBe(10);
      // The next minute is a new window.
      const later = new Date('2026-11-21T12:01:00Z');
      expect((await burst([one, two], orgId, 40, 'request', later)).admitted).toBe(40);
    });

    it('refuses a large limit never after it, and early by at most one lease per process', async () => {
      const limit = 3_000;
      const orgId = await organization(database.db, { rateLimitPerMinute: limit });
      let admitted = 0;
      for (let round = 0; round < 8; round += 1) {
        admitted += (await burst([one, two], orgId, 500, 'request', NOON)).admitted;
      }
      expect(admitted).toBeLessThanOrEqual(limit);
      expect(admitted).toBeGreaterThanOrEqual(limit - 2 * (limit / LEASE_LIMIT_DIVISOR));
    });

    it('counts requests per day, and commands per month as a quota (402)', async () => {
      const daily = await organization(database.db, { rateLimitPerDay: 7 });
      const day = await burst([one, two], daily, 9, 'request', NOON);
      expect(day.admitted).toBe(7);
      expect(day.refusals[0]).toMatchObject({
        code: 'RATE_LIMITED',
        details: { window: 'day', retryAfterSeconds: 43_190 },
      });

      const quota = await organization(database.db, { monthlyCommandQuota: 5 });
      const commands = await burst([one, two], quota, 8, 'command', NOON);
      expect(commands.admitted).toBe(5);
      expect(commands.refusals[0]).toMatchObject({
        code: 'QUOTA_EXCEEDED',
        status: 402,
        details: { limit: 5, period: 'month', resetsAt: '2026-12-01T00:00:00.000Z' },
      });
      // Queries are requests, not commands: the quota does not stop them.
      expect((await burst([one], quota, 3, 'request', NOON)).admitted).toBe(3);
    });

    it('sees a raised limit at once after forgetting, and leaves enterprise organizations unlimited', async () => {
      const orgId = await organization(database.db, { rateLimitPerMinute: 3 });
      expect((await burst([one], orgId, 5, 'request', NOON)).admitted).toBe(3);
      await database.db.query(
        `UPDATE rm_organizations SET settings = settings || '{"rateLimitPerMinute": 10}' WHERE org_id = $1`,
        [orgId],
      );
      one.forget([{ type: 'OrganizationSettingsChanged', orgId }]);
      expect((await burst([one], orgId, 10, 'request', NOON)).admitted).toBe(7);

      const unlimited = await organization(database.db, {}, 'enterprise');
      expect((await burst([one, two], unlimited, 300, 'command', NOON)).admitted).toBe(300);
    });
  });
}

describe('plan limits', () => {
  it('take the organization’s settings over the plan’s defaults', () => {
    expect(effectiveLimits('free', {})).toEqual(PLAN_LIMITS.free);
    expect(
      effectiveLimits('pro', { rateLimitPerMinute: 5, rateLimitPerDay: null, monthlyCommandQuota: 9 }),
    ).toEqual({
      requestsPerMinute: 5,
      requestsPerDay: PLAN_LIMITS.pro.requestsPerDay,
      commandsPerMonth: 9,
    });
    expect(effectiveLimits('enterprise', {})).toEqual({
      requestsPerMinute: null,
      requestsPerDay: null,
      commandsPerMonth: null,
    });
  });
});
