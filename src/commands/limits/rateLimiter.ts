/**
 * Per-organization limits (SPEC §1, §3 step 3, §5.6): requests per minute and per day on every
 * command and query, whatever the protocol (REST, MCP, the live feed), and commands per month.
 * A request over a rate limit is refused with 429 RATE_LIMITED and `Retry-After` (seconds until
 * the window ends); a command over the quota with 402 QUOTA_EXCEEDED. Refused requests do not
 * count.
 *
 * The counts are shared by every process through PostgreSQL: one row per organization, limit
 * and fixed window in ll_rate_windows. So that a request does not cost a round trip, a process
 * leases units from the row in blocks — LEASE_LIMIT_DIVISOR-th of the limit, at most
 * LEASE_UNITS_MAX, at least one — with one `INSERT … ON CONFLICT DO UPDATE … RETURNING` for all
 * the windows it is short of, and spends them locally (a burst asks for as many units as it has
 * requests waiting, never more than the window has left as far as the process knows). What that
 * trades: units a process leased and did not spend before its window ended count as used, so
 * with N processes an organization may be refused up to N leases (N % of its limit) early;
 * never late. Small limits lease one unit at a time and are exact. A limit raised during a
 * window applies as soon as a process reads it (at once where the settings event reaches it,
 * within LIMITS_CACHE_MS elsewhere).
 */
import type { Database } from '../../adapters/db/database.js';
import { TtlCache } from '../../adapters/ttlCache.js';
import { LedgerlineError } from '../../domain/errors.js';
import type { OrganizationSettings, Plan } from '../../domain/tenancy/events.js';
import { effectiveLimits, PLAN_LIMITS, type Limits } from '../../domain/tenancy/plans.js';
import { windowOf, type LimitWindow } from './windows.js';

/** A lease is this fraction of the window's limit (1 %), so N processes waste at most N %. */
export const LEASE_LIMIT_DIVISOR = 100;
export const LEASE_UNITS_MAX = 1_000;
/** An organization's limits are re-read this often (and at once when its settings change here). */
export const LIMITS_CACHE_MS = 1_000;
export const LIMITS_CACHE_ENTRIES_MAX = 50_000;
/** Local lease entries (organization × window); the oldest go first. */
export const LEASES_MAX = 100_000;
/** Lease, spend, and lease again when others took the units meanwhile: at most this often. */
const ADMIT_ATTEMPTS_MAX = 10;
/** The events that change an organization's limits: `forget` acts on these alone. */
export const LIMITS_CACHE_EVENTS: ReadonlySet<string> = new Set([
  'OrganizationSettingsChanged',
  'OrganizationPlanChanged',
  'OrganizationCreated',
]);
/** Rows are kept a day past their window (for usage reading), then swept, this many at a time. */
const WINDOW_KEEP_MS = 24 * 60 * 60 * 1_000;
const SWEEP_EVERY_MS = 10 * 60 * 1_000;
const SWEEP_ROWS_MAX = 1_000;

export type Admission = 'request' | 'command';

interface Lease {
  windowStart: number;
  /** The limit the lease was taken under: a changed limit starts the lease afresh. */
  limit: number;
  /** Units leased and not yet spent. */
  remaining: number;
  /** The shared row is full: nothing more can be leased in this window. */
  exhausted: boolean;
  /** The row's count after this process's last lease: what is left is asked for, no more. */
  usedSeen: number;
}

interface Wanted {
  readonly kind: LimitWindow;
  readonly limit: number;
  readonly start: Date;
  readonly end: Date;
}

export class RateLimiter {
  private readonly limits = new TtlCache<Limits>(LIMITS_CACHE_MS, LIMITS_CACHE_ENTRIES_MAX);
  private readonly leases = new Map<string, Lease>();
  private readonly refilling = new Map<string, Promise<void>>();
  /** Requests of each organization waiting for units: a lease covers them all at once. */
  private readonly demand = new Map<string, number>();
  private readonly loading = new Map<string, Promise<Limits | undefined>>();
  private lastSweep = 0;

  constructor(private readonly db: Database) {}

  /** Counts one request (and, for a command, one command) or throws the refusal. */
  async admit(orgId: string, admission: Admission, now: Date): Promise<void> {
    const limits = await this.limitsOf(orgId);
    const wanted: Wanted[] = [];
    const add = (kind: LimitWindow, limit: number | null): void => {
      if (limit !== null) wanted.push({ kind, limit, ...windowOf(kind, now) });
    };
    add('minute', limits.requestsPerMinute);
    add('day', limits.requestsPerDay);
    if (admission === 'command') add('month', limits.commandsPerMonth);
    if (wanted.length === 0) return;

    for (let attempt = 0; ; attempt += 1) {
      const leases = wanted.map((want) => this.leaseOf(orgId, want));
      const full = wanted.find((_want, index) => {
        const lease = leases[index];
        return lease !== undefined && lease.remaining === 0 && lease.exhausted;
      });
      if (full) throw refusal(full, now);
      const short = wanted.filter((_want, index) => leases[index]?.remaining === 0);
      if (short.length === 0) {
        for (const lease of leases) lease.remaining -= 1;
        return;
      }
      // Others kept taking what was leased for this request: the window is all but full.
      const first = short[0];
      if (attempt >= ADMIT_ATTEMPTS_MAX && first) throw refusal(first, now);
      this.demand.set(orgId, (this.demand.get(orgId) ?? 0) + 1);
      try {
        await this.refill(orgId, short);
      } finally {
        const left = (this.demand.get(orgId) ?? 1) - 1;
        if (left <= 0) this.demand.delete(orgId);
        else this.demand.set(orgId, left);
      }
    }
  }

