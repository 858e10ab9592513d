/**
 * Read-your-writes (SPEC §3): every query accepts consistentWith=<position> and waits, at most
 * 2 s, until the projections have passed it; then 409 NOT_YET_CONSISTENT. A malformed position
 * is a 400 naming the parameter. Nothing here measures time: a read either shows the write or
 * the test fails, and the far-future case only has to answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyQuery } from '../../src/commands/catalog.js';
import { QUERIES } from '../../src/commands/registry.js';
import { startTestApp, type Backend, type TestApp, type TestResponse } from '../support/app.js';
import {
  addressSegment,
  changeLimit,
  closeAccount,
  createTransfers,
  openAccount,
  postPending,
  reverseTransfer,
  voidPending,
} from '../support/ledgerHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';
import { sampleCredentials } from '../support/providerCredentials.js';
import { pendingApprovalOverMcp, setApprovalPolicy } from '../support/approvals.js';

const probe = await probePostgres();
const BACKENDS: readonly { readonly backend: Backend; readonly run: boolean }[] = [
  { backend: 'pglite', run: true },
  { backend: 'postgres', run: serviceGate('read-your-writes (PostgreSQL)', probe) },
];

const PASSWORD = 'correct horse battery staple';
const UINT64_MAX = '18446744073709551615';
/** Generous: the server waits at most 2 s, the test only has to see it answer. */
const FAR_FUTURE_TIMEOUT_MS = 30_000;

/** A list answer's items, typed. */
function itemsOf<T>(answer: TestResponse): T[] {
  return (answer.body as { items: T[] }).items;
}

