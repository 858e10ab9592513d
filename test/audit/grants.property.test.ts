/**
 * Isolation under audit grants, as a property over random sequences of grants, revocations and
 * reads among three organizations (PGlite, real HTTP): a read of another organization succeeds
 * exactly when a grant from it to the reader's organization exists and is not revoked; every
 * other read — a grant given to someone else, a revoked one, a made-up id, or no grant at all —
 * answers 404, never anything of the other organization.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { apiKey, bootstrapProjected, createOrg, type TestOrg } from '../support/auditOrgs.js';

const ORGS = 3;
const RUNS = 12;
const STEPS_MAX = 8;

type Step =
  | { readonly kind: 'grant'; readonly from: number; readonly to: number }
  | { readonly kind: 'revoke'; readonly grant: number }
  | { readonly kind: 'read'; readonly reader: number; readonly grant: number }
  | { readonly kind: 'readWithout'; readonly reader: number; readonly target: number };

const org = fc.integer({ min: 0, max: ORGS - 1 });
const step: fc.Arbitrary<Step> = fc.oneof(
  fc
    .tuple(org, org)
    .filter(([from, to]) => from !== to)
    .map(([from, to]) => ({ kind: 'grant' as const, from, to })),
  fc.nat({ max: 10 }).map((grant) => ({ kind: 'revoke' as const, grant })),
  fc.tuple(org, fc.nat({ max: 10 })).map(([reader, grant]) => ({ kind: 'read' as const, reader, grant })),
  fc
    .tuple(org, org)
    .filter(([reader, target]) => reader !== target)
    .map(([reader, target]) => ({ kind: 'readWithout' as const, reader, target })),
);

const MADE_UP_GRANT = 'grt_01JZZZZZZZZZZZZZZZZZZZZZZZ';

describe('audit grants: no organization reads another without a live grant (property, PGlite)', () => {
  let app: TestApp;
  const orgs: TestOrg[] = [];
  const readers: string[] = [];

  beforeAll(async () => {
    app = await startTestApp('pglite');
    await bootstrapProjected(app);
    for (let i = 0; i < ORGS; i += 1) {
      const made = await createOrg(app, `org${i}`);
      orgs.push(made);
      readers.push(await apiKey(app, made.adminToken, ['audit:read']));
    }
  }, 120_000);

  afterAll(async () => {
    await app.close();
  });

  it('reads succeed exactly under a live grant to the reader’s organization', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: STEPS_MAX }), async (steps) => {
        const grants: { id: string; from: number; to: number; revoked: boolean }[] = [];
        for (const current of steps) {
          switch (current.kind) {
            case 'grant': {
              const answer = await app.request('POST', '/v1/audit/grants', {
                token: orgs[current.from]?.adminToken ?? '',
                body: {
                  granteeOrgId: orgs[current.to]?.orgId,
                  scopes: ['audit:read'],
                  expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
                },
              });
              expect(answer.status).toBe(201);
              grants.push({
                id: answer.body.grantId as string,
                from: current.from,
                to: current.to,
                revoked: false,
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
              const answer = await app.request(
                'GET',
                `/v1/audit/verify?grantId=${grant?.id ?? MADE_UP_GRANT}`,
                {
                  token: readers[current.reader] ?? '',
                },
              );
              const allowed = grant !== undefined && !grant.revoked && grant.to === current.reader;
              expect(answer.status).toBe(allowed ? 200 : 404);
              if (allowed) expect(answer.body.orgId).toBe(orgs[grant.from]?.orgId);
              else expect(answer.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
              break;
            }
            case 'readWithout': {
              const target = orgs[current.target]?.orgId ?? '';
              const answer = await app.request('GET', `/v1/audit/streams/${target}.organization-${target}`, {
                token: readers[current.reader] ?? '',
              });
              expect(answer.status).toBe(404);
              break;
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});
