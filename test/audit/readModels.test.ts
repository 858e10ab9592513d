/**
 * The ledger read models under an audit grant, on real PostgreSQL over HTTP: an auditor of one
 * organization reads another's accounts, balances (now and at a past point), transfers, one
 * transfer and an account's history with a live grant holding ledger:read, and every such read
 * lands in the granting organization's access log. A revoked or expired grant, one without
 * ledger:read, a member who is not an auditor, a key without audit:read, and a grant given to a
 * third organization are all refused exactly as the audit reads refuse them; without a grant id
 * the caller reads its own organization and never the other's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestResponse } from '../support/app.js';
import {
  apiKey,
  bootstrapProjected,
  caughtUp,
  createOrg,
  grant,
  memberToken,
  type TestOrg,
} from '../support/auditOrgs.js';
import { createTransfers, openAccount } from '../support/ledgerHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const run = serviceGate('ledger read models under audit grants (PostgreSQL)', probe);

/** Bounded polling for the one thing that must wait for the clock: a grant's expiry. */
const EXPIRY_POLL_MS = 200;
const EXPIRY_POLLS_MAX = 150;
/** Rounds of `consistentWith` (each waits up to 2 s server-side) for the access log. */
const ACCESS_LOG_ROUNDS_MAX = 30;
const MADE_UP_GRANT = 'grt_01JZZZZZZZZZZZZZZZZZZZZZZZ';

const WALLET = 'customers:c1:wallet';

/** The five ledger reads, each as `path` with the grant id (when given) in the query string. */
function ledgerReads(grantId: string | null, at: string): Record<string, string> {
  const g = grantId === null ? '' : `grantId=${grantId}`;
  const q = (path: string, extra = ''): string => {
    const query = [extra, g].filter((part) => part !== '').join('&');
    return query === '' ? path : `${path}?${query}`;
  };
  return {
    ledger_list_accounts: q('/v1/ledger/accounts'),
    ledger_get_balance: q(`/v1/ledger/accounts/${WALLET}/balance`),
    ledger_get_balance_at: q(`/v1/ledger/accounts/${WALLET}/balance`, `at=${at}`),
    ledger_list_transfers: q('/v1/ledger/transfers'),
    ledger_get_transfer: q('/v1/ledger/transfers/t1'),
    ledger_account_history: q(`/v1/ledger/accounts/${WALLET}/history`),
  };
}

interface AccessEntry {
  readonly grantId: string;
  readonly granteeOrgId: string;
  readonly operation: string;
  readonly target: string;
  readonly actor: { readonly kind: string; readonly id: string; readonly role: string | null };
}

/** The error an answer carries, without the request id (which differs per request). */
function errorOf(answer: TestResponse): unknown {
  const { requestId: _requestId, ...rest } = answer.body.error as Record<string, unknown>;
  return { status: answer.status, ...rest };
}

