/**
 * The vault across nodes, on one real PostgreSQL schema: two runtimes as two API nodes (one
 * running the projector, one not), and the built CLI in a child process shredding a key.
 *
 * - Each node caches decrypted credentials; a rotation made on one node is answered at once
 *   there, and on the other as soon as its projector has passed the rotation (its onCommitted
 *   hook feeds `vault.forget`).
 * - A node with neither projector nor fan-out keeps its cached answer (it is a cache) until
 *   `forget(events)` is fed the committed events — the hook the NATS fan-out calls.
 * - `ledgerline admin shred-org-key` destroys the key; every node then refuses with
 *   CREDENTIALS_SHREDDED once it has heard of the shred.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../src/adapters/http/authenticate.js';
import { DataKeyStore } from '../../src/adapters/crypto/vaultKeys.js';
import { parsePosition } from '../../src/adapters/eventstore/position.js';
import type { Position } from '../../src/adapters/eventstore/port.js';
import { newId } from '../../src/adapters/ids.js';
import { bootstrap } from '../../src/cli/admin.js';
import { openRuntime, type Runtime } from '../../src/cli/runtime.js';
import type { AnyCommand } from '../../src/commands/catalog.js';
import { executeCommand } from '../../src/commands/pipeline.js';
import type { Principal } from '../../src/commands/principal.js';
import {
  revokeProviderCredentials,
  rotateProviderCredentials,
  setProviderCredentials,
} from '../../src/commands/vault/commands.js';
import { ProviderVault } from '../../src/commands/vault/providerVault.js';
import { loadConfig } from '../../src/config.js';
import { isLedgerlineError } from '../../src/domain/errors.js';
import { dropSchema, uniqueSchemaName } from '../support/databases.js';
import { runCli } from '../support/cli.js';
import { sampleCredentials } from '../support/providerCredentials.js';
import { findSecrets, registerSecret } from '../support/secrets.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';

/** Generous: other suites share the machine; a projector that needs this long is merely slow. */
const CATCH_UP_MS = 30_000;

const run = serviceGate('the vault across runtimes (PostgreSQL)', await probePostgres());

