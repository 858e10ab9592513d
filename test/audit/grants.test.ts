/**
 * Audit grants over HTTP: an organization grants an auditor organization read access; the
 * grantee's auditors (and its audit:read keys) verify, read and list the granting
 * organization's events while the grant lives; everyone else — the grantee's other members,
 * a third organization, anyone after revocation or expiry — finds nothing (404) or is refused
 * (403); and the granting organization lists every read in its access log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type Backend, type TestApp } from '../support/app.js';
import {
  apiKey,
  bootstrapProjected,
  createOrg,
  grant,
  memberToken,
  type TestOrg,
} from '../support/auditOrgs.js';
import { probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const BACKENDS: readonly { readonly backend: Backend; readonly run: boolean }[] = [
  { backend: 'pglite', run: true },
  { backend: 'postgres', run: serviceGate('audit grants (PostgreSQL)', probe) },
];
/** Bounded polling for the one thing that must wait for the clock: a grant's expiry. */
const EXPIRY_POLL_MS = 200;
const EXPIRY_POLLS_MAX = 150;

for (const { backend, run } of BACKENDS) {
  describe.runIf(run)(`audit grants (${backend})`, () => {
    let app: TestApp;
    let owner: TestOrg;
    let auditorOrg: TestOrg;
    let third: TestOrg;
    let auditor: string;
    let thirdAuditor: string;

    beforeAll(async () => {
      app = await startTestApp(backend);
      await bootstrapProjected(app);
      owner = await createOrg(app, 'owner');
      auditorOrg = await createOrg(app, 'auditfirm');
      third = await createOrg(app, 'third');
      auditor = await memberToken(app, auditorOrg, 'auditor');
      thirdAuditor = await memberToken(app, third, 'auditor');
      const opened = await app.request('POST', '/v1/ledger/accounts', {
        token: owner.adminToken,
        body: { address: 'assets:cash', asset: 'KES', type: 'asset' },
      });
      expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    }, 120_000);

    afterAll(async () => {
      await app.close();
    });

    it('reads nothing across without a grant: a made-up grant id is a 404', async () => {
      const answer = await app.request('GET', `/v1/audit/verify?grantId=grt_01JZZZZZZZZZZZZZZZZZZZZZZZ`, {
        token: auditor,
      });
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('NOT_FOUND');
    });

    it('lets the grantee’s auditors verify, read and list while the grant lives, and logs each read', async () => {
      const grantId = await grant(app, owner, auditorOrg.orgId);
      const verify = await app.request('GET', `/v1/audit/verify?grantId=${grantId}`, { token: auditor });
      expect(verify.status, JSON.stringify(verify.body)).toBe(200);
      expect(verify.body).toMatchObject({ orgId: owner.orgId, ok: true, brokenLink: null, nextCursor: null });
      expect(verify.body.eventsChecked).toBeGreaterThan(0);

      const stream = `${owner.orgId}.organization-${owner.orgId}`;
      const read = await app.request('GET', `/v1/audit/streams/${stream}?grantId=${grantId}`, {
        token: auditor,
      });
      expect(read.status, JSON.stringify(read.body)).toBe(200);
      expect(read.body.events[0].type).toBe('OrganizationCreated');

      const events = await app.request('GET', `/v1/audit/events?grantId=${grantId}&type=AccountOpened`, {
        token: auditor,
      });
      expect(events.status, JSON.stringify(events.body)).toBe(200);
      expect(events.body.orgId).toBe(owner.orgId);
      expect(events.body.items.every((event: { orgId: string }) => event.orgId === owner.orgId)).toBe(true);

      // An API key of the grantee carrying audit:read reads too.
      const key = await apiKey(app, auditorOrg.adminToken, ['audit:read']);
      const byKey = await app.request('GET', `/v1/audit/verify?grantId=${grantId}&stream=${stream}`, {
        token: key,
      });
      expect(byKey.status, JSON.stringify(byKey.body)).toBe(200);

      // The granting organization sees each of those reads, in order.
      const log = await pollAccessLog(app, owner, grantId, 4);
      expect(log.map((entry) => entry.operation)).toEqual([
        'audit_verify_stream',
        'audit_read_stream',
        'audit_list_events',
        'audit_verify_stream',
      ]);
      expect(log[1]).toMatchObject({
        target: stream,
        granteeOrgId: auditorOrg.orgId,
        actor: { kind: 'member' },
      });
      expect(log[3]?.actor.kind).toBe('api_key');

      // The grantee lists the grant as grantee; the granter as granter.
      const held = await app.request('GET', '/v1/audit/grants?as=grantee', { token: auditor });
      expect(held.body.items.map((item: { grantId: string }) => item.grantId)).toContain(grantId);
      const given = await app.request('GET', '/v1/audit/grants', { token: owner.adminToken });
      expect(given.body.items.find((item: { grantId: string }) => item.grantId === grantId)).toMatchObject({
        status: 'active',
        granteeOrgId: auditorOrg.orgId,
      });
    });

    it('refuses the grantee’s members who are not auditors, and answers a third organization 404', async () => {
      const grantId = await grant(app, owner, auditorOrg.orgId);
      const viewer = await memberToken(app, auditorOrg, 'viewer');
      const asViewer = await app.request('GET', `/v1/audit/verify?grantId=${grantId}`, { token: viewer });
      expect(asViewer.status).toBe(403);
      const asAdmin = await app.request('GET', `/v1/audit/verify?grantId=${grantId}`, {
        token: auditorOrg.adminToken,
      });
      expect(asAdmin.status).toBe(403);
      const asThird = await app.request('GET', `/v1/audit/verify?grantId=${grantId}`, {
        token: thirdAuditor,
      });
      expect(asThird.status).toBe(404);
      // Without the grant id the auditor reads its own organization, never the owner's.
      const own = await app.request('GET', `/v1/audit/streams/${owner.orgId}.organization-${owner.orgId}`, {
        token: auditor,
      });
      expect(own.status).toBe(404);
    });

    it('answers 404 from the moment a grant is revoked', async () => {
      const grantId = await grant(app, owner, auditorOrg.orgId);
      expect(
        (await app.request('GET', `/v1/audit/verify?grantId=${grantId}`, { token: auditor })).status,
      ).toBe(200);
      const revoked = await app.request('POST', `/v1/audit/grants/${grantId}/revoke`, {
        token: owner.adminToken,
        body: { reason: 'engagement over' },
      });
      expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
      expect(revoked.body.status).toBe('revoked');
      const after = await app.request('GET', `/v1/audit/verify?grantId=${grantId}`, { token: auditor });
      expect(after.status).toBe(404);
      // Another organization cannot revoke what it did not grant.
      const foreign = await app.request('POST', `/v1/audit/grants/${grantId}/revoke`, {
        token: auditorOrg.adminToken,
        body: {},
      });
      expect(foreign.status).toBe(404);
    });

    it('answers 404 once a grant has expired (checked at read time)', async () => {
      const grantId = await grant(app, owner, auditorOrg.orgId, {
        expiresAt: new Date(Date.now() + 1_500).toISOString(),
      });
      let status = 0;
      for (let poll = 0; poll < EXPIRY_POLLS_MAX; poll += 1) {
        status = (await app.request('GET', `/v1/audit/verify?grantId=${grantId}`, { token: auditor })).status;
        if (status === 404) break;
        expect(status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, EXPIRY_POLL_MS));
      }
      expect(status).toBe(404);
      const given = await app.request('GET', '/v1/audit/grants', { token: owner.adminToken });
      expect(given.body.items.find((item: { grantId: string }) => item.grantId === grantId)?.status).toBe(
        'expired',
      );
    });

    it('refuses a grant without audit:read for audit reads, and bad grant input naming the field', async () => {
      const ledgerOnly = await grant(app, owner, auditorOrg.orgId, { scopes: ['ledger:read'] });
      const answer = await app.request('GET', `/v1/audit/verify?grantId=${ledgerOnly}`, { token: auditor });
      expect(answer.status).toBe(403);
      const past = await app.request('POST', '/v1/audit/grants', {
        token: owner.adminToken,
        body: { granteeOrgId: auditorOrg.orgId, scopes: ['audit:read'], expiresAt: '2000-01-01T00:00:00Z' },
      });
      expect(past.status).toBe(400);
      expect(past.body.error.details.field).toBe('expiresAt');
      const self = await app.request('POST', '/v1/audit/grants', {
        token: owner.adminToken,
        body: { granteeOrgId: owner.orgId, scopes: ['audit:read'], expiresAt: '2099-01-01T00:00:00Z' },
      });
      expect(self.status).toBe(400);
      const badScope = await app.request('POST', '/v1/audit/grants', {
        token: owner.adminToken,
        body: { granteeOrgId: auditorOrg.orgId, scopes: ['ledger:write'], expiresAt: '2099-01-01T00:00:00Z' },
      });
      expect(badScope.status).toBe(400);
      expect(badScope.body.error.details.field).toBe('scopes[0]');
      const byAuditor = await app.request('POST', '/v1/audit/grants', {
        token: auditor,
        body: { granteeOrgId: owner.orgId, scopes: ['audit:read'], expiresAt: '2099-01-01T00:00:00Z' },
      });
      expect(byAuditor.status).toBe(403);
    });
  });
}

interface AccessEntry {
  readonly operation: string;
  readonly target: string;
  readonly granteeOrgId: string;
  readonly actor: { readonly kind: string; readonly id: string };
}

/** The access log is a read model: wait (bounded) until it holds `count` entries for the grant. */
async function pollAccessLog(
  app: TestApp,
  owner: TestOrg,
  grantId: string,
  count: number,
): Promise<AccessEntry[]> {
  let items: AccessEntry[] = [];
  for (let poll = 0; poll < 100; poll += 1) {
    const answer = await app.request('GET', `/v1/audit/access-log?grantId=${grantId}`, {
      token: owner.adminToken,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    items = answer.body.items as AccessEntry[];
    if (items.length >= count) return items;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return items;
}
