/**
 * `ledgerline serve` with EVENTSTORE_URL: events in EventStoreDB (here the emulator), read
 * models in PGlite. The whole spine runs across the two: commands append to EventStoreDB, the
 * projector reads `$all` back into the read models, queries answer from them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { startEsdbEmulator, type EsdbEmulator } from '../esdb-emulator/emulator.js';

describe('ledgerline serve with EVENTSTORE_URL (emulator)', () => {
  let emulator: EsdbEmulator;
  let server: RunningServer;
  let dataDir: string;

  beforeAll(async () => {
    emulator = await startEsdbEmulator();
    dataDir = await mkdtemp(join(tmpdir(), 'ledgerline-esdb-'));
    server = await startServer(
      loadConfig({
        EVENTSTORE_URL: emulator.connectionString,
        PORT: '0',
        LOG_LEVEL: 'silent',
        LEDGERLINE_DATA_DIR: dataDir,
        LEDGERLINE_PASSWORD_COST: '10',
      }),
    );
  });

  afterAll(async () => {
    await server.close();
    await emulator.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps its events in EventStoreDB and its read models in PGlite, and answers from both', async () => {
    expect(server.runtime.store.description).toContain('EventStoreDB');
    expect(server.runtime.db.kind).toBe('pglite');
    expect(server.bootstrapped).not.toBeNull();
    const { platform, demo } = server.bootstrapped!;
    expect(emulator.eventCount).toBeGreaterThan(0);

    const created = await fetch(`${server.address}/v1/organizations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${platform.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'On EventStoreDB' }),
    });
    expect(created.status).toBe(201);
    const { position } = (await created.json()) as { position: string };
    const listed = await fetch(`${server.address}/v1/organizations?consistentWith=${position}`, {
      headers: { authorization: `Bearer ${platform.apiKey}` },
    });
    const names = ((await listed.json()) as { items: { name: string }[] }).items.map((item) => item.name);
    expect(names).toEqual(expect.arrayContaining(['Demo organization', 'On EventStoreDB']));

    const stream = await fetch(
      `${server.address}/v1/audit/streams/${demo.orgId}.organization-${demo.orgId}`,
      {
        headers: { authorization: `Bearer ${demo.apiKey}` },
      },
    );
    const events = ((await stream.json()) as { events: { type: string }[] }).events;
    expect(events.map((event) => event.type)).toEqual([
      'OrganizationCreated',
      'MemberCreated',
      'ApiKeyCreated',
    ]);
    expect((await server.runtime.store.verifyStream(`${demo.orgId}.organization-${demo.orgId}`)).ok).toBe(
      true,
    );
  });
});
