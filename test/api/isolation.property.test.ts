/**
 * The isolation rule of SPEC §1, as a property: after any sequence of commands across several
 * organizations, no answer to any query made with one organization's credentials contains
 * another organization's ids or emails, and asking for another organization's object by id
 * answers exactly as asking for one that does not exist (same status, same body but for the
 * request id), writing nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMBER_ROLES, SCOPES, type MemberRole, type Scope } from '../../src/domain/access.js';
import { QUERIES } from '../../src/commands/registry.js';
import { startTestApp, type Backend, type TestApp, type TestResponse } from '../support/app.js';
import { probePostgres, serviceGate } from '../support/services.js';

const PASSWORD = 'correct horse battery staple';
const ORGANIZATIONS = 3;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

interface Member {
  readonly memberId: string;
  email: string;
}
interface Key {
  readonly keyId: string;
  readonly apiKey: string;
  readonly scopes: readonly Scope[];
  active: boolean;
}
interface Org {
  readonly orgId: string;
  readonly adminToken: string;
  readonly admin: Member;
  readonly members: Member[];
  readonly keys: Key[];
}

/** What a run does; `org`, `target` and `pick` are folded into range when it runs. */
type Step =
  | { readonly kind: 'createMember'; readonly org: number; readonly role: MemberRole }
  | { readonly kind: 'createKey'; readonly org: number; readonly scopes: readonly Scope[] }
  | { readonly kind: 'revokeKey'; readonly org: number; readonly pick: number }
  | {
      readonly kind: 'updateProfile';
      readonly org: number;
      readonly pick: number;
      readonly newEmail: boolean;
    }
  | { readonly kind: 'deactivate'; readonly org: number; readonly pick: number }
  | {
      readonly kind: 'foreign';
      readonly org: number;
      readonly target: number;
      readonly action: ForeignAction;
      readonly pick: number;
    };

const FOREIGN_ACTIONS = [
  'get_member',
  'read_stream',
  'read_stream_later',
  'deactivate_member',
  'update_profile',
  'revoke_key',
  'update_key',
] as const;
type ForeignAction = (typeof FOREIGN_ACTIONS)[number];

const orgIndex = fc.nat({ max: ORGANIZATIONS - 1 });
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('createMember' as const),
    org: orgIndex,
    role: fc.constantFrom(...MEMBER_ROLES),
  }),
  fc.record({
    kind: fc.constant('createKey' as const),
    org: orgIndex,
    scopes: fc.subarray([...SCOPES], { minLength: 1 }),
  }),
  fc.record({ kind: fc.constant('revokeKey' as const), org: orgIndex, pick: fc.nat() }),
  fc.record({
    kind: fc.constant('updateProfile' as const),
    org: orgIndex,
    pick: fc.nat(),
    newEmail: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('deactivate' as const), org: orgIndex, pick: fc.nat() }),
  fc.record({
    kind: fc.constant('foreign' as const),
    org: orgIndex,
    target: fc.integer({ min: 1, max: ORGANIZATIONS - 1 }),
    action: fc.constantFrom(...FOREIGN_ACTIONS),
    pick: fc.nat(),
  }),
);

function missingId(prefix: string): string {
  const bytes = randomBytes(26);
  return `${prefix}_${[...bytes].map((byte) => CROCKFORD[byte % 32] ?? '0').join('')}`;
}

let serial = 0;
function uniqueEmail(label: string): string {
  serial += 1;
  return `${label}.${serial}.${randomUUID().slice(0, 8)}@isolation.test`;
}

function withoutRequestId(response: TestResponse): { status: number; body: unknown } {
  const body = response.body as { error?: Record<string, unknown> } | null;
  if (body && typeof body === 'object' && body.error) {
    const { requestId: _requestId, ...error } = body.error;
    return { status: response.status, body: { ...body, error } };
  }
  return { status: response.status, body };
}

function describeResponse(response: TestResponse): string {
  return `${response.status} ${JSON.stringify(response.body)}`;
}