async function errorCodeOf(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (error) {
    if (isLedgerlineError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

describe.skipIf(!run)('the vault across two runtimes on one PostgreSQL schema', () => {
  const schema = uniqueSchemaName('vault_nodes');
  const masterKey = registerSecret(randomBytes(32).toString('base64'), 'master key');
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let a: Runtime;
  let b: Runtime;
  let orgId: string;
  let principal: Principal;

  async function command(node: Runtime, definition: AnyCommand, input: unknown): Promise<Position> {
    const answer = await executeCommand(definition, input, {
      principal,
      services: node.services,
      now: node.services.clock(),
      requestId: newId('req'),
      idempotencyKey: null,
      clientAddress: '127.0.0.1',
      channel: { kind: 'rest' },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(findSecrets(JSON.stringify(answer.body), 'answer')).toEqual([]);
    return parsePosition(String(answer.body['position']), 'position');
  }

  /** Node B has projected `position` (and so told its vault what changed). */
  async function bCaughtUp(position: Position): Promise<void> {
    expect(await b.projector?.waitFor(position, CATCH_UP_MS)).toBe(true);
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ledgerline-vault-nodes-'));
    env = {
      DATABASE_URL: POSTGRES_URL,
      LEDGERLINE_DATABASE_SCHEMA: schema,
      LEDGERLINE_MASTER_KEY: masterKey,
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_PASSWORD_COST: '10',
      LOG_LEVEL: 'silent',
      EVENTSTORE_URL: '',
      NATS_URL: '',
    };
    const config = loadConfig(env);
    a = await openRuntime(config, { startProjector: false });
    b = await openRuntime(config, { startProjector: true });
    const booted = await bootstrap(a.services);
    if (!booted) throw new Error('a fresh schema must bootstrap');
    orgId = booted.demo.orgId;
    registerSecret(booted.demo.apiKey, 'demo admin key');
    registerSecret(booted.platform.apiKey, 'platform admin key');
    const authenticated = await authenticate(
      `Bearer ${booted.demo.apiKey}`,
      b.services,
      { kind: 'rest' },
      'req_t',
    );
    if (!authenticated) throw new Error('the demo key must authenticate');
    principal = authenticated;
  });

  afterAll(async () => {
    await a.close();
    await b.close();
    await rm(dataDir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  it('a rotation on one node is answered at once there, and on the other once its projector passed it', async () => {
    const first = sampleCredentials('alpaca');
    const setAt = await command(a, setProviderCredentials, { provider: 'alpaca', credentials: first });
    expect(await b.services.vault.credentials(orgId, 'alpaca')).toEqual(first);
    await bCaughtUp(setAt);
    const cached = await b.services.vault.credentials(orgId, 'alpaca');
    expect(await b.services.vault.credentials(orgId, 'alpaca')).toBe(cached); // from B's cache

    const second = sampleCredentials('alpaca');
    const rotatedAt = await command(a, rotateProviderCredentials, {
      provider: 'alpaca',
      credentials: second,
    });
    expect(await a.services.vault.credentials(orgId, 'alpaca')).toEqual(second);
    await bCaughtUp(rotatedAt);
    expect(await b.services.vault.credentials(orgId, 'alpaca')).toEqual(second);

    const revokedAt = await command(a, revokeProviderCredentials, { provider: 'alpaca' });
    await bCaughtUp(revokedAt);
    expect(await errorCodeOf(() => b.services.vault.credentials(orgId, 'alpaca'))).toBe(
      'CREDENTIALS_REVOKED',
    );
  });

  it('a node that hears nothing keeps its cached answer until forget() is fed the events (the fan-out hook)', async () => {
    const keys = new DataKeyStore(a.db, Buffer.from(masterKey, 'base64'), () => newId('dk'));
    const deaf = new ProviderVault(a.store, keys, { cacheMs: 3_600_000 });
    const first = sampleCredentials('plaid');
    await command(a, setProviderCredentials, { provider: 'plaid', credentials: first });
    expect(await deaf.credentials(orgId, 'plaid')).toEqual(first);
    const second = sampleCredentials('plaid');
    const rotatedAt = await command(b, rotateProviderCredentials, { provider: 'plaid', credentials: second });
    expect(await deaf.credentials(orgId, 'plaid')).toEqual(first);
    const committed = await a.store.readAll({ maxCount: 4096 });
    const upToRotation = committed.events.filter(
      (event) =>
        event.position.commit < rotatedAt.commit ||
        (event.position.commit === rotatedAt.commit && event.position.prepare <= rotatedAt.prepare),
    );
    deaf.forget(upToRotation);
    expect(await deaf.credentials(orgId, 'plaid')).toEqual(second);
  });

  it('`ledgerline admin shred-org-key` destroys the key; each node refuses once it has heard', async () => {
    const stripe = sampleCredentials('stripe');
    await command(a, setProviderCredentials, { provider: 'stripe', credentials: stripe });
    expect(await b.services.vault.credentials(orgId, 'stripe')).toEqual(stripe);
    expect(await a.services.vault.credentials(orgId, 'stripe')).toEqual(stripe);

    const missing = await runCli(['admin', 'shred-org-key', '--org', `org_${'0'.repeat(26)}`], env);
    expect(missing.code, missing.stderr).toBe(1);
    expect(missing.stderr).toMatch(/No organization/);

    const shred = await runCli(['admin', 'shred-org-key', '--org', orgId], env);
    expect(shred.code, shred.stderr).toBe(0);
    const report = JSON.parse(shred.stdout) as {
      shreddedNow: string[];
      recorded: string[];
      position: string;
    };
    expect(report.shreddedNow).toHaveLength(1);
    expect(report.recorded).toEqual(report.shreddedNow);
    expect(findSecrets(shred.stdout + shred.stderr, 'CLI output')).toEqual([]);

    const shreddedAt = parsePosition(report.position, 'position');
    await bCaughtUp(shreddedAt);
    for (const provider of ['stripe', 'plaid'] as const) {
      expect(await errorCodeOf(() => b.services.vault.credentials(orgId, provider)), provider).toBe(
        'CREDENTIALS_SHREDDED',
      );
    }
    // Node A runs no projector and no fan-out here: told by forget(), it refuses too.
    a.services.vault.forget((await a.store.readAll({ maxCount: 4096 })).events);
    expect(await errorCodeOf(() => a.services.vault.credentials(orgId, 'stripe'))).toBe(
      'CREDENTIALS_SHREDDED',
    );

    const again = await runCli(['admin', 'shred-org-key', '--org', orgId], env);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ shreddedNow: [], recorded: [] });
  });
});