for (const { backend, run } of BACKENDS) {
  describe.skipIf(!run)(`consistentWith on ${backend}`, () => {
    let app: TestApp;
    let serial = 0;

    beforeAll(async () => {
      app = await startTestApp(backend);
    });

    /** Query strings some queries need to be valid at all. */
    const REQUIRED_PARAMS: Readonly<Record<string, () => string>> = {
      mpesa_generate_report: () =>
        `from=${new Date(Date.now() - 86_400_000).toISOString()}&to=${new Date(Date.now() + 86_400_000).toISOString()}`,
    };

    afterAll(async () => {
      await app.close();
    });

    function unique(label: string): string {
      serial += 1;
      return `${label}-${backend}-${serial}-${Date.now()}`;
    }

    function get(path: string, token: string, position: string): Promise<TestResponse> {
      const separator = path.includes('?') ? '&' : '?';
      return app.request('GET', `${path}${separator}consistentWith=${encodeURIComponent(position)}`, {
        token,
      });
    }

    async function command(
      method: string,
      path: string,
      body: unknown,
      token: string = app.demoKey,
    ): Promise<Record<string, unknown>> {
      const answer = await app.request(method, path, { token, body });
      expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
      expect(typeof answer.body.position).toBe('string');
      return answer.body as Record<string, unknown>;
    }

    /** A path for each query, naming real objects (or, for the ledger, the ones given). */
    function queryPath(
      query: AnyQuery,
      memberId: string,
      ledger: { address: string; transferId: string } = {
        address: 'assets:none:yet',
        transferId: 'no-transfer-yet',
      },
      payments: { customerId: string; paymentId: string } = {
        customerId: `cus_${'0'.repeat(26)}`,
        paymentId: `pay_${'0'.repeat(26)}`,
      },
      approvalId = 'apr_01J9ZZZZZZZZZZZZZZZZZZZZZZ',
    ): string {
      const params: Record<string, string> = {
        memberId,
        approvalId,
        customerId: payments.customerId,
        paymentId: payments.paymentId,
        stream: `${app.demoOrgId}.organization-${app.demoOrgId}`,
        address: addressSegment(ledger.address),
        transferId: encodeURIComponent(ledger.transferId),
        provider: 'stripe',
      };
      const path = query.rest.path.replace(/:([A-Za-z]+)/g, (_all, name: string) => {
        const value = params[name];
        if (value === undefined) throw new Error(`${query.name}: no value for :${name}`);
        return value;
      });
      const required = REQUIRED_PARAMS[query.name];
      return required ? `${path}?${required()}` : path;
    }

    function tokenFor(query: AnyQuery): string {
      return query.audience === 'platform' ? app.adminKey : app.demoKey;
    }

    it('a read right after a command shows it: create, then read the member and the list', async () => {
      for (let round = 0; round < 10; round += 1) {
        const email = `${unique('ryw')}@example.com`;
        const created = await command('POST', '/v1/members', {
          email,
          name: `Round ${round}`,
          role: 'viewer',
          password: PASSWORD,
        });
        const position = created['position'] as string;
        const memberId = created['memberId'] as string;
        const one = await get(`/v1/members/${memberId}`, app.demoKey, position);
        expect(one.status, JSON.stringify(one.body)).toBe(200);
        expect(one.body).toMatchObject({ memberId, email, name: `Round ${round}`, status: 'active' });
        const list = await get('/v1/members?limit=200', app.demoKey, position);
        expect(list.status).toBe(200);
        expect(itemsOf<{ memberId: string }>(list).map((item) => item.memberId)).toContain(memberId);
      }
    });

    it('every kind of change is visible to the next read that names its position', async () => {
      const created = await command('POST', '/v1/members', {
        email: `${unique('change')}@example.com`,
        name: 'Before',
        role: 'user',
        password: PASSWORD,
      });
      const memberId = created['memberId'] as string;

      const renamed = await command('PATCH', `/v1/members/${memberId}/profile`, { name: 'After' });
      expect(
        (await get(`/v1/members/${memberId}`, app.demoKey, renamed['position'] as string)).body.name,
      ).toBe('After');

      const deactivated = await command('POST', `/v1/members/${memberId}/deactivate`, {});
      expect(
        (await get(`/v1/members/${memberId}`, app.demoKey, deactivated['position'] as string)).body.status,
      ).toBe('deactivated');

      const key = await command('POST', '/v1/api-keys', { name: unique('key'), scopes: ['ledger:read'] });
      const keyId = key['keyId'] as string;
      const keys = await get('/v1/api-keys?limit=200', app.demoKey, key['position'] as string);
      expect(itemsOf<{ keyId: string }>(keys).find((item) => item.keyId === keyId)).toMatchObject({
        scopes: ['ledger:read'],
        status: 'active',
      });

      const rescoped = await command('PATCH', `/v1/api-keys/${keyId}`, {
        scopes: ['ledger:read', 'audit:read'],
      });
      const afterRescope = await get('/v1/api-keys?limit=200', app.demoKey, rescoped['position'] as string);
      expect(
        itemsOf<{ keyId: string; scopes: string[] }>(afterRescope).find((item) => item.keyId === keyId)
          ?.scopes,
      ).toEqual(['ledger:read', 'audit:read']);

      const revoked = await command('POST', `/v1/api-keys/${keyId}/revoke`, {});
      const afterRevoke = await get('/v1/api-keys?limit=200', app.demoKey, revoked['position'] as string);
      expect(
        itemsOf<{ keyId: string; status: string }>(afterRevoke).find((item) => item.keyId === keyId)?.status,
      ).toBe('revoked');

      const settings = await command('PATCH', '/v1/organization/settings', { defaultCurrency: 'USD' });
      expect(
        (await get('/v1/organization', app.demoKey, settings['position'] as string)).body.settings,
      ).toMatchObject({ defaultCurrency: 'USD' });

      const plan = await command(
        'POST',
        `/v1/organizations/${app.demoOrgId}/plan`,
        { plan: 'pro' },
        app.adminKey,
      );
      const orgs = await get('/v1/organizations?limit=200', app.adminKey, plan['position'] as string);
      expect(
        itemsOf<{ orgId: string; plan: string }>(orgs).find((item) => item.orgId === app.demoOrgId)?.plan,
      ).toBe('pro');

      const organization = await command(
        'POST',
        '/v1/organizations',
        { name: unique('Fresh Org') },
        app.adminKey,
      );
      const all = await get('/v1/organizations?limit=200', app.adminKey, organization['position'] as string);
      expect(itemsOf<{ orgId: string }>(all).map((item) => item.orgId)).toContain(organization['orgId']);
    });

    it('a position the projections have passed answers at once', async () => {
      for (const position of ['0-0', '1-0']) {
        const answer = await get('/v1/organization', app.demoKey, position);
        expect(answer.status).toBe(200);
        expect(answer.body.orgId).toBe(app.demoOrgId);
      }
    });

    it('every query accepts consistentWith', async () => {
      // get_provider_credentials names the demo organization's stripe credentials.
      const credentials = await app.request('PUT', '/v1/provider-credentials', {
        token: app.demoKey,
        body: { provider: 'stripe', credentials: sampleCredentials('stripe') },
      });
      expect(credentials.status, JSON.stringify(credentials.body)).toBe(200);
      const created = await command('POST', '/v1/members', {
        email: `${unique('every')}@example.com`,
        name: 'Every Query',
        role: 'viewer',
        password: PASSWORD,
      });
      // The ledger queries name an account and a transfer written just now: the position of the
      // last write is the one every read waits for.
      const address = `assets:every:${unique('acct')}`;
      const counter = `revenue:every:${unique('acct')}`;
      const transferId = unique('every-transfer');
      await openAccount(app, app.demoKey, address);
      await openAccount(app, app.demoKey, counter, { type: 'revenue' });
      const moved = await createTransfers(app, app.demoKey, [
        { transferId, debitAccount: address, creditAccount: counter, amount: '12.34' },
      ]);
      expect(moved.position).not.toBeNull();
      const ledger = { address, transferId };
      // An approval: an agent's transfer over MCP that the policy holds back.
      const policy = await setApprovalPolicy(app, app.demoKey, { thresholds: { KES: '100.00' } });
      await get('/v1/organization', app.demoKey, policy);
      const approvalId = await pendingApprovalOverMcp(app, app.demoKey, {
        transferId: unique('every-held'),
        debitAccount: address,
        creditAccount: counter,
        amount: '500.00',
      });
      // The payment queries name a customer and its card payment, written last.
      const payments = await cardPayment();
      for (const [what, position] of [
        ['the member', created['position'] as string],
        ['the transfer', moved.position ?? ''],
      ] as const) {
        for (const query of QUERIES) {
          // A ledger query names the transfer, written after the member: it waits for that.
          const waitFor = query.name.startsWith('ledger_')
            ? (moved.position ?? '')
            : payments.names(query.name)
              ? payments.position
              : position;
          const answer = await get(
            queryPath(query, created['memberId'] as string, ledger, payments, approvalId),
            tokenFor(query),
            waitFor,
          );
          expect(answer.status, `${query.name} after ${what}: ${JSON.stringify(answer.body)}`).toBe(200);
        }
      }
    });

    /** A customer with a card, charged once (stripe credentials set first); ids and position. */
    async function cardPayment(): Promise<{
      customerId: string;
      paymentId: string;
      position: string;
      names: (query: string) => boolean;
    }> {
      const customer = await command('POST', '/v1/customers', { name: unique('Payer') });
      const customerId = customer['customerId'] as string;
      await command('POST', `/v1/customers/${customerId}/payment-methods`, { token: 'tok_visa' });
      const paid = await command('POST', '/v1/payments', { customerId, amount: '4.20', currency: 'USD' });
      return {
        customerId,
        paymentId: paid['paymentId'] as string,
        position: paid['position'] as string,
        names: (query) => /payment|customer|fraud/.test(query),
      };
    }

    it('a card payment is visible to the next read that names its position', async () => {
      const credentials = await app.request('PUT', '/v1/provider-credentials', {
        token: app.demoKey,
        body: { provider: 'stripe', credentials: sampleCredentials('stripe') },
      });
      // Set here, or already by the test before.
      expect([200, 409], JSON.stringify(credentials.body)).toContain(credentials.status);
      for (let round = 0; round < 3; round += 1) {
        const { customerId, paymentId, position } = await cardPayment();
        const listed = await get(`/v1/payments?customerId=${customerId}`, app.demoKey, position);
        expect(itemsOf<{ paymentId: string; status: string }>(listed)).toEqual([
          expect.objectContaining({ paymentId, status: 'succeeded' }),
        ]);
        const methods = await get(`/v1/customers/${customerId}/payment-methods`, app.demoKey, position);
        expect(itemsOf(methods)).toHaveLength(1);
        const risk = await get(`/v1/customers/${customerId}/risk`, app.demoKey, position);
        expect(risk.body).toMatchObject({ payments: 1, blocked: 0 });
      }
    });

    it('every kind of ledger change is visible to the next read that names its position', async () => {
      const asset = `A${unique('')
        .replace(/[^0-9]/g, '')
        .slice(0, 9)}`;
      const float = `assets:ryw:${unique('float')}`;
      const wallet = `customers:ryw:${unique('wallet')}`;
      const fees = `revenue:ryw:${unique('fees')}`;
      const spare = `assets:ryw:${unique('spare')}`;
      const balanceOf = async (address: string, position: string | null): Promise<Record<string, string>> => {
        const answer = await get(
          `/v1/ledger/accounts/${addressSegment(address)}/balance`,
          app.demoKey,
          position ?? '',
        );
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        return (answer.body as { balances: Record<string, string> }).balances;
      };
      const accountOf = async (
        address: string,
        position: string | null,
      ): Promise<Record<string, unknown>> => {
        const list = await get(
          `/v1/ledger/accounts?limit=200&prefix=${encodeURIComponent(address)}`,
          app.demoKey,
          position ?? '',
        );
        expect(list.status, JSON.stringify(list.body)).toBe(200);
        const found = itemsOf<Record<string, unknown>>(list).find((item) => item['address'] === address);
        expect(found, `${address} is listed`).toBeDefined();
        return found ?? {};
      };
      const transferOf = async (id: string, position: string | null): Promise<Record<string, unknown>> => {
        const answer = await get(
          `/v1/ledger/transfers/${encodeURIComponent(id)}`,
          app.demoKey,
          position ?? '',
        );
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        return answer.body as Record<string, unknown>;
      };

      // A new asset names its scale; the accounts appear in the list as soon as they are opened.
      const opened = await command('POST', '/v1/ledger/accounts', {
        address: float,
        asset,
        scale: 3,
        type: 'asset',
      });
      expect(await accountOf(float, opened['position'] as string)).toMatchObject({ asset, status: 'open' });
      await openAccount(app, app.demoKey, wallet, {
        asset,
        type: 'liability',
        flags: { debitsMustNotExceedCredits: true },
      });
      await openAccount(app, app.demoKey, fees, { asset, type: 'revenue' });
      const spareOpened = await openAccount(app, app.demoKey, spare, { asset });
      expect(await accountOf(spare, spareOpened.position)).toMatchObject({ status: 'open' });

      const inId = unique('ryw-in');
      const collected = await createTransfers(app, app.demoKey, [
        { transferId: inId, debitAccount: float, creditAccount: wallet, amount: '100.000' },
      ]);
      expect(await balanceOf(wallet, collected.position)).toMatchObject({
        posted: '100.000',
        available: '100.000',
      });
      expect(await transferOf(inId, collected.position)).toMatchObject({
        status: 'posted',
        amount: '100.000',
      });
      // At a moment before any of it (a leap day, which the calendar has), nothing had moved.
      const before = await get(
        `/v1/ledger/accounts/${addressSegment(wallet)}/balance?at=2024-02-29T00:00:00Z`,
        app.demoKey,
        collected.position ?? '',
      );
      expect(before.status, JSON.stringify(before.body)).toBe(200);
      expect(before.body).toMatchObject({ at: '2024-02-29T00:00:00Z', balances: { posted: '0.000' } });
      const history = await get(
        `/v1/ledger/accounts/${addressSegment(wallet)}/history?limit=200`,
        app.demoKey,
        collected.position ?? '',
      );
      expect(itemsOf<{ transferId: string }>(history).map((item) => item.transferId)).toEqual([inId]);

      const holdId = unique('ryw-hold');
      const held = await createTransfers(app, app.demoKey, [
        {
          transferId: holdId,
          debitAccount: wallet,
          creditAccount: float,
          amount: '30.000',
          pending: { timeoutSeconds: 3600 },
        },
      ]);
      expect(await balanceOf(wallet, held.position)).toMatchObject({
        debitsPending: '30.000',
        available: '70.000',
      });
      const pendingList = await get(
        `/v1/ledger/transfers?limit=200&status=pending&account=${encodeURIComponent(wallet)}`,
        app.demoKey,
        held.position ?? '',
      );
      expect(itemsOf<{ transferId: string }>(pendingList).map((item) => item.transferId)).toEqual([holdId]);

      const posted = await postPending(app, app.demoKey, holdId, '20.000');
      expect(await transferOf(holdId, posted.position)).toMatchObject({
        status: 'posted',
        postedAmount: '20.000',
      });
      expect(await balanceOf(wallet, posted.position)).toMatchObject({
        posted: '80.000',
        debitsPending: '0.000',
      });

      const voidId = unique('ryw-void');
      await createTransfers(app, app.demoKey, [
        {
          transferId: voidId,
          debitAccount: wallet,
          creditAccount: fees,
          amount: '5.000',
          code: 'fee',
          pending: { timeoutSeconds: 3600 },
        },
      ]);
      const voided = await voidPending(app, app.demoKey, voidId);
      expect(await transferOf(voidId, voided.position)).toMatchObject({ status: 'voided' });
      expect(await balanceOf(wallet, voided.position)).toMatchObject({ available: '80.000' });

      const reversed = await reverseTransfer(app, app.demoKey, inId, unique('ryw-rev'), '10.000');
      expect(await transferOf(inId, reversed.position)).toMatchObject({ reversedAmount: '10.000' });
      expect(await balanceOf(wallet, reversed.position)).toMatchObject({ posted: '70.000' });

      const limited = await changeLimit(app, app.demoKey, wallet, '15.500');
      expect(await accountOf(wallet, limited.position)).toMatchObject({ creditLimit: '15.500' });

      const closed = await closeAccount(app, app.demoKey, spare);
      expect(await accountOf(spare, closed.position)).toMatchObject({ status: 'closed' });
    });

    it(
      'a position far in the future answers 409 NOT_YET_CONSISTENT, on every query',
      async () => {
        const future = `${UINT64_MAX}-0`;
        const answers = await Promise.all(
          QUERIES.map(async (query) => ({
            query: query.name,
            answer: await get(queryPath(query, `usr_${'0'.repeat(26)}`), tokenFor(query), future),
          })),
        );
        for (const { query, answer } of answers) {
          expect(answer.status, `${query}: ${JSON.stringify(answer.body)}`).toBe(409);
          expect(answer.body.error.code).toBe('NOT_YET_CONSISTENT');
          expect(answer.body.error.details.consistentWith).toBe(future);
          expect(answer.body.error.requestId).toBe(answer.headers.get('x-request-id'));
        }
      },
      FAR_FUTURE_TIMEOUT_MS,
    );

    it('a malformed consistentWith is a 400 naming it, on every query', async () => {
      for (const query of QUERIES) {
        for (const bad of ['abc', '12', '1-2-3', '-1-0', '0x1-0', ' 1-0', `${UINT64_MAX}0-0`, '']) {
          const answer = await get(queryPath(query, `usr_${'0'.repeat(26)}`), tokenFor(query), bad);
          expect(answer.status, `${query.name} ${JSON.stringify(bad)}: ${JSON.stringify(answer.body)}`).toBe(
            400,
          );
          expect(answer.body.error.code).toBe('VALIDATION_FAILED');
          expect(answer.body.error.details.field).toBe('consistentWith');
          expect(answer.body.error.message).toMatch(/^consistentWith: /);
        }
      }
    });

    it('a login answers a position too, and reads with it see the session’s member', async () => {
      const email = `${unique('login')}@example.com`;
      const created = await command('POST', '/v1/members', {
        email,
        name: 'Logs In',
        role: 'user',
        password: PASSWORD,
      });
      const login = await app.request('POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
      expect(login.status, JSON.stringify(login.body)).toBe(200);
      expect(typeof login.body.position).toBe('string');
      const me = await get(
        `/v1/members/${created['memberId'] as string}`,
        login.body.accessToken as string,
        login.body.position as string,
      );
      expect(me.status).toBe(200);
      expect(me.body.email).toBe(email);
    });
  });
}