const pgProbe = await probePostgres();
const BACKENDS: readonly { backend: Backend; run: boolean; numRuns: number }[] = [
  { backend: 'pglite', run: true, numRuns: 40 },
  { backend: 'postgres', run: serviceGate('isolation property on PostgreSQL', pgProbe), numRuns: 15 },
];

for (const { backend, run, numRuns } of BACKENDS) {
  describe.skipIf(!run)(`organization isolation on ${backend}`, () => {
    let app: TestApp;
    /** Every id and email ever made in this suite, lower-cased → the organization it belongs to. */
    const owner = new Map<string, string>();

    beforeAll(async () => {
      app = await startTestApp(backend);
    });
    afterAll(async () => {
      await app.close();
    });

    function own(orgId: string, ...values: string[]): void {
      for (const value of values) owner.set(value.toLowerCase(), orgId);
    }

    async function eventCount(): Promise<number> {
      const count = await app.server.runtime.store.countEvents?.();
      if (count === undefined) throw new Error('this event store cannot count its events');
      return count;
    }

    async function expectOk(
      response: Promise<TestResponse>,
      status: number,
    ): Promise<Record<string, unknown>> {
      const answer = await response;
      expect(answer.status, describeResponse(answer)).toBe(status);
      return answer.body as Record<string, unknown>;
    }

    async function newOrganization(index: number): Promise<Org> {
      const email = uniqueEmail(`admin${index}`);
      const created = await expectOk(
        app.request('POST', '/v1/organizations', {
          token: app.adminKey,
          body: { name: `Tenant ${index}`, admin: { email, name: `Admin ${index}`, password: PASSWORD } },
        }),
        201,
      );
      const orgId = created['orgId'] as string;
      // Logging in reads the members' read model: wait for it (read-your-writes), not for luck.
      await settle(created['position'] as string);
      const admin = { memberId: created['adminMemberId'] as string, email };
      own(orgId, orgId, admin.memberId, email);
      const session = await expectOk(
        app.request('POST', '/v1/auth/login', { body: { email, password: PASSWORD } }),
        200,
      );
      return { orgId, adminToken: session['accessToken'] as string, admin, members: [], keys: [] };
    }

    /** Waits (server side, bounded) until the read models have passed `position`. */
    async function settle(position: string): Promise<void> {
      await expectOk(
        app.request('GET', `/v1/organization?consistentWith=${position}`, { token: app.adminKey }),
        200,
      );
    }

    /** Runs one step; answers the position it wrote, if any. */
    async function perform(orgs: readonly Org[], s: Step): Promise<string | null> {
      const org = orgs[s.org]!;
      const token = org.adminToken;
      switch (s.kind) {
        case 'createMember': {
          const email = uniqueEmail(s.role);
          const body = await expectOk(
            app.request('POST', '/v1/members', {
              token,
              body: { email, name: `Someone ${s.role}`, role: s.role, password: PASSWORD },
            }),
            201,
          );
          const member = { memberId: body['memberId'] as string, email };
          org.members.push(member);
          own(org.orgId, member.memberId, email);
          return body['position'] as string;
        }
        case 'createKey': {
          const body = await expectOk(
            app.request('POST', '/v1/api-keys', { token, body: { name: 'robot', scopes: s.scopes } }),
            201,
          );
          org.keys.push({
            keyId: body['keyId'] as string,
            apiKey: body['apiKey'] as string,
            scopes: s.scopes,
            active: true,
          });
          own(org.orgId, body['keyId'] as string);
          // The key is a credential from now on, and authenticating reads the keys' read model.
          await settle(body['position'] as string);
          return body['position'] as string;
        }
        case 'revokeKey': {
          const key = org.keys[s.pick % Math.max(org.keys.length, 1)];
          if (!key) return null;
          const answer = await app.request('POST', `/v1/api-keys/${key.keyId}/revoke`, { token });
          expect([200, 409], describeResponse(answer)).toContain(answer.status);
          key.active = false;
          return (answer.body as { position?: string }).position ?? null;
        }
        case 'updateProfile': {
          const member = org.members[s.pick % Math.max(org.members.length, 1)] ?? org.admin;
          const email = s.newEmail ? uniqueEmail('renamed') : undefined;
          const answer = await app.request('PATCH', `/v1/members/${member.memberId}/profile`, {
            token,
            body: { name: 'Renamed', ...(email === undefined ? {} : { email }) },
          });
          // A deactivated member's profile cannot change (409).
          expect([200, 409], describeResponse(answer)).toContain(answer.status);
          if (answer.status === 200 && email !== undefined) {
            member.email = email;
            own(org.orgId, email);
          }
          return (answer.body as { position?: string }).position ?? null;
        }
        case 'deactivate': {
          const member = org.members[s.pick % Math.max(org.members.length, 1)];
          if (!member) return null;
          const answer = await app.request('POST', `/v1/members/${member.memberId}/deactivate`, { token });
          expect([200, 409], describeResponse(answer)).toContain(answer.status);
          return (answer.body as { position?: string }).position ?? null;
        }
        case 'foreign': {
          const target = orgs[(s.org + s.target) % orgs.length]!;
          await probeForeign(org, target, s.action, s.pick);
          return null;
        }
      }
    }

    /** Another organization's object and a missing one, asked for the same way: the same answer. */
    async function probeForeign(org: Org, target: Org, action: ForeignAction, pick: number): Promise<void> {
      const members = [target.admin, ...target.members];
      const member = members[pick % members.length]!;
      const key = target.keys[pick % Math.max(target.keys.length, 1)];
      // A missing stream is one in the caller's own namespace that does not exist.
      const missingStream = `${org.orgId}.organization-${missingId('org')}`;
      const targetStream = `${target.orgId}.organization-${target.orgId}`;
      const requests: Record<ForeignAction, (missing: boolean) => [string, string, unknown] | null> = {
        get_member: (missing) => [
          'GET',
          `/v1/members/${missing ? missingId('usr') : member.memberId}`,
          undefined,
        ],
        read_stream: (missing) => [
          'GET',
          `/v1/audit/streams/${missing ? missingStream : targetStream}`,
          undefined,
        ],
        read_stream_later: (missing) => [
          'GET',
          `/v1/audit/streams/${missing ? missingStream : targetStream}?fromRevision=1`,
          undefined,
        ],
        deactivate_member: (missing) => [
          'POST',
          `/v1/members/${missing ? missingId('usr') : member.memberId}/deactivate`,
          undefined,
        ],
        update_profile: (missing) => [
          'PATCH',
          `/v1/members/${missing ? missingId('usr') : member.memberId}/profile`,
          { name: 'Hijacked' },
        ],
        revoke_key: (missing) =>
          key ? ['POST', `/v1/api-keys/${missing ? missingId('key') : key.keyId}/revoke`, undefined] : null,
        update_key: (missing) =>
          key
            ? ['PATCH', `/v1/api-keys/${missing ? missingId('key') : key.keyId}`, { scopes: ['ledger:read'] }]
            : null,
      };
      const foreignRequest = requests[action](false);
      const missingRequest = requests[action](true);
      if (!foreignRequest || !missingRequest) return;
      const credentials = [org.adminToken, ...org.keys.filter((k) => k.active).map((k) => k.apiKey)].slice(
        0,
        2,
      );
      for (const credential of credentials) {
        const ask = ([method, path, body]: [string, string, unknown]): Promise<TestResponse> =>
          app.request(method, path, { token: credential, ...(body === undefined ? {} : { body }) });
        const before = await eventCount();
        const foreign = await ask(foreignRequest);
        const absent = await ask(missingRequest);
        expect(await eventCount(), `${action}: nothing is written`).toBe(before);
        expect(foreign.status, `${action} on another organization's object`).toBeGreaterThanOrEqual(400);
        expect(
          withoutRequestId(foreign),
          `${action}: another organization's object answers as a missing one`,
        ).toEqual(withoutRequestId(absent));
        expectNoForeignData(org, foreign, `${action} on another organization's object`);
      }
    }

    function expectNoForeignData(org: Org, response: TestResponse, label: string): void {
      const text = JSON.stringify(response.body).toLowerCase();
      for (const [value, orgId] of owner) {
        if (orgId !== org.orgId && text.includes(value)) {
          throw new Error(`${label}: the answer to ${org.orgId} contains ${value} of ${orgId}: ${text}`);
        }
      }
    }

    /** Every query of the catalog, with every credential of every organization. */
    async function checkEveryQuery(orgs: readonly Org[], position: string | null): Promise<void> {
      const consistent = position === null ? '' : `consistentWith=${position}`;
      for (const org of orgs) {
        const credentials = [
          org.adminToken,
          ...org.keys
            .filter((k) => k.active)
            .map((k) => k.apiKey)
            .slice(0, 2),
        ];
        const others = orgs.filter((other) => other !== org);
        const paths: [string, string][] = [
          ['get_organization', '/v1/organization'],
          ['list_organizations', '/v1/organizations?limit=200'],
          ['list_members', '/v1/members?limit=200'],
          ['get_member', `/v1/members/${org.admin.memberId}`],
          ['list_api_keys', '/v1/api-keys?limit=200'],
          ['audit_read_stream', `/v1/audit/streams/${org.orgId}.organization-${org.orgId}?limit=500`],
          ...org.members.map((m): [string, string] => ['get_member', `/v1/members/${m.memberId}`]),
        ];
        expect(new Set(paths.map(([name]) => name))).toEqual(new Set(QUERIES.map((query) => query.name)));
        for (const credential of credentials) {
          for (const [name, path] of paths) {
            const separator = path.includes('?') ? '&' : '?';
            const response = await app.request(
              'GET',
              consistent === '' ? path : `${path}${separator}${consistent}`,
              {
                token: credential,
              },
            );
            expect(response.status, `${name}: ${describeResponse(response)}`).toBeLessThan(500);
            expect(response.status, `${name}: ${describeResponse(response)}`).not.toBe(401);
            expectNoForeignData(org, response, `${name} (${path})`);
          }
          for (const other of others) {
            for (const m of [other.admin, ...other.members]) {
              const foreign = await app.request('GET', `/v1/members/${m.memberId}`, { token: credential });
              const absent = await app.request('GET', `/v1/members/${missingId('usr')}`, {
                token: credential,
              });
              expect(
                withoutRequestId(foreign),
                'another organization’s member answers as a missing one',
              ).toEqual(withoutRequestId(absent));
            }
            const foreignStream = await app.request(
              'GET',
              `/v1/audit/streams/${other.orgId}.organization-${other.orgId}`,
              { token: credential },
            );
            const absentStream = await app.request(
              'GET',
              `/v1/audit/streams/${org.orgId}.organization-${missingId('org')}`,
              {
                token: credential,
              },
            );
            expect(
              withoutRequestId(foreignStream),
              'another organization’s stream answers as a missing one',
            ).toEqual(withoutRequestId(absentStream));
          }
        }
        // Not vacuous: the organization sees all of its own members.
        const listed = await app.request(
          'GET',
          `/v1/members?limit=200${consistent === '' ? '' : `&${consistent}`}`,
          {
            token: org.adminToken,
          },
        );
        const ids = (listed.body as { items: { memberId: string }[] }).items
          .map((item) => item.memberId)
          .sort();
        expect(ids).toEqual([org.admin.memberId, ...org.members.map((m) => m.memberId)].sort());
      }
    }

    it(`keeps organizations apart under random command sequences (${numRuns} runs)`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
          const orgs: Org[] = [];
          for (let i = 0; i < ORGANIZATIONS; i += 1) orgs.push(await newOrganization(i));
          let position: string | null = null;
          for (const s of steps) position = (await perform(orgs, s)) ?? position;
          await checkEveryQuery(orgs, position);
        }),
        { numRuns },
      );
    }, 120_000);
  });
}