  /** Limits change with the organization's plan and settings: drop what is cached for them. */
  forget(events: readonly { type: string; orgId: string }[]): void {
    for (const event of events) {
      if (LIMITS_CACHE_EVENTS.has(event.type)) {
        this.limits.delete(event.orgId);
        for (const kind of ['minute', 'day', 'month'] as const) this.leases.delete(`${event.orgId}/${kind}`);
      }
    }
  }

  private async limitsOf(orgId: string): Promise<Limits> {
    const cached = this.limits.get(orgId);
    if (cached) return cached;
    // A burst of requests of one organization reads its row once.
    let loading = this.loading.get(orgId);
    if (!loading) {
      loading = this.loadLimits(orgId).finally(() => {
        this.loading.delete(orgId);
      });
      this.loading.set(orgId, loading);
    }
    // Not projected yet (created a moment ago): the smallest plan's limits until it is.
    return (await loading) ?? PLAN_LIMITS.free;
  }

  private async loadLimits(orgId: string): Promise<Limits | undefined> {
    const { rows } = await this.db.query<{ plan: Plan; settings: Partial<OrganizationSettings> }>(
      'SELECT plan, settings FROM rm_organizations WHERE org_id = $1',
      [orgId],
    );
    const row = rows[0];
    if (!row) return undefined;
    const limits = effectiveLimits(row.plan, row.settings);
    this.limits.set(orgId, limits);
    return limits;
  }

  private leaseOf(orgId: string, want: Wanted): Lease {
    const key = `${orgId}/${want.kind}`;
    const start = want.start.getTime();
    let lease = this.leases.get(key);
    if (lease?.windowStart !== start || lease.limit !== want.limit) {
      lease = { windowStart: start, limit: want.limit, remaining: 0, exhausted: false, usedSeen: 0 };
      this.leases.delete(key);
      if (this.leases.size >= LEASES_MAX) {
        const oldest = this.leases.keys().next();
        if (!oldest.done) this.leases.delete(oldest.value);
      }
      this.leases.set(key, lease);
    }
    return lease;
  }

  /** One round trip for every window short of units; concurrent callers share it. */
  private async refill(orgId: string, short: readonly Wanted[]): Promise<void> {
    const running = this.refilling.get(orgId);
    if (running) {
      await running;
      return;
    }
    const work = this.lease(orgId, short).finally(() => {
      this.refilling.delete(orgId);
    });
    this.refilling.set(orgId, work);
    await work;
  }

  private async lease(orgId: string, short: readonly Wanted[]): Promise<void> {
    // The usual block, or what the requests waiting now need when that is more: the grant is
    // capped by what is left in the window, and each waiting request spends one unit of it.
    // Never more than this process last saw left, so a full window is not counted far past its
    // limit (which would eat into a limit raised before the window ends).
    const waiting = this.demand.get(orgId) ?? 1;
    const units = short.map((want) => {
      const block = Math.max(waiting, Math.floor(want.limit / LEASE_LIMIT_DIVISOR));
      const left = Math.max(1, want.limit - this.leaseOf(orgId, want).usedSeen);
      return Math.min(LEASE_UNITS_MAX, block, left);
    });
    // The increment is never capped, so the row's value before it is `used - units`; a window
    // counted past its limit is simply full.
    const { rows } = await this.db.query<{ kind: LimitWindow; used: string }>(
      `INSERT INTO ll_rate_windows (org_id, kind, window_start, used, expires_at)
       SELECT $1, t.kind, t.window_start, t.units, t.expires_at
         FROM unnest($2::text[], $3::timestamptz[], $4::bigint[], $5::timestamptz[])
              AS t(kind, window_start, units, expires_at)
       ON CONFLICT (org_id, kind, window_start) DO UPDATE SET used = ll_rate_windows.used + EXCLUDED.used
       RETURNING kind, used::text`,
      [
        orgId,
        short.map((want) => want.kind),
        short.map((want) => want.start.toISOString()),
        units.map(String),
        short.map((want) => new Date(want.end.getTime() + WINDOW_KEEP_MS).toISOString()),
      ],
    );
    for (const row of rows) {
      const index = short.findIndex((want) => want.kind === row.kind);
      const want = short[index];
      const asked = units[index];
      if (!want || asked === undefined) continue;
      const used = Number(row.used);
      const before = used - asked;
      const granted = Math.min(asked, Math.max(0, want.limit - before));
      const lease = this.leaseOf(orgId, want);
      lease.remaining += granted;
      lease.usedSeen = used;
      if (used >= want.limit) lease.exhausted = true;
    }
    this.sweepNowAndThen();
  }

  /** Old windows' rows go, a bounded batch now and then; nobody waits for it. */
  private sweepNowAndThen(): void {
    const now = Date.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    void this.db
      .query(
        `DELETE FROM ll_rate_windows WHERE (org_id, kind, window_start) IN (
           SELECT org_id, kind, window_start FROM ll_rate_windows WHERE expires_at < now() LIMIT ${SWEEP_ROWS_MAX})`,
      )
      .catch(() => undefined);
  }
}

function refusal(want: Wanted, now: Date): LedgerlineError {
  const resetsAt = want.end.toISOString();
  const retryAfterSeconds = Math.max(1, Math.ceil((want.end.getTime() - now.getTime()) / 1_000));
  if (want.kind === 'month') {
    return new LedgerlineError(
      'QUOTA_EXCEEDED',
      `The organization's ${want.limit} commands for this month are used up; the quota renews at ${resetsAt}.`,
      { limit: want.limit, period: 'month', resetsAt },
    );
  }
  return new LedgerlineError(
    'RATE_LIMITED',
    `The organization's limit of ${want.limit} requests per ${want.kind} is reached; retry in ${retryAfterSeconds} s.`,
    { limit: want.limit, window: want.kind, retryAfterSeconds, resetsAt },
  );
}
