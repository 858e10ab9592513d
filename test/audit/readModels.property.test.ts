/**
 * The ledger read models under audit grants, as a property over random sequences of grants
 * (with random scopes), revocations and reads among three organizations (PGlite, real HTTP),
 * checked against a model: a ledger read under a grant answers the granting organization's data
 * exactly when the grant names the reader's organization, is not revoked and holds ledger:read;
 * one without ledger:read is a 403; every other — a grant to someone else, a revoked one, a
 * made-up id — a 404. Without a grant id a reader sees only its own ledger. Each answered read,
 * and only those, is in the granting organization's access log.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { apiKey, bootstrapProjected, caughtUp, createOrg, type TestOrg } from '../support/auditOrgs.js';
import { createTransfers, openAccount } from '../support/ledgerHttp.js';

const ORGS = 3;
const RUNS = 25;
const STEPS_MAX = 12;
/** Rounds of `consistentWith` (each waits up to 2 s server-side) for the access log. */
const ACCESS_LOG_ROUNDS_MAX = 30;
const MADE_UP_GRANT = 'grt_01JZZZZZZZZZZZZZZZZZZZZZZZ';
const WALLET = 'customers:c1:wallet';
const SCOPE_SETS = [['ledger:read'], ['audit:read'], ['audit:read', 'ledger:read']] as const;
const READS = ['accounts', 'balance', 'balanceAt', 'transfers', 'transfer', 'history'] as const;
type Read = (typeof READS)[number];

type Step =
  | { readonly kind: 'grant'; readonly from: number; readonly to: number; readonly scopes: number }
  | { readonly kind: 'revoke'; readonly grant: number }
  | {
      readonly kind: 'read';
      /** The grant's own grantee reads (most reads), or `reader`. */
      readonly asGrantee: boolean;
      readonly reader: number;
      readonly grant: number;
      readonly read: Read;
    }
  | { readonly kind: 'readOwn'; readonly reader: number; readonly read: Read };

