/**
 * Cross-node cache invalidation through the NATS fan-out: two nodes on one PostgreSQL schema
 * and one nats-server of this test's own. Node B runs the projector and publishes committed
 * events; node A runs neither and has its vault answer cached. A rotation (and a revocation)
 * made on B reaches A over JetStream, A's bus subscription feeds `vault.forget`, and A answers
 * the new credentials (or CREDENTIALS_REVOKED) as soon as its vault has been told.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../src/adapters/http/authenticate.js';
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
import { loadConfig } from '../../src/config.js';
import { isLedgerlineError } from '../../src/domain/errors.js';
import { dropSchema, uniqueSchemaName } from '../support/databases.js';
import { NATS_SERVER_BINARY, startPrivateNats, uniqueBusNames, type PrivateNats } from '../support/nats.js';
import { sampleCredentials } from '../support/providerCredentials.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';

/** Generous: other suites share the machine; an event this late is merely slow. */
const HEARD_WITHIN_MS = 30_000;

const run =
  serviceGate('the vault across nodes through NATS (PostgreSQL)', await probePostgres()) &&
  serviceGate('the vault across nodes through a private nats-server', {
    available: existsSync(NATS_SERVER_BINARY),
    reason: `no nats-server binary at ${NATS_SERVER_BINARY}`,
  });

describe.skipIf(!run)('the vault’s cache across nodes, invalidated through NATS', () => {
  const schema = uniqueSchemaName('vault_nats');
  const names = uniqueBusNames('vault');
  let nats: PrivateNats;
  let dataDir: string;
  let a: Runtime;
  let b: Runtime;
  let orgId: string;
  let principal: Principal;

  async function command(node: Runtime, definition: AnyCommand, input: unknown): Promise<void> {
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
  }

  /**
   * Resolves once node A's vault has been told, through its bus subscription, of an event of
   * `type`. The telling itself is watched: each NATS subscription is a consumer of its own, so
   * another listener hearing the event says nothing of when A's vault did.
   */
  function forgottenOnA(type: string): Promise<void> {
    const vault = a.services.vault;
    const forget = vault.forget.bind(vault);
    return new Promise((resolve, reject) => {
      const restore = (): void => {
        clearTimeout(timer);
        vault.forget = forget;
      };
      const timer = setTimeout(() => {
        restore();
        reject(new Error(`node A's vault was not told of ${type} within ${HEARD_WITHIN_MS} ms`));
      }, HEARD_WITHIN_MS);
      vault.forget = (events) => {
        forget(events);
        if (events.some((event) => event.type === type && event.orgId === orgId)) {
          restore();
          resolve();
        }
      };
    });
  }

  beforeAll(async () => {
    nats = await startPrivateNats();
    dataDir = await mkdtemp(join(tmpdir(), 'ledgerline-vault-nats-'));
    const config = loadConfig({
      DATABASE_URL: POSTGRES_URL,
      LEDGERLINE_DATABASE_SCHEMA: schema,
      LEDGERLINE_MASTER_KEY: randomBytes(32).toString('base64'),
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_PASSWORD_COST: '10',
      LOG_LEVEL: 'silent',
      NATS_URL: nats.url,
      LEDGERLINE_NATS_STREAM: names.stream,
      LEDGERLINE_NATS_SUBJECT_PREFIX: names.prefix,
    });
    b = await openRuntime(config, { startProjector: true, startPublisher: true });
    a = await openRuntime(config, { startProjector: false, startPublisher: false });
    const booted = await bootstrap(b.services);
    if (!booted) throw new Error('a fresh schema must bootstrap');
    orgId = booted.demo.orgId;
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
    await nats.dispose();
    await rm(dataDir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  it('a rotation and a revocation made on one node are answered on the other once it hears them', async () => {
    const first = sampleCredentials('mpesa');
    await command(b, setProviderCredentials, { provider: 'mpesa', credentials: first });
    const cached = await a.services.vault.credentials(orgId, 'mpesa');
    expect(cached).toEqual(first);
    expect(await a.services.vault.credentials(orgId, 'mpesa')).toBe(cached);

    const second = sampleCredentials('mpesa');
    const rotationHeard = forgottenOnA('ProviderCredentialsRotated');
    await command(b, rotateProviderCredentials, { provider: 'mpesa', credentials: second });
    await rotationHeard;
    expect(await a.services.vault.credentials(orgId, 'mpesa')).toEqual(second);

    const revocationHeard = forgottenOnA('ProviderCredentialsRevoked');
    await command(b, revokeProviderCredentials, { provider: 'mpesa' });
    await revocationHeard;
    let code = 'no error';
    try {
      await a.services.vault.credentials(orgId, 'mpesa');
    } catch (error) {
      code = isLedgerlineError(error) ? error.code : String(error);
    }
    expect(code).toBe('CREDENTIALS_REVOKED');
  });
});