describe.runIf(run)('ledger read models under an audit grant (PostgreSQL)', () => {
  let app: TestApp;
  let owner: TestOrg;
  let auditors: TestOrg;
  let third: TestOrg;
  let auditor: string;
  let thirdAuditor: string;
  let viewer: string;
  let auditKey: string;
  let ledgerOnlyKey: string;
  /** The position after t1 alone: the wallet held 100.00 then. */
  let afterFirst: string;

  beforeAll(async () => {
    app = await startTestApp('postgres');
    await bootstrapProjected(app);
    owner = await createOrg(app, 'owner');
    auditors = await createOrg(app, 'auditors');
    third = await createOrg(app, 'third');
    auditor = await memberToken(app, auditors, 'auditor');
    thirdAuditor = await memberToken(app, third, 'auditor');
    viewer = await memberToken(app, auditors, 'viewer');
    auditKey = await apiKey(app, auditors.adminToken, ['ledger:read', 'audit:read']);
    ledgerOnlyKey = await apiKey(app, auditors.adminToken, ['ledger:read']);
    await openAccount(app, owner.adminToken, 'assets:cash');
    await openAccount(app, owner.adminToken, WALLET, { type: 'liability' });
    const first = await createTransfers(app, owner.adminToken, [
      { transferId: 't1', debitAccount: 'assets:cash', creditAccount: WALLET, amount: '100.00' },
    ]);
    afterFirst = first.position ?? '';
    const second = await createTransfers(app, owner.adminToken, [
      { transferId: 't2', debitAccount: 'assets:cash', creditAccount: WALLET, amount: '25.50' },
    ]);
    // The auditors' own ledger has an account of the same name with a different balance.
    await openAccount(app, auditors.adminToken, 'assets:cash');
    await caughtUp(app, owner.adminToken, '/v1/ledger/accounts', second.position ?? '');
  }, 180_000);

  afterAll(async () => {
    await app.close();
  });

  /** The access log of `grantId` once the read models have passed `position` (a later write). */
  async function accessLog(grantId: string, position: string): Promise<AccessEntry[]> {
    for (let round = 0; round < ACCESS_LOG_ROUNDS_MAX; round += 1) {
      const answer = await app.request(
        'GET',
        `/v1/audit/access-log?grantId=${grantId}&consistentWith=${position}&limit=100`,
        { token: owner.adminToken },
      );
      if (answer.status === 409) continue;
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return answer.body.items as AccessEntry[];
    }
    throw new Error(`the access log did not reach ${position}`);
  }

  /** A write in the granting organization: anything recorded before it is projected after it. */
  async function marker(): Promise<string> {
    const written = await openAccount(
      app,
      owner.adminToken,
      `assets:marker:${Math.random().toString(36).slice(2)}`,
    );
    return written.position ?? '';
  }

  it('reads the granting organization’s accounts, balances (also at a past point), transfers and history, each logged', async () => {
    const grantId = await grant(app, owner, auditors.orgId, { scopes: ['ledger:read'] });
    const reads = ledgerReads(grantId, afterFirst);
    const own = ledgerReads(null, afterFirst);
    for (const [name, path] of Object.entries(reads)) {
      const across = await app.request('GET', path, { token: auditor });
      expect(across.status, `${name}: ${JSON.stringify(across.body)}`).toBe(200);
      // Exactly what the owner sees of its own ledger.
      const mine = await app.request('GET', own[name] ?? '', { token: owner.adminToken });
      expect(across.body, name).toEqual(mine.body);
    }
    const balance = await app.request('GET', reads['ledger_get_balance'] ?? '', { token: auditor });
    expect(balance.body.balances.posted).toBe('125.50');
    const before = await app.request('GET', reads['ledger_get_balance_at'] ?? '', { token: auditor });
    expect(before.body).toMatchObject({ at: afterFirst, balances: { posted: '100.00' } });
    const accounts = await app.request('GET', reads['ledger_list_accounts'] ?? '', { token: auditor });
    expect(accounts.body.items.map((item: { address: string }) => item.address)).toEqual(
      expect.arrayContaining(['assets:cash', WALLET]),
    );
    const transfers = await app.request('GET', reads['ledger_list_transfers'] ?? '', { token: auditKey });
    expect(transfers.status).toBe(200);
    expect(transfers.body.items.map((item: { transferId: string }) => item.transferId)).toEqual(['t1', 't2']);

    const log = await accessLog(grantId, await marker());
    // The loop's reads, then balance, the past balance, the accounts and (with the key) the transfers.
    const expected = Object.keys(reads).length + 4;
    expect(log).toHaveLength(expected);
    expect(log.every((entry) => entry.grantId === grantId && entry.granteeOrgId === auditors.orgId)).toBe(
      true,
    );
    expect(log.slice(0, 2).map((entry) => [entry.operation, entry.target])).toEqual([
      ['ledger_list_accounts', 'accounts'],
      ['ledger_get_balance', `account ${WALLET}`],
    ]);
    expect(log.map((entry) => [entry.operation, entry.target])).toEqual(
      expect.arrayContaining([
        ['ledger_get_balance', `account ${WALLET} at ${afterFirst}`],
        ['ledger_list_transfers', 'transfers'],
        ['ledger_get_transfer', 'transfer t1'],
        ['ledger_account_history', `history of account ${WALLET}`],
      ]),
    );
    expect(log.at(-1)?.actor.kind).toBe('api_key');
    expect(log[0]?.actor).toMatchObject({ kind: 'member', role: 'auditor' });
  });

  it('without a grant id reads the caller’s own organization, never the other’s', async () => {
    for (const token of [auditor, auditKey, auditors.adminToken]) {
      const accounts = await app.request('GET', '/v1/ledger/accounts', { token });
      expect(accounts.status).toBe(200);
      const items = accounts.body.items as { address: string; balances: { posted: string } }[];
      expect(items.map((item) => item.address)).not.toContain(WALLET);
      expect(items.find((item) => item.address === 'assets:cash')?.balances.posted).toBe('0.00');
      const transfers = await app.request('GET', '/v1/ledger/transfers', { token });
      expect(transfers.body.items).toEqual([]);
      for (const path of [
        '/v1/ledger/transfers/t1',
        `/v1/ledger/accounts/${WALLET}/balance`,
        `/v1/ledger/accounts/${WALLET}/balance?at=${afterFirst}`,
        `/v1/ledger/accounts/${WALLET}/history`,
      ]) {
        const answer = await app.request('GET', path, { token });
        expect(answer.status, path).toBe(404);
        expect(answer.body.error.code).toBe('NOT_FOUND');
      }
    }
  });

  it('refuses members who are not auditors and keys without audit:read (403), and reads nothing', async () => {
    const grantId = await grant(app, owner, auditors.orgId);
    for (const [name, path] of Object.entries(ledgerReads(grantId, afterFirst))) {
      for (const token of [viewer, auditors.adminToken, ledgerOnlyKey]) {
        const answer = await app.request('GET', path, { token });
        expect(answer.status, name).toBe(403);
        expect(answer.body.error.code).toBe('FORBIDDEN');
        expect(JSON.stringify(answer.body)).not.toContain('125.50');
      }
    }
    expect(await accessLog(grantId, await marker())).toEqual([]);
  });

  it('refuses a grant without ledger:read exactly as an audit read refuses one without audit:read', async () => {
    const auditOnly = await grant(app, owner, auditors.orgId, { scopes: ['audit:read'] });
    const ledgerOnly = await grant(app, owner, auditors.orgId, { scopes: ['ledger:read'] });
    const auditRefusal = await app.request('GET', `/v1/audit/verify?grantId=${ledgerOnly}`, {
      token: auditor,
    });
    expect(auditRefusal.status).toBe(403);
    for (const [name, path] of Object.entries(ledgerReads(auditOnly, afterFirst))) {
      const answer = await app.request('GET', path, { token: auditor });
      expect(answer.status, name).toBe(403);
      expect(answer.body.error).toMatchObject({
        code: 'FORBIDDEN',
        details: { requiredScope: 'ledger:read' },
      });
      expect(answer.body.error.message).toBe(
        (auditRefusal.body.error.message as string).replace('audit:read', 'ledger:read'),
      );
    }
    expect(await accessLog(auditOnly, await marker())).toEqual([]);
  });

  it('answers a grant given to another organization exactly like a made-up one (404)', async () => {
    const toThird = await grant(app, owner, third.orgId);
    const foreign = ledgerReads(toThird, afterFirst);
    const madeUp = ledgerReads(MADE_UP_GRANT, afterFirst);
    for (const name of Object.keys(foreign)) {
      const answer = await app.request('GET', foreign[name] ?? '', { token: auditor });
      const missing = await app.request('GET', madeUp[name] ?? '', { token: auditor });
      expect(answer.status, name).toBe(404);
      expect(errorOf(answer), name).toEqual(errorOf(missing));
    }
    // The grantee it names reads under it.
    const theirs = await app.request('GET', foreign['ledger_get_transfer'] ?? '', { token: thirdAuditor });
    expect(theirs.status).toBe(200);
    expect(theirs.body.transferId).toBe('t1');
    const log = await accessLog(toThird, await marker());
    expect(log.map((entry) => entry.granteeOrgId)).toEqual([third.orgId]);
  });

  it('answers 404 from the moment a grant is revoked, and logs only the reads before', async () => {
    const grantId = await grant(app, owner, auditors.orgId);
    const reads = ledgerReads(grantId, afterFirst);
    expect((await app.request('GET', reads['ledger_get_balance'] ?? '', { token: auditor })).status).toBe(
      200,
    );
    const revoked = await app.request('POST', `/v1/audit/grants/${grantId}/revoke`, {
      token: owner.adminToken,
      body: { reason: 'engagement over' },
    });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    const madeUp = ledgerReads(MADE_UP_GRANT, afterFirst);
    for (const [name, path] of Object.entries(reads)) {
      const answer = await app.request('GET', path, { token: auditor });
      expect(answer.status, name).toBe(404);
      expect(errorOf(answer), name).toEqual(
        errorOf(await app.request('GET', madeUp[name] ?? '', { token: auditor })),
      );
    }
    const log = await accessLog(grantId, await marker());
    expect(log.map((entry) => entry.operation)).toEqual(['ledger_get_balance']);
  });

  it('answers 404 once a grant has expired (checked at read time)', async () => {
    const grantId = await grant(app, owner, auditors.orgId, {
      expiresAt: new Date(Date.now() + 1_500).toISOString(),
    });
    const path = ledgerReads(grantId, afterFirst)['ledger_get_balance_at'] ?? '';
    let status = 0;
    for (let poll = 0; poll < EXPIRY_POLLS_MAX; poll += 1) {
      status = (await app.request('GET', path, { token: auditor })).status;
      if (status === 404) break;
      expect(status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, EXPIRY_POLL_MS));
    }
    expect(status).toBe(404);
    for (const [name, other] of Object.entries(ledgerReads(grantId, afterFirst))) {
      expect((await app.request('GET', other, { token: auditor })).status, name).toBe(404);
    }
  });

  it('under a live grant, a missing account or transfer of the granting organization is a plain 404, and bad input a 400', async () => {
    const grantId = await grant(app, owner, auditors.orgId);
    const missing = await app.request('GET', `/v1/ledger/transfers/nope?grantId=${grantId}`, {
      token: auditor,
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe('No transfer nope.');
    const balance = await app.request('GET', `/v1/ledger/accounts/assets:none/balance?grantId=${grantId}`, {
      token: auditor,
    });
    expect(balance.status).toBe(404);
    const badAt = await app.request(
      'GET',
      `/v1/ledger/accounts/${WALLET}/balance?at=2026-02-30T00:00:00Z&grantId=${grantId}`,
      {
        token: auditor,
      },
    );
    expect(badAt.status).toBe(400);
    const badGrant = await app.request('GET', `/v1/ledger/accounts?grantId=not-a-grant`, { token: auditor });
    expect(badGrant.status).toBe(400);
    expect(badGrant.body.error.details.field).toBe('grantId');
    // The two misses were reads under the grant; the refused input was not.
    const log = await accessLog(grantId, await marker());
    expect(log.map((entry) => entry.operation)).toEqual(['ledger_get_transfer', 'ledger_get_balance']);
  });
});
