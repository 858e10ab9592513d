/**
 * `ledgerline serve` with DATABASE_URL: the same server on real PostgreSQL, in a database of
 * its own that the test creates and drops.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { newEvent, testOrg } from '../support/events.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const run = serviceGate('serve on PostgreSQL', probe);

describe.skipIf(!run)('ledgerline serve with DATABASE_URL', () => {
  const database = `ledgerline_serve_${randomBytes(4).toString('hex')}`;
  let admin: pg.Client;
  let server: RunningServer;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${database}`;
    server = await startServer(
      loadConfig({
        DATABASE_URL: url.toString(),
        PORT: '0',
        LOG_LEVEL: 'silent',
        LEDGERLINE_DATA_DIR: '/nonexistent',
      }),
    );
  });

  afterAll(async () => {
    await server.close();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('uses PostgreSQL for events and read models, applies migrations, and is ready', async () => {
    expect(server.runtime.db.kind).toBe('postgres');
    expect(server.runtime.store.description).toContain(database);
    expect(server.runtime.migrations.applied.length).toBeGreaterThan(0);
    const ready = await fetch(`${server.address}/ready`);
    expect(ready.status).toBe(200);
    const stream = `${testOrg()}.thing-1`;
    await server.runtime.store.append(stream, [newEvent()], 'no_stream');
    expect((await server.runtime.store.verifyStream(stream)).ok).toBe(true);
  });

  it('never shows the database password', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://app:s3cret@db.example:5432/ledger' });
    expect(config.databaseUrl).toContain('s3cret');
    expect(server.runtime.db.description).not.toContain('s3cret');
  });
});