const org = fc.integer({ min: 0, max: ORGS - 1 });
const read = fc.constantFrom(...READS);
// Reads outnumber the rest, and most are the grantee's own, so live grants are read often.
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc
      .tuple(org, org, fc.nat({ max: SCOPE_SETS.length - 1 }))
      .filter(([from, to]) => from !== to)
      .map(([from, to, scopes]) => ({ kind: 'grant' as const, from, to, scopes })),
  },
  { weight: 1, arbitrary: fc.nat({ max: 10 }).map((grant) => ({ kind: 'revoke' as const, grant })) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.boolean(), fc.boolean(), org, fc.nat({ max: 10 }), read)
      .map(([grantee, often, reader, grant, which]) => ({
        kind: 'read' as const,
        asGrantee: grantee || often,
        reader,
        grant,
        read: which,
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(org, read)
      .map(([reader, which]) => ({ kind: 'readOwn' as const, reader, read: which })),
  },
);

/** Organization i's wallet holds (i + 1) × 10 KES from its one transfer `t{i}`. */
function walletOf(i: number): string {
  return `${(i + 1) * 10}.00`;
}

function pathOf(which: Read, transferId: string, grantId: string | null): string {
  const grant = grantId === null ? '' : `grantId=${grantId}`;
  const query = (...parts: string[]): string => {
    const search = [...parts, grant].filter((part) => part !== '').join('&');
    return search === '' ? '' : `?${search}`;
  };
  switch (which) {
    case 'accounts':
      return `/v1/ledger/accounts${query(`prefix=customers`)}`;
    case 'balance':
      return `/v1/ledger/accounts/${WALLET}/balance${query()}`;
    case 'balanceAt':
      return `/v1/ledger/accounts/${WALLET}/balance${query(`at=${new Date().toISOString()}`)}`;
    case 'transfers':
      return `/v1/ledger/transfers${query()}`;
    case 'transfer':
      return `/v1/ledger/transfers/${transferId}${query()}`;
    case 'history':
      return `/v1/ledger/accounts/${WALLET}/history${query()}`;
  }
}

/** What organization `owner`'s data looks like through each read: its wallet and its transfer. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read freely
function expectOrgData(which: Read, body: any, owner: number): void {
  switch (which) {
    case 'accounts':
      expect(body.items).toHaveLength(1);
      expect(body.items[0].balances.posted).toBe(walletOf(owner));
      break;
    case 'balance':
    case 'balanceAt':
      expect(body.balances.posted).toBe(walletOf(owner));
      break;
    case 'transfers':
      expect(body.items.map((item: { transferId: string }) => item.transferId)).toEqual([`t${owner}`]);
      break;
    case 'transfer':
      expect(body.transferId).toBe(`t${owner}`);
      break;
    case 'history':
      expect(body.items.map((item: { transferId: string }) => item.transferId)).toEqual([`t${owner}`]);
      break;
  }
}

describe('ledger read models under audit grants agree with a model (property, PGlite)', () => {
  let app: TestApp;
  const orgs: TestOrg[] = [];
  const readers: string[] = [];

  beforeAll(async () => {
    app = await startTestApp('pglite');
    await bootstrapProjected(app);
    let position = '';
    for (let i = 0; i < ORGS; i += 1) {
      const made = await createOrg(app, `org${i}`);
      orgs.push(made);
      readers.push(await apiKey(app, made.adminToken, ['ledger:read', 'audit:read']));
      await openAccount(app, made.adminToken, 'assets:cash');
      await openAccount(app, made.adminToken, WALLET, { type: 'liability' });
      const moved = await createTransfers(app, made.adminToken, [
        { transferId: `t${i}`, debitAccount: 'assets:cash', creditAccount: WALLET, amount: walletOf(i) },
      ]);
      position = moved.position ?? '';
    }
    await caughtUp(app, orgs[0]?.adminToken ?? '', '/v1/ledger/accounts', position);
  }, 180_000);

  afterAll(async () => {
    await app.close();
  });

  it('answers, refuses and logs exactly as the model says', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: STEPS_MAX }), async (steps) => {
        const grants: {
          id: string;
          from: number;
          to: number;
          scopes: readonly string[];
          revoked: boolean;
          logged: number;
        }[] = [];
        for (const current of steps) {
          switch (current.kind) {
            case 'grant': {
              const scopes = SCOPE_SETS[current.scopes] ?? SCOPE_SETS[0];
              const answer = await app.request('POST', '/v1/audit/grants', {
                token: orgs[current.from]?.adminToken ?? '',
                body: {
                  granteeOrgId: orgs[current.to]?.orgId,
                  scopes,
                  expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
                },
              });
              expect(answer.status).toBe(201);
              grants.push({
                id: answer.body.grantId as string,
                from: current.from,
                to: current.to,
                scopes,
                revoked: false,
                logged: 0,
              });
              break;
            }
            case 'revoke': {
              const grant = grants[current.grant % Math.max(grants.length, 1)];
              if (!grant) break;
              const answer = await app.request('POST', `/v1/audit/grants/${grant.id}/revoke`, {
                token: orgs[grant.from]?.adminToken ?? '',
                body: {},
              });
              expect(answer.status).toBe(200);
              grant.revoked = true;
              break;
            }
            case 'read': {
              const grant = grants[current.grant % Math.max(grants.length, 1)];
              const reader = current.asGrantee && grant ? grant.to : current.reader;
              // The transfer asked for is the granting organization's (or a third's, without a grant).
              const transferId = `t${grant?.from ?? (reader + 1) % ORGS}`;
              const answer = await app.request(
                'GET',
                pathOf(current.read, transferId, grant?.id ?? MADE_UP_GRANT),
                {
                  token: readers[reader] ?? '',
                },
              );
              const live = grant !== undefined && !grant.revoked && grant.to === reader;
              if (live && grant.scopes.includes('ledger:read')) {
                expect(answer.status, JSON.stringify(answer.body)).toBe(200);
                expectOrgData(current.read, answer.body, grant.from);
                grant.logged += 1;
              } else if (live) {
                expect(answer.status).toBe(403);
                expect(answer.body.error.details).toEqual({ requiredScope: 'ledger:read' });
              } else {
                expect(answer.status).toBe(404);
                expect(answer.body.error).toMatchObject({
                  code: 'NOT_FOUND',
                  message: 'No such audit grant.',
                });
              }
              break;
            }
            case 'readOwn': {
              const other = (current.reader + 1) % ORGS;
              // Another organization's transfer is missing; everything else is the reader's own.
              const answer = await app.request('GET', pathOf(current.read, `t${other}`, null), {
                token: readers[current.reader] ?? '',
              });
              if (current.read === 'transfer') expect(answer.status).toBe(404);
              else {
                expect(answer.status, JSON.stringify(answer.body)).toBe(200);
                expectOrgData(current.read, answer.body, current.reader);
              }
              break;
            }
          }
        }
        // Every read recorded is projected once the read models pass a later write.
        const marker = await openAccount(
          app,
          orgs[0]?.adminToken ?? '',
          `assets:m:${Math.random().toString(36).slice(2)}`,
        );
        for (const grant of grants) {
          let items: { operation: string }[] | null = null;
          for (let round = 0; round < ACCESS_LOG_ROUNDS_MAX && items === null; round += 1) {
            const answer = await app.request(
              'GET',
              `/v1/audit/access-log?grantId=${grant.id}&limit=100&consistentWith=${marker.position ?? ''}`,
              { token: orgs[grant.from]?.adminToken ?? '' },
            );
            if (answer.status === 409) continue;
            expect(answer.status).toBe(200);
            items = answer.body.items as { operation: string }[];
          }
          expect(items?.length, `access log of ${grant.id}`).toBe(grant.logged);
          expect(items?.every((item) => item.operation.startsWith('ledger_'))).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
