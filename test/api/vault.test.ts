/**
 * The credential vault over REST, on PGlite and on real PostgreSQL (SPEC §1 "Provider
 * credentials"): credentials round-trip encrypted (the events hold ciphertext, the vault
 * service decrypts the same values), rotation changes the fingerprint and the cache answers
 * the new credentials, revocation makes them unusable, a crypto-shred makes them unreadable
 * without changing a byte of any event, other organizations can neither read nor touch them,
 * and only org admins holding credentials:write change them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Provider } from '../../src/domain/vault/providers.js';
import { PROVIDERS } from '../../src/domain/vault/providers.js';
import { isLedgerlineError } from '../../src/domain/errors.js';
import { parsePosition } from '../../src/adapters/eventstore/position.js';
import { vaultStream } from '../../src/commands/vault/vaultStream.js';
import { shredOrganizationKey } from '../../src/cli/vaultAdmin.js';
import { startTestApp, type Backend, type TestApp, type TestResponse } from '../support/app.js';
import { sampleCredentials } from '../support/providerCredentials.js';
import { findSecrets, registerSecret, scanSchema } from '../support/secrets.js';
import { probePostgres, serviceGate } from '../support/services.js';

const PASSWORD = registerSecret('vault test password 1', 'member password');

const pgProbe = await probePostgres();
const BACKENDS: readonly { backend: Backend; run: boolean }[] = [
  { backend: 'pglite', run: true },
  { backend: 'postgres', run: serviceGate('credential vault on PostgreSQL', pgProbe) },
];

function describeResponse(response: TestResponse): string {
  return `${response.status} ${JSON.stringify(response.body)}`;
}

let uniqueCounter = 0;
function unique(label: string): string {
  uniqueCounter += 1;
  return `${label}${uniqueCounter}${Math.random().toString(36).slice(2, 8)}`;
}

async function errorCodeOf(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (error) {
    if (isLedgerlineError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

for (const { backend, run } of BACKENDS) {
  describe.skipIf(!run)(`the credential vault over REST on ${backend}`, () => {
    let app: TestApp;
    let acme: { orgId: string; token: string };
    let other: { orgId: string; token: string };

    async function settle(position: string | null | undefined, token = acme.token): Promise<void> {
      if (!position) return;
      const response = await app.request('GET', `/v1/organization?consistentWith=${position}`, { token });
      expect(response.status, describeResponse(response)).toBe(200);
    }

    async function login(email: string): Promise<string> {
      const response = await app.request('POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
      expect(response.status, describeResponse(response)).toBe(200);
      const body = response.body as { accessToken: string; refreshToken: string };
      registerSecret(body.refreshToken, 'refresh token');
      return registerSecret(body.accessToken, 'access token');
    }

    async function createOrganization(name: string): Promise<{ orgId: string; token: string }> {
      const email = `${unique('admin')}@vault.test`;
      const created = await app.request('POST', '/v1/organizations', {
        token: app.adminKey,
        body: { name, admin: { email, name: 'Vault Admin', password: PASSWORD } },
      });
      expect(created.status, describeResponse(created)).toBe(201);
      const body = created.body as { orgId: string; position: string };
      await settle(body.position, app.adminKey);
      return { orgId: body.orgId, token: await login(email) };
    }

    async function vaultEvents(orgId: string): Promise<{ type: string; data: unknown; revision: bigint }[]> {
      const events = await app.server.runtime.store.readStream(vaultStream(orgId), { maxCount: 1000 });
      return events.map((event) => ({ type: event.type, data: event.data, revision: event.revision }));
    }

    function set(token: string, provider: Provider, credentials: unknown): Promise<TestResponse> {
      return app.request('PUT', '/v1/provider-credentials', { token, body: { provider, credentials } });
    }

    function rotate(token: string, provider: Provider, credentials: unknown): Promise<TestResponse> {
      return app.request('POST', '/v1/provider-credentials/rotate', {
        token,
        body: { provider, credentials },
      });
    }

    function revoke(token: string, provider: string): Promise<TestResponse> {
      return app.request('POST', `/v1/provider-credentials/${provider}/revoke`, { token, body: {} });
    }

    beforeAll(async () => {
      app = await startTestApp(backend);
      registerSecret(app.adminKey, 'platform admin key');
      registerSecret(app.demoKey, 'demo admin key');
      acme = await createOrganization('Acme Vault');
      other = await createOrganization('Other Vault');
    });

    afterAll(async () => {
      await app.close();
    });

    it.each(PROVIDERS.map((provider) => ({ provider })))(
      'sets $provider credentials encrypted: the answer and the events hold no secret, the vault decrypts the same values',
      async ({ provider }) => {
        const credentials = sampleCredentials(provider);
        const response = await set(acme.token, provider, credentials);
        expect(response.status, describeResponse(response)).toBe(200);
        expect(response.body).toMatchObject({
          provider,
          status: 'active',
          changed: true,
          keyId: expect.stringMatching(/^dk_[0-9A-Z]{26}$/) as unknown,
          fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
        });
        const field = response.body.lastCharsOf as string;
        expect((credentials as Record<string, string>)[field]?.slice(-4)).toBe(response.body.lastChars);
        expect(findSecrets(JSON.stringify(response.body), 'answer')).toEqual([]);

        const decrypted = await app.server.runtime.services.vault.credentials(acme.orgId, provider);
        expect(decrypted).toEqual(credentials);

        const events = await vaultEvents(acme.orgId);
        const stored = events.find(
          (event) =>
            event.type === 'ProviderCredentialsSet' &&
            (event.data as { provider: string }).provider === provider,
        );
        expect(stored?.data).toMatchObject({
          keyId: response.body.keyId as string,
          fingerprint: response.body.fingerprint as string,
          ciphertext: expect.any(String) as unknown,
          iv: expect.any(String) as unknown,
          authTag: expect.any(String) as unknown,
        });
        expect(findSecrets(JSON.stringify(events.map((event) => event.data)), 'vault events')).toEqual([]);

        const read = await app.request(
          'GET',
          `/v1/provider-credentials/${provider}?consistentWith=${response.body.position as string}`,
          { token: acme.token },
        );
        expect(read.status, describeResponse(read)).toBe(200);
        expect(read.body).toMatchObject({
          provider,
          status: 'active',
          keyId: response.body.keyId as string,
          fingerprint: response.body.fingerprint as string,
          lastChars: response.body.lastChars as string,
          rotatedAt: null,
        });
        expect(Object.keys(read.body as object).sort()).toEqual(
          [
            'environment',
            'fingerprint',
            'keyId',
            'lastChars',
            'lastCharsOf',
            'provider',
            'revokedAt',
            'rotatedAt',
            'setAt',
            'shreddedAt',
            'status',
            'updatedAt',
          ].sort(),
        );
      },
    );

    it('one data key seals every provider of an organization; the read model keeps no ciphertext', async () => {
      expect(await app.server.runtime.services.consistency.waitForCaughtUp(10_000)).toBe(true);
      const list = await app.request('GET', '/v1/provider-credentials', { token: acme.token });
      expect(list.status, describeResponse(list)).toBe(200);
      const items = list.body.items as { provider: string; keyId: string }[];
      expect(items.map((item) => item.provider)).toEqual([...PROVIDERS].sort());
      expect(new Set(items.map((item) => item.keyId)).size).toBe(1);
      const { rows } = await app.server.runtime.db.query<{ key_id: string; wrapped_key: Uint8Array | null }>(
        'SELECT key_id, wrapped_key FROM ll_vault_data_keys WHERE org_id = $1',
        [acme.orgId],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]?.wrapped_key?.length).toBe(32);
      const columns = await app.server.runtime.db.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = 'rm_provider_credentials'`,
      );
      expect(columns.rows.map((row) => row.column_name)).not.toContain('ciphertext');
    });

    it('the same credentials again change nothing; different ones need a rotation', async () => {
      const credentials = sampleCredentials('plaid');
      const first = await set(other.token, 'plaid', credentials);
      expect(first.status, describeResponse(first)).toBe(200);
      const again = await set(other.token, 'plaid', credentials);
      expect(again.status, describeResponse(again)).toBe(200);
      expect(again.body).toMatchObject({ changed: false, fingerprint: first.body.fingerprint as string });
      expect(again.body.revision).toBe(first.body.revision);
      const different = await set(other.token, 'plaid', sampleCredentials('plaid'));
      expect(different.status, describeResponse(different)).toBe(409);
      expect(different.body.error.code).toBe('ALREADY_EXISTS');
    });

    it('rotation changes the fingerprint, and the cached credentials are the new ones at once', async () => {
      const vault = app.server.runtime.services.vault;
      const before = await vault.credentials(acme.orgId, 'mpesa');
      const cachedAgain = await vault.credentials(acme.orgId, 'mpesa');
      expect(cachedAgain).toBe(before); // the same object: answered from the cache
      const current = await app.request('GET', '/v1/provider-credentials/mpesa', { token: acme.token });
      const next = sampleCredentials('mpesa');
      const rotated = await rotate(acme.token, 'mpesa', next);
      expect(rotated.status, describeResponse(rotated)).toBe(200);
      expect(rotated.body.fingerprint).not.toBe(current.body.fingerprint);
      expect(rotated.body.changed).toBe(true);
      expect(await vault.credentials(acme.orgId, 'mpesa')).toEqual(next);

      const events = await vaultEvents(acme.orgId);
      const last = events.at(-1);
      expect(last?.type).toBe('ProviderCredentialsRotated');
      expect(last?.data).toMatchObject({ previousFingerprint: current.body.fingerprint as string });

      const read = await app.request(
        'GET',
        `/v1/provider-credentials/mpesa?consistentWith=${rotated.body.position as string}`,
        { token: acme.token },
      );
      expect(read.body).toMatchObject({ fingerprint: rotated.body.fingerprint as string, status: 'active' });
      expect(read.body.rotatedAt).not.toBeNull();
    });

    it('revocation makes the credentials unusable (CREDENTIALS_REVOKED) until they are set again', async () => {
      const vault = app.server.runtime.services.vault;
      await vault.credentials(acme.orgId, 'alpaca');
      const revoked = await revoke(acme.token, 'alpaca');
      expect(revoked.status, describeResponse(revoked)).toBe(200);
      expect(revoked.body).toMatchObject({ status: 'revoked', changed: true });
      expect(await errorCodeOf(() => vault.credentials(acme.orgId, 'alpaca'))).toBe('CREDENTIALS_REVOKED');

      const twice = await revoke(acme.token, 'alpaca');
      expect(twice.body).toMatchObject({ status: 'revoked', changed: false });
      const rotateRevoked = await rotate(acme.token, 'alpaca', sampleCredentials('alpaca'));
      expect(rotateRevoked.status, describeResponse(rotateRevoked)).toBe(404);

      const listed = await app.request(
        'GET',
        `/v1/provider-credentials?status=revoked&consistentWith=${revoked.body.position as string}`,
        { token: acme.token },
      );
      expect((listed.body.items as { provider: string }[]).map((item) => item.provider)).toEqual(['alpaca']);

      const fresh = sampleCredentials('alpaca');
      const again = await set(acme.token, 'alpaca', fresh);
      expect(again.status, describeResponse(again)).toBe(200);
      expect(await vault.credentials(acme.orgId, 'alpaca')).toEqual(fresh);
    });

    it('bad input names the field, writes nothing, and never repeats the rejected value', async () => {
      const good = sampleCredentials('mpesa');
      const badSecret = registerSecret(`bad secret ${unique('x')}`, 'rejected consumer secret');
      const cases: { body: unknown; field: string }[] = [
        {
          body: { provider: 'mpesa', credentials: { ...good, environment: badSecret } },
          field: 'credentials.environment',
        },
        {
          body: { provider: 'mpesa', credentials: { ...good, consumerSecret: badSecret } },
          field: 'credentials.consumerSecret',
        },
        {
          body: { provider: 'mpesa', credentials: { ...good, shortcode: badSecret } },
          field: 'credentials.shortcode',
        },
        {
          body: {
            provider: 'stripe',
            credentials: { secretKey: badSecret, webhookSigningSecret: 'whsec_abcdefgh12' },
          },
          field: 'credentials.secretKey',
        },
        {
          body: {
            provider: 'plaid',
            credentials: { clientId: 'abcdef123456', secret: badSecret, environment: 'sandbox' },
          },
          field: 'credentials.secret',
        },
        {
          body: {
            provider: 'alpaca',
            credentials: { keyId: badSecret, secretKey: 'a'.repeat(40), environment: 'paper' },
          },
          field: 'credentials.keyId',
        },
        {
          body: {
            provider: 'alpaca',
            credentials: { keyId: 'PK1234567890AB', secretKey: 'a'.repeat(40), environment: 'demo' },
          },
          field: 'credentials.environment',
        },
        {
          body: {
            provider: 'mpesa',
            credentials: { ...good, initiatorPassword: undefined, securityCredential: undefined },
          },
          field: 'credentials.initiatorPassword',
        },
        {
          body: {
            provider: 'stripe',
            credentials: {
              secretKey: 'sk_test_abcdefgh12',
              webhookSigningSecret: 'whsec_abcdefgh12',
              extra: badSecret,
            },
          },
          field: 'credentials.extra',
        },
        { body: { provider: 'paypal', credentials: { secret: badSecret } }, field: 'provider' },
        { body: { provider: 'stripe', credentials: badSecret }, field: 'credentials' },
        { body: { provider: 'stripe' }, field: 'credentials' },
      ];
      const before = await vaultEvents(other.orgId);
      for (const { body, field } of cases) {
        for (const path of ['/v1/provider-credentials', '/v1/provider-credentials/rotate']) {
          const response = await app.request(path.endsWith('rotate') ? 'POST' : 'PUT', path, {
            token: other.token,
            body,
          });
          expect(response.status, `${field}: ${describeResponse(response)}`).toBe(400);
          expect(response.body.error.code).toBe('VALIDATION_FAILED');
          expect(response.body.error.details.field, describeResponse(response)).toBe(field);
          expect(JSON.stringify(response.body)).not.toContain(badSecret);
          expect(findSecrets(JSON.stringify(response.body), 'error answer')).toEqual([]);
        }
      }
      expect(await vaultEvents(other.orgId)).toEqual(before);
    });

    it('another organization can neither read nor touch them: 404, exactly as if they did not exist', async () => {
      const mine = await app.request('GET', '/v1/provider-credentials/stripe', { token: acme.token });
      expect(mine.status).toBe(200);
      const theirs = await app.request('GET', '/v1/provider-credentials/stripe', { token: other.token });
      expect(theirs.status, describeResponse(theirs)).toBe(404);
      expect(theirs.body.error.code).toBe('NOT_FOUND');
      const list = await app.request('GET', '/v1/provider-credentials', { token: other.token });
      expect((list.body.items as { provider: string }[]).map((item) => item.provider)).toEqual(['plaid']);
      const revoked = await revoke(other.token, 'stripe');
      expect(revoked.status, describeResponse(revoked)).toBe(404);
      const rotated = await rotate(other.token, 'stripe', sampleCredentials('stripe'));
      expect(rotated.status, describeResponse(rotated)).toBe(404);
      // Acme's stripe credentials are untouched, and the two organizations hold different keys.
      const after = await app.request('GET', '/v1/provider-credentials/stripe', { token: acme.token });
      expect(after.body).toMatchObject({ status: 'active', fingerprint: mine.body.fingerprint as string });
      const otherPlaid = await app.request('GET', '/v1/provider-credentials/plaid', { token: other.token });
      expect(otherPlaid.body.keyId).not.toBe(mine.body.keyId);
      expect(
        await errorCodeOf(() => app.server.runtime.services.vault.credentials(other.orgId, 'stripe')),
      ).toBe('NOT_FOUND');
    });

    it('only org admins holding credentials:write change credentials (403 otherwise); reads are the org admin’s', async () => {
      const email = `${unique('user')}@vault.test`;
      const member = await app.request('POST', '/v1/members', {
        token: acme.token,
        body: { email, name: 'A user', role: 'user', password: PASSWORD },
      });
      expect(member.status, describeResponse(member)).toBe(201);
      await settle(member.body.position as string);
      const userToken = await login(email);
      const key = await app.request('POST', '/v1/api-keys', {
        token: acme.token,
        body: { name: 'no credentials', scopes: ['ledger:read', 'keys:write'] },
      });
      expect(key.status, describeResponse(key)).toBe(201);
      const narrowKey = registerSecret(key.body.apiKey as string, 'narrow API key');
      await settle(key.body.position as string);
      const before = await vaultEvents(acme.orgId);
      for (const token of [userToken, narrowKey]) {
        for (const response of [
          await set(token, 'stripe', sampleCredentials('stripe')),
          await rotate(token, 'stripe', sampleCredentials('stripe')),
          await revoke(token, 'stripe'),
        ]) {
          expect(response.status, describeResponse(response)).toBe(403);
          expect(response.body.error.code).toBe('FORBIDDEN');
        }
      }
      const userRead = await app.request('GET', '/v1/provider-credentials', { token: userToken });
      expect(userRead.status, describeResponse(userRead)).toBe(403);
      expect(await vaultEvents(acme.orgId)).toEqual(before);
    });

    it('a shred makes every secret it sealed undecryptable and leaves every event byte for byte', async () => {
      const vault = app.server.runtime.services.vault;
      const db = app.server.runtime.db;
      await vault.credentials(acme.orgId, 'stripe'); // cached: the shred must drop it
      const eventRows = async (): Promise<string[]> =>
        (
          await db.query<{ row: string }>(
            'SELECT to_jsonb(e)::text AS row FROM ll_events e ORDER BY transaction_id, global_position',
          )
        ).rows.map((row) => row.row);
      const before = await eventRows();
      const { rows: keyBefore } = await db.query<{ key_id: string }>(
        `SELECT key_id FROM ll_vault_data_keys WHERE org_id = $1 AND status = 'active'`,
        [acme.orgId],
      );
      const shred = await shredOrganizationKey(app.server.runtime.services, acme.orgId);
      expect(shred.shreddedNow).toEqual([keyBefore[0]?.key_id]);
      expect(shred.recorded).toEqual(shred.shreddedNow);

      const after = await eventRows();
      expect(after.slice(0, before.length)).toEqual(before);
      expect(after.length).toBe(before.length + 1);
      expect(after.at(-1)).toContain('VaultDataKeyShredded');

      const { rows: keyAfter } = await db.query<{ status: string; wrapped_key: unknown; wrap_iv: unknown }>(
        'SELECT status, wrapped_key, wrap_iv FROM ll_vault_data_keys WHERE key_id = $1',
        [shred.shreddedNow[0]],
      );
      expect(keyAfter[0]).toEqual({ status: 'shredded', wrapped_key: null, wrap_iv: null });
      for (const provider of PROVIDERS) {
        expect(await errorCodeOf(() => vault.credentials(acme.orgId, provider)), provider).toBe(
          'CREDENTIALS_SHREDDED',
        );
      }
      // The other organization's key is untouched.
      expect(await vault.credentials(other.orgId, 'plaid')).toBeDefined();

      const list = await app.request(
        'GET',
        `/v1/provider-credentials?consistentWith=${shred.position ?? ''}`,
        {
          token: acme.token,
        },
      );
      const statuses = Object.fromEntries(
        (list.body.items as { provider: string; status: string }[]).map((item) => [
          item.provider,
          item.status,
        ]),
      );
      expect(statuses).toEqual({
        alpaca: 'shredded',
        mpesa: 'shredded',
        plaid: 'shredded',
        stripe: 'shredded',
      });

      // A second shred finds nothing active and records nothing.
      const again = await shredOrganizationKey(app.server.runtime.services, acme.orgId);
      expect(again).toMatchObject({ shreddedNow: [], recorded: [], position: null });
    });

    it('after a shred, setting credentials makes a new data key; rotating a shredded provider works too', async () => {
      const vault = app.server.runtime.services.vault;
      const fresh = sampleCredentials('stripe');
      const set1 = await set(acme.token, 'stripe', fresh);
      expect(set1.status, describeResponse(set1)).toBe(200);
      const shreddedKey = (await vaultEvents(acme.orgId)).find(
        (event) => event.type === 'VaultDataKeyShredded',
      )?.data as { keyId: string };
      expect(set1.body.keyId).not.toBe(shreddedKey.keyId);
      expect(await vault.credentials(acme.orgId, 'stripe')).toEqual(fresh);

      const mpesa = sampleCredentials('mpesa');
      const rotated = await rotate(acme.token, 'mpesa', mpesa);
      expect(rotated.status, describeResponse(rotated)).toBe(200);
      expect(rotated.body.keyId).toBe(set1.body.keyId);
      expect(await vault.credentials(acme.orgId, 'mpesa')).toEqual(mpesa);
      // Plaid was not set again: still unreadable.
      expect(await errorCodeOf(() => vault.credentials(acme.orgId, 'plaid'))).toBe('CREDENTIALS_SHREDDED');
      const position = parsePosition(rotated.body.position as string, 'position');
      expect(position).toBeDefined();
    });

    it('nothing the tests above used as a secret is in any table in plain text', async () => {
      const scan = await scanSchema(app.server.runtime.db);
      expect(scan.tables).toEqual(
        expect.arrayContaining(['ll_events', 'rm_provider_credentials', 'll_vault_data_keys']),
      );
      expect(scan.findings).toEqual([]);
    });
  });
}
