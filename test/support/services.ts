/**
 * Service-backed suites need real PostgreSQL and NATS. Outside CI a suite whose service is
 * unreachable reports itself skipped with the reason; in CI (`LEDGERLINE_REQUIRE_SERVICES=1`,
 * set by .ci/run) the same suite fails instead, so a missing service can never pass quietly.
 */
import pg from 'pg';

export const REQUIRE_SERVICES = process.env['LEDGERLINE_REQUIRE_SERVICES'] === '1';
export const POSTGRES_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const PROBE_TIMEOUT_MS = 3_000;

export interface ServiceProbe {
  readonly available: boolean;
  readonly reason: string;
}

export async function probePostgres(): Promise<ServiceProbe> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { available: true, reason: '' };
  } catch (error) {
    return { available: false, reason: `PostgreSQL at ${POSTGRES_URL}: ${(error as Error).message}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** True when the suite may run; throws in CI when the service is missing. */
export function serviceGate(suite: string, probe: ServiceProbe): boolean {
  if (probe.available) return true;
  if (REQUIRE_SERVICES) {
    throw new Error(`${suite} requires a service that is not reachable: ${probe.reason}`);
  }
  console.warn(`[skipped] ${suite}: ${probe.reason}`);
  return false;
}
