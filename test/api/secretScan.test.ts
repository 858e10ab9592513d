/**
 * No secret in plain text anywhere it could be kept (SPEC §1, HELPERS non-negotiables): this
 * file drives every secret-bearing surface end to end over real HTTP — logging in (and failing
 * to), refreshing, logging out, making and using API keys, a bad bearer token, provider
 * credentials set / rotated / revoked / sent wrong / shredded, idempotent replays — with every
 * log line captured at trace level, registering each secret as it goes (test/support/secrets.ts).
 * Then it reads every row of every table of the schema (events, read models, idempotency
 * answers, keys, checkpoints, whatever exists) and every log line, and finds none of them — as
 * written, base64, base64url, hex or JSON-escaped. On PGlite and on real PostgreSQL.
 *
 * The scan is shown not to be blind: a row planted with one secret's base64 is found.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS, type Provider } from '../../src/domain/vault/providers.js';
import { shredOrganizationKey } from '../../src/cli/vaultAdmin.js';
import { startTestApp, type Backend, type TestApp, type TestResponse } from '../support/app.js';
import { sampleCredentials } from '../support/providerCredentials.js';
import {
  findSecrets,
  LogCapture,
  registeredSecretCount,
  registerSecret,
  scanSchema,
} from '../support/secrets.js';
import { probePostgres, serviceGate } from '../support/services.js';

const pgProbe = await probePostgres();
const BACKENDS: readonly { backend: Backend; run: boolean }[] = [
  { backend: 'pglite', run: true },
  { backend: 'postgres', run: serviceGate('secret scan on PostgreSQL', pgProbe) },
];

function describeResponse(response: TestResponse): string {
  return `${response.status} ${JSON.stringify(response.body)}`;
}

function secretText(label: string): string {
  return registerSecret(`${label}-${randomBytes(12).toString('base64url')}`, label);
}

for (const { backend, run } of BACKENDS) {
  describe.skipIf(!run)(`no secret in plain text on ${backend}`, () => {
    let app: TestApp;
    const logs = new LogCapture();
    /** Answers that must never carry a secret (everything but the ones that hand one out). */
    const answers: TestResponse[] = [];

    async function send(
      method: string,
      path: string,
      options: Parameters<TestApp['request']>[2] = {},
    ): Promise<TestResponse> {
      const response = await app.request(method, path, options);
      answers.push(response);
      return response;
    }

    async function settle(position: string, token: string): Promise<void> {
      const response = await app.request('GET', `/v1/organization?consistentWith=${position}`, { token });
      expect(response.status, describeResponse(response)).toBe(200);
    }

    beforeAll(async () => {
      app = await startTestApp(backend, { logLevel: 'trace', logStream: logs });
      registerSecret(app.adminKey, 'platform admin key');
      registerSecret(app.demoKey, 'demo admin key');
    });

    afterAll(async () => {
      await app.close();
    });

    it('drives every secret-bearing surface, then finds no secret in any table, log line or answer', async () => {
      // An organization with its first admin, whose password is a secret.
      const password = secretText('admin password');
      const email = `scan-${randomBytes(4).toString('hex')}@scan.test`;
      const created = await app.request('POST', '/v1/organizations', {
        token: app.adminKey,
        body: { name: 'Secret Scan', admin: { email, name: 'Scan Admin', password } },
      });
      expect(created.status, describeResponse(created)).toBe(201);
      const orgId = created.body.orgId as string;
      await settle(created.body.position as string, app.adminKey);

      // Logging in, wrongly and rightly; refreshing; a spent refresh token presented again.
      const wrong = await send('POST', '/v1/auth/login', {
        body: { email, password: secretText('wrong password') },
      });
      expect(wrong.status).toBe(401);
      const login = await app.request('POST', '/v1/auth/login', { body: { email, password } });
      expect(login.status, describeResponse(login)).toBe(200);
      const access = registerSecret(login.body.accessToken as string, 'access token');
      const refresh = registerSecret(login.body.refreshToken as string, 'refresh token');
      const refreshed = await app.request('POST', '/v1/auth/refresh', { body: { refreshToken: refresh } });
      expect(refreshed.status, describeResponse(refreshed)).toBe(200);
      const token = registerSecret(refreshed.body.accessToken as string, 'refreshed access token');
      registerSecret(refreshed.body.refreshToken as string, 'second refresh token');
      const reused = await send('POST', '/v1/auth/refresh', { body: { refreshToken: refresh } });
      expect(reused.status).toBe(401);
      const forged = await send('POST', '/v1/auth/refresh', {
        body: { refreshToken: secretText('rt_forged') },
      });
      expect(forged.status).toBeGreaterThanOrEqual(400);
      const badBearer = await send('GET', '/v1/organization', { token: secretText('lk_live_garbage') });
      expect(badBearer.status).toBe(401);
      expect((await send('GET', '/v1/organization', { token: access })).status).toBeLessThan(500);

      // A second login (the first session is gone), an API key made and used, and a member.
      const again = await app.request('POST', '/v1/auth/login', { body: { email, password } });
      expect(again.status, describeResponse(again)).toBe(200);
      const adminToken = registerSecret(again.body.accessToken as string, 'second access token');
      registerSecret(again.body.refreshToken as string, 'third refresh token');
      const key = await app.request('POST', '/v1/api-keys', {
        token: adminToken,
        body: { name: 'scan key', scopes: ['credentials:write', 'ledger:read'] },
        headers: { 'idempotency-key': 'scan-key-1' },
      });
      expect(key.status, describeResponse(key)).toBe(201);
      const apiKey = registerSecret(key.body.apiKey as string, 'generated API key');
      const replayed = await send('POST', '/v1/api-keys', {
        token: adminToken,
        body: { name: 'scan key', scopes: ['credentials:write', 'ledger:read'] },
        headers: { 'idempotency-key': 'scan-key-1' },
      });
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      await settle(key.body.position as string, adminToken);
      const memberPassword = secretText('member password');
      const member = await send('POST', '/v1/members', {
        token: adminToken,
        body: { email: `m-${email}`, name: 'Member', role: 'user', password: memberPassword },
      });
      expect(member.status, describeResponse(member)).toBe(201);
      expect((await send('GET', '/v1/organization', { token })).status).toBe(200);

      // Provider credentials: set (with an idempotency key, replayed), rotated, sent wrong, revoked.
      for (const provider of PROVIDERS) {
        const set = await send('PUT', '/v1/provider-credentials', {
          token: apiKey,
          body: { provider, credentials: sampleCredentials(provider) },
          headers: { 'idempotency-key': `scan-set-${provider}` },
        });
        expect(set.status, describeResponse(set)).toBe(200);
        const rotated = await send('POST', '/v1/provider-credentials/rotate', {
          token: adminToken,
          body: { provider, credentials: sampleCredentials(provider) },
        });
        expect(rotated.status, describeResponse(rotated)).toBe(200);
      }
      const bad: [Provider, Record<string, unknown>][] = [
        ['mpesa', { ...sampleCredentials('mpesa'), environment: secretText('env-secret') }],
        [
          'stripe',
          {
            secretKey: secretText('not-a-stripe-key'),
            webhookSigningSecret: `whsec_${randomBytes(12).toString('hex')}`,
          },
        ],
        ['plaid', { ...sampleCredentials('plaid'), secret: secretText('plaid-secret-with-dashes') }],
        ['alpaca', { ...sampleCredentials('alpaca'), unexpected: secretText('alpaca-extra') }],
      ];
      for (const [provider, credentials] of bad) {
        const refused = await send('PUT', '/v1/provider-credentials', {
          token: apiKey,
          body: { provider, credentials },
        });
        expect(refused.status, describeResponse(refused)).toBe(400);
      }
      const revoked = await send('POST', '/v1/provider-credentials/plaid/revoke', {
        token: apiKey,
        body: {},
      });
      expect(revoked.status, describeResponse(revoked)).toBe(200);
      const listed = await send(
        'GET',
        `/v1/provider-credentials?consistentWith=${revoked.body.position as string}`,
        {
          token: apiKey,
        },
      );
      expect(listed.body.items).toHaveLength(4);

      // The vault decrypts (a provider adapter's call); its data key is a secret too.
      const vault = app.server.runtime.services.vault;
      expect(await vault.credentials(orgId, 'stripe')).toBeDefined();
      registerSecret((await vault.keys.activeKey(orgId)).key, 'data key');
      const shred = await shredOrganizationKey(app.server.runtime.services, orgId);
      expect(shred.shreddedNow).toHaveLength(1);
      await expect(vault.credentials(orgId, 'stripe')).rejects.toThrow(/destroyed/);
      const after = await send('PUT', '/v1/provider-credentials', {
        token: apiKey,
        body: { provider: 'stripe', credentials: sampleCredentials('stripe') },
      });
      expect(after.status, describeResponse(after)).toBe(200);
      registerSecret((await vault.keys.activeKey(orgId)).key, 'second data key');
      await settle(after.body.position as string, apiKey);

      // Everything is written; now look everywhere.
      expect(registeredSecretCount()).toBeGreaterThan(30);
      const scan = await scanSchema(app.server.runtime.db);
      expect(scan.tables).toEqual(
        expect.arrayContaining([
          'll_events',
          'll_idempotency_keys',
          'll_vault_data_keys',
          'rm_members',
          'rm_api_keys',
          'rm_provider_credentials',
        ]),
      );
      expect(scan.rows).toBeGreaterThan(50);
      expect(scan.findings).toEqual([]);
      expect(logs.lines.length).toBeGreaterThan(50);
      expect(logs.scan()).toEqual([]);
      const leakyAnswers = answers.flatMap((answer, index) =>
        findSecrets(JSON.stringify(answer.body), `answer ${index + 1}`),
      );
      expect(leakyAnswers).toEqual([]);
    });

    it('is not blind: a row holding one secret base64-encoded is found', async () => {
      const db = app.server.runtime.db;
      const planted = secretText('planted');
      await db.query('CREATE TABLE scan_canary (note text)');
      try {
        await db.query('INSERT INTO scan_canary VALUES ($1)', [
          `prefix ${Buffer.from(planted).toString('base64')} suffix`,
        ]);
        const scan = await scanSchema(db);
        expect(scan.findings).toEqual([{ secret: 'planted', where: 'scan_canary' }]);
      } finally {
        await db.query('DROP TABLE scan_canary');
      }
      expect(findSecrets(`{"x":"${Buffer.from(planted).toString('hex')}"}`, 'hex')).toHaveLength(1);
    });
  });
}
