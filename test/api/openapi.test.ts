/**
 * The REST surface as documented (SPEC §8 REST, §3): an OpenAPI 3.1 document at /docs/json
 * whose operationIds are exactly the catalog names, interactive docs at /docs, cursor
 * pagination on every list, consistentWith on every query, and a request id on every answer
 * that error bodies repeat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AnyCommand, AnyQuery } from '../../src/commands/catalog.js';
import { COMMANDS, QUERIES } from '../../src/commands/registry.js';
import { startTestApp, type Backend, type TestApp, type TestResponse } from '../support/app.js';
import { addressSegment, createTransfers, openAccount } from '../support/ledgerHttp.js';
import { pendingApprovalOverMcp, setApprovalPolicy } from '../support/approvals.js';
import { probePostgres, serviceGate } from '../support/services.js';
import { sampleCredentials } from '../support/providerCredentials.js';
import { CARD_RESOLVER_GIVES_UP_AT_ONCE, untilAlerts } from '../support/reconciliation.js';

const probe = await probePostgres();
const BACKENDS: readonly { readonly backend: Backend; readonly run: boolean }[] = [
  { backend: 'pglite', run: true },
  { backend: 'postgres', run: serviceGate('OpenAPI and request ids (PostgreSQL)', probe) },
];

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const PASSWORD = 'correct horse battery staple';

/** Names SPEC §8 fixes for what the catalogs already hold (the MCP tool names among them). */
const SPEC_NAMES = [
  'create_organization',
  'suspend_organization',
  'reactivate_organization',
  'create_member',
  'deactivate_member',
  'list_members',
  'list_api_keys',
  'authenticate_user',
  'refresh_token',
  'update_user_profile',
  'generate_api_key',
  'revoke_api_key',
  'update_api_key_permissions',
  'audit_read_stream',
  // The ledger's MCP tools (SPEC §8) and its REST operationIds.
  'ledger_open_account',
  'ledger_create_transfers',
  'ledger_post_pending',
  'ledger_void_pending',
  'ledger_reverse_transfer',
  'ledger_get_balance',
  'ledger_list_accounts',
  'ledger_list_transfers',
  'ledger_get_transfer',
];
/** Fixed paths (SPEC §8) served by catalog commands. */
const FIXED_COMMAND_PATHS: Record<string, string> = {
  authenticate_user: '/v1/auth/login',
  refresh_token: '/v1/auth/refresh',
  logout: '/v1/auth/logout',
};
/** Fixed routes that are not operations of the catalogs: never in the document. */
const HIDDEN_PATHS = ['/health', '/ready', '/docs', '/docs/json', '/metrics'];

interface Parameter {
  readonly in: string;
  readonly name: string;
  readonly required?: boolean;
  readonly schema?: Record<string, unknown>;
}

interface Operation {
  readonly operationId?: string;
  readonly summary?: string;
  readonly description?: string;
  readonly parameters?: readonly Parameter[];
  readonly security?: unknown;
  readonly requestBody?: unknown;
  readonly responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}

interface Document {
  readonly openapi: string;
  readonly paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
}

function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z]+)/g, '{$1}');
}

/**
 * A list is any query whose answer holds an array at its top level that can grow: an array
 * whose schema documents a maximum (a report's bounded lines) is a summary, not a list.
 */
function isList(query: AnyQuery): boolean {
  const schema = z.toJSONSchema(query.result, { io: 'output', unrepresentable: 'any' }) as {
    properties?: Record<string, { type?: unknown; maxItems?: number }>;
  };
  return Object.values(schema.properties ?? {}).some(
    (property) => property.type === 'array' && property.maxItems === undefined,
  );
}

const LIST_QUERIES = QUERIES.filter(isList);

/** The ledger account the pages read (balance, history) and the ones beside it. */
const PAGE_ACCOUNTS = ['assets:page:a', 'assets:page:b', 'assets:page:c'] as const;

/** The demo organization's customer with three saved cards and three held payments. */
let pageCustomer = '';

/** A path for a query, naming real objects of the demo organization. */
function pathParamsFor(demoOrgId: string): Record<string, string> {
  return {
    customerId: pageCustomer,
    stream: `${demoOrgId}.organization-${demoOrgId}`,
    address: addressSegment(PAGE_ACCOUNTS[0]),
    transferId: 'page-0',
    provider: 'stripe',
  };
}

function pathOf(query: AnyQuery, demoOrgId: string): string {
  const params = pathParamsFor(demoOrgId);
  return query.rest.path.replace(/:([A-Za-z]+)/g, (_all, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${query.name}: no value for :${name}`);
    return value;
  });
}

/** The property names a JSON schema documents for the items of its `items` or `events` array. */
function documentedItemProperties(schema: Record<string, unknown> | undefined): Set<string> | null {
  const properties = (schema?.['properties'] ?? {}) as Record<string, Record<string, unknown>>;
  const list = properties['items'] ?? properties['events'];
  const item = list?.['items'] as Record<string, unknown> | undefined;
  const names = item?.['properties'];
  return names && typeof names === 'object' ? new Set(Object.keys(names)) : null;
}

function operations(document: Document): { path: string; method: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ path, method, operation }] : [];
    }),
  );
}

for (const { backend, run } of BACKENDS) {
  describe.skipIf(!run)(`OpenAPI, pagination and request ids on ${backend}`, () => {
    let app: TestApp;
    let document: Document;

    beforeAll(async () => {
      // The card resolver gives up at once, so card payments left processing raise
      // reconciliation alerts for list_reconciliation_alerts to page through.
      app = await startTestApp(backend, { env: CARD_RESOLVER_GIVES_UP_AT_ONCE });
      const answer = await app.request('GET', '/docs/json');
      expect(answer.status).toBe(200);
      document = answer.body as Document;
    });

    afterAll(async () => {
      await app.close();
    });

    function operationOf(definition: AnyCommand | AnyQuery): Operation | undefined {
      const method = definition.kind === 'command' ? (definition.rest.method.toLowerCase() as 'post') : 'get';
      return document.paths[openApiPath(definition.rest.path)]?.[method];
    }

    describe('the document at /docs/json', () => {
      it('is OpenAPI 3.1', () => {
        expect(document.openapi).toMatch(/^3\.1\.\d+$/);
      });

      it('has exactly one operation per catalog entry, its operationId the catalog name', () => {
        const ids = operations(document).map(({ operation }) => operation.operationId);
        const names = [...COMMANDS, ...QUERIES].map((definition) => definition.name);
        expect(new Set(names).size, 'catalog names are unique').toBe(names.length);
        expect([...ids].sort()).toEqual([...names].sort());
      });

      it('documents every entry at its own method and path, with its title and description', () => {
        for (const definition of [...COMMANDS, ...QUERIES]) {
          const operation = operationOf(definition);
          expect(operation, `${definition.name} at ${definition.rest.path}`).toBeDefined();
          expect(operation?.operationId).toBe(definition.name);
          expect(operation?.summary).toBe(definition.title);
          expect(operation?.description).toBe(definition.description);
          expect((operation?.summary ?? '').length).toBeGreaterThan(0);
          expect((operation?.description ?? '').length).toBeGreaterThan(20);
        }
      });

      it('uses the names the specification fixes, and its fixed paths', () => {
        const ids = new Set(operations(document).map(({ operation }) => operation.operationId));
        for (const name of SPEC_NAMES) expect(ids.has(name), name).toBe(true);
        for (const [name, path] of Object.entries(FIXED_COMMAND_PATHS)) {
          expect(document.paths[path]?.post?.operationId, path).toBe(name);
        }
        for (const path of Object.keys(document.paths)) expect(path).toMatch(/^\/v1\//);
      });

      it('leaves the fixed routes that are not operations out', () => {
        for (const path of HIDDEN_PATHS) expect(document.paths[path], path).toBeUndefined();
      });

      it('documents path parameters, the bearer credential and Idempotency-Key', () => {
        for (const definition of [...COMMANDS, ...QUERIES]) {
          const operation = operationOf(definition)!;
          const parameters = operation.parameters ?? [];
          for (const [, name] of definition.rest.path.matchAll(/:([A-Za-z]+)/g)) {
            expect(
              parameters.find((parameter) => parameter.in === 'path' && parameter.name === name),
              `${definition.name}: path parameter ${name ?? ''}`,
            ).toMatchObject({ required: true });
          }
          const isPublic = definition.kind === 'command' && definition.audience === 'public';
          if (isPublic) expect(operation.security, definition.name).toBeUndefined();
          else expect(operation.security, definition.name).toEqual([{ bearer: [] }]);
          if (definition.kind === 'command' && !isPublic) {
            expect(
              parameters.some(
                (parameter) =>
                  parameter.in === 'header' && parameter.name.toLowerCase() === 'idempotency-key',
              ),
              `${definition.name}: Idempotency-Key`,
            ).toBe(true);
          }
        }
      });

      it('documents consistentWith on every query', () => {
        for (const query of QUERIES) {
          const parameters = operationOf(query)?.parameters ?? [];
          expect(
            parameters.some((parameter) => parameter.in === 'query' && parameter.name === 'consistentWith'),
            query.name,
          ).toBe(true);
        }
      });

      it('documents grantId on every query that reads under an audit grant, saying what it is for', () => {
        const takesGrant = (query: AnyQuery): boolean => {
          const schema = z.toJSONSchema(query.params, { io: 'input', unrepresentable: 'any' }) as {
            properties?: Record<string, unknown>;
          };
          return 'grantId' in (schema.properties ?? {});
        };
        const granted = QUERIES.filter((query) => takesGrant(query) && query.scope !== 'audit:read');
        expect(granted.map((query) => query.name)).toEqual(
          expect.arrayContaining(['ledger_get_balance', 'ledger_list_transfers', 'ledger_account_history']),
        );
        // The access log's grantId filters the log; every other one reads under the grant.
        for (const query of QUERIES.filter(
          (each) => takesGrant(each) && each.name !== 'audit_list_access_log',
        )) {
          const parameter = (operationOf(query)?.parameters ?? []).find(
            (each) => each.in === 'query' && each.name === 'grantId',
          ) as (Parameter & { description?: string }) | undefined;
          expect(parameter, query.name).toBeDefined();
          expect(parameter?.required ?? false, query.name).toBe(false);
          const description =
            parameter?.description ?? (parameter?.schema?.['description'] as string | undefined);
          expect(String(description), query.name).toMatch(/audit grant/);
          expect(parameter?.schema?.['pattern'], query.name).toBe('^grt_[0-9A-Z]{26}$');
        }
      });

      it('documents cursor and limit on every list, and nextCursor in its answer', () => {
        expect(LIST_QUERIES.length).toBeGreaterThan(0);
        const missing: string[] = [];
        for (const query of LIST_QUERIES) {
          const operation = operationOf(query)!;
          const parameters = operation.parameters ?? [];
          for (const name of ['cursor', 'limit']) {
            if (!parameters.some((parameter) => parameter.in === 'query' && parameter.name === name)) {
              missing.push(`${query.name}: no ${name} parameter`);
            }
          }
          const limit = parameters.find((parameter) => parameter.name === 'limit');
          if (limit && typeof limit.schema?.['maximum'] !== 'number')
            missing.push(`${query.name}: limit unbounded`);
          const answer = operation.responses?.['200']?.content?.['application/json']?.schema;
          const properties = (answer?.['properties'] ?? {}) as Record<string, unknown>;
          if (!('nextCursor' in properties)) missing.push(`${query.name}: no nextCursor in the answer`);
        }
        expect(missing).toEqual([]);
      });
    });

    it('serves interactive docs at /docs as HTML', async () => {
      const page = await fetch(`${app.url}/docs`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect((await page.text()).toLowerCase()).toContain('<html');
    });

    describe('cursor pagination', () => {
      let lastPosition = '0-0';
      beforeAll(async () => {
        for (let i = 0; i < 3; i += 1) {
          const member = await app.request('POST', '/v1/members', {
            token: app.demoKey,
            body: {
              email: `page${i}-${backend}@example.com`,
              name: `Page ${i}`,
              role: 'viewer',
              password: PASSWORD,
            },
          });
          expect(member.status).toBe(201);
          const key = await app.request('POST', '/v1/api-keys', {
            token: app.demoKey,
            body: { name: `page ${i}`, scopes: ['ledger:read'] },
          });
          expect(key.status).toBe(201);
          const org = await app.request('POST', '/v1/organizations', {
            token: app.adminKey,
            body: { name: `Page Org ${i}` },
          });
          expect(org.status).toBe(201);
          lastPosition = org.body.position as string;
          const customer = await app.request('POST', '/v1/customers', {
            token: app.demoKey,
            body: { name: `Page Customer ${i}` },
          });
          expect(customer.status).toBe(201);
        }
        // The ledger's lists: three accounts (with world:KES, four), three transfers, and every
        // transfer touching the first account, so that its history has six postings.
        for (const address of PAGE_ACCOUNTS) await openAccount(app, app.demoKey, address);
        const written = await createTransfers(
          app,
          app.demoKey,
          [0, 1, 2].map((i) => ({
            transferId: `page-${i}`,
            debitAccount: PAGE_ACCOUNTS[0],
            creditAccount: PAGE_ACCOUNTS[1 + (i % 2)] ?? PAGE_ACCOUNTS[1],
            amount: `${i + 1}.00`,
          })),
        );
        lastPosition = written.position ?? lastPosition;
        // One transfer per answer too, so the transfers do not all share one position.
        for (const i of [3, 4]) {
          const single = await createTransfers(app, app.demoKey, [
            {
              transferId: `page-${i}`,
              debitAccount: PAGE_ACCOUNTS[2],
              creditAccount: PAGE_ACCOUNTS[0],
              amount: '0.50',
              pending: { timeoutSeconds: 3600 },
            },
          ]);
          lastPosition = single.position ?? lastPosition;
        }
        // Three approvals: agents' transfers over MCP that the policy holds back.
        const approvalPolicy = await setApprovalPolicy(app, app.demoKey, { thresholds: { KES: '100.00' } });
        await app.request('GET', `/v1/organization?consistentWith=${approvalPolicy}`, { token: app.demoKey });
        for (const i of [0, 1, 2]) {
          await pendingApprovalOverMcp(app, app.demoKey, {
            transferId: `page-held-${i}`,
            debitAccount: PAGE_ACCOUNTS[0],
            creditAccount: PAGE_ACCOUNTS[1],
            amount: '500.00',
          });
        }
        // Three providers' credentials, for list_provider_credentials.
        for (const provider of ['mpesa', 'stripe', 'plaid'] as const) {
          const set = await app.request('PUT', '/v1/provider-credentials', {
            token: app.demoKey,
            body: { provider, credentials: sampleCredentials(provider) },
          });
          expect(set.status, JSON.stringify(set.body)).toBe(200);
          lastPosition = set.body.position as string;
        }
        // Three M-Pesa collections, for mpesa_transaction_history.
        for (let i = 0; i < 3; i += 1) {
          const collection = await app.request('POST', '/v1/mpesa/stk-push', {
            token: app.demoKey,
            body: { phone: `07123456${i}0`, amount: '10', accountReference: 'PAGE', description: 'Page' },
          });
          expect(collection.status).toBe(201);
        }
        // The audit lists: three grants the demo organization gave an auditor organization,
        // three reads made under one of them (the access log), and a last grant whose position
        // is past those reads.
        const auditors = await app.request('POST', '/v1/organizations', {
          token: app.adminKey,
          body: {
            name: 'Page Auditors',
            admin: { email: `auditors-${backend}@example.com`, name: 'Auditors', password: PASSWORD },
          },
        });
        expect(auditors.status).toBe(201);
        // A login finds the new admin once it is projected: under load that can take a while.
        for (let attempt = 0; attempt < 30; attempt += 1) {
          const seen = await app.request(
            'GET',
            `/v1/organizations?consistentWith=${auditors.body.position}`,
            {
              token: app.adminKey,
            },
          );
          if (seen.status !== 409) break;
        }
        const login = await app.request('POST', '/v1/auth/login', {
          body: { email: `auditors-${backend}@example.com`, password: PASSWORD },
        });
        expect(login.status, JSON.stringify(login.body)).toBe(200);
        const auditorKey = await app.request('POST', '/v1/api-keys', {
          token: login.body.accessToken as string,
          body: { name: 'page auditor', scopes: ['audit:read'] },
        });
        expect(auditorKey.status).toBe(201);
        const grantTo = async (): Promise<{ grantId: string; position: string }> => {
          const granted = await app.request('POST', '/v1/audit/grants', {
            token: app.demoKey,
            body: {
              granteeOrgId: auditors.body.orgId,
              scopes: ['audit:read'],
              expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
            },
          });
          expect(granted.status, JSON.stringify(granted.body)).toBe(201);
          return granted.body as { grantId: string; position: string };
        };
        const first = await grantTo();
        await grantTo();
        for (let i = 0; i < 3; i += 1) {
          const read = await app.request('GET', `/v1/audit/verify?grantId=${first.grantId}`, {
            token: auditorKey.body.apiKey as string,
          });
          expect(read.status).toBe(200);
        }
        lastPosition = (await grantTo()).position;
        // Payments: three cards of one customer, each charged for an amount the matrix policy
        // holds (a first payment this large scores 30), so three payments and three alerts.
        const policy = await app.request('PATCH', '/v1/payments/settings', {
          token: app.demoKey,
          body: {
            fraudPolicy: { reviewScore: 30, blockScore: 90, unusualHoursStart: 0, unusualHoursEnd: 0 },
          },
        });
        expect(policy.status, JSON.stringify(policy.body)).toBe(200);
        const payer = await app.request('POST', '/v1/customers', {
          token: app.demoKey,
          body: { name: 'Page Payer' },
        });
        expect(payer.status).toBe(201);
        pageCustomer = payer.body.customerId as string;
        for (let i = 0; i < 3; i += 1) {
          const card = await app.request('POST', `/v1/customers/${pageCustomer}/payment-methods`, {
            token: app.demoKey,
            body: { token: 'tok_visa', setDefault: true },
          });
          expect(card.status, JSON.stringify(card.body)).toBe(201);
          const paid = await app.request('POST', '/v1/payments', {
            token: app.demoKey,
            body: { customerId: pageCustomer, amount: '60000.00', currency: 'USD' },
          });
          expect(paid.status, JSON.stringify(paid.body)).toBe(201);
          expect(paid.body.status).toBe('held');
          lastPosition = paid.body.position as string;
        }
        // Three card payments the processor never settles: the resolver raises three alerts.
        const waiting = await app.request('POST', '/v1/customers', {
          token: app.demoKey,
          body: { name: 'Page Unresolved' },
        });
        expect(waiting.status).toBe(201);
        for (let i = 0; i < 3; i += 1) {
          const card = await app.request('POST', `/v1/customers/${waiting.body.customerId}/payment-methods`, {
            token: app.demoKey,
            body: { token: 'tok_processing', setDefault: true },
          });
          expect(card.status, JSON.stringify(card.body)).toBe(201);
          const paid = await app.request('POST', '/v1/payments', {
            token: app.demoKey,
            body: { customerId: waiting.body.customerId, amount: '5.00', currency: 'USD' },
          });
          expect(paid.status, JSON.stringify(paid.body)).toBe(201);
          expect(paid.body.status).toBe('pending');
        }
        expect(await untilAlerts(app, app.demoKey, '?state=open', 3)).toHaveLength(3);
      });

      it.each(LIST_QUERIES.map((query) => ({ name: query.name, query })))(
        '$name: limit=1 pages visit every item once, then nextCursor is null',
        async ({ query }) => {
          const token = query.audience === 'platform' ? app.adminKey : app.demoKey;
          const path = pathOf(query, app.demoOrgId);
          const all = await app.request('GET', `${path}?limit=200&consistentWith=${lastPosition}`, { token });
          expect(all.status, JSON.stringify(all.body)).toBe(200);
          expect(all.body, `${query.name} answers nextCursor`).toHaveProperty('nextCursor');
          expect(all.body.nextCursor).toBeNull();
          // A list answers its rows as `items`; a stream read answers them as `events`.
          const rows = (body: { items?: unknown[]; events?: unknown[] }): unknown[] =>
            body.items ?? body.events ?? [];
          const everything = rows(all.body);
          expect(everything.length).toBeGreaterThanOrEqual(3);
          // The answer says no more than its documented schema: no field the document leaves out.
          const documented = documentedItemProperties(
            operationOf(query)?.responses?.['200']?.content?.['application/json']?.schema,
          );
          expect(documented, `${query.name}: its items are documented`).not.toBeNull();
          for (const row of everything as Record<string, unknown>[]) {
            const undocumented = Object.keys(row).filter((name) => !documented?.has(name));
            expect(undocumented, `${query.name}: fields its OpenAPI schema does not document`).toEqual([]);
          }

          const seen: unknown[] = [];
          let cursor: string | null = null;
          for (let page = 0; page <= everything.length; page += 1) {
            const search: string =
              cursor === null ? 'limit=1' : `limit=1&cursor=${encodeURIComponent(cursor)}`;
            const answer = await app.request('GET', `${path}?${search}`, { token });
            expect(answer.status, JSON.stringify(answer.body)).toBe(200);
            expect(rows(answer.body).length).toBeLessThanOrEqual(1);
            seen.push(...rows(answer.body));
            cursor = answer.body.nextCursor as string | null;
            if (cursor === null) break;
          }
          expect(cursor).toBeNull();
          expect(seen).toEqual(everything);
        },
      );
    });

    describe('request ids', () => {
      it('every answer carries x-request-id, each its own, and error bodies repeat it', async () => {
        const answers: [string, TestResponse][] = [];
        const add = async (what: string, answer: Promise<TestResponse>): Promise<void> => {
          answers.push([what, await answer]);
        };
        await add('health', app.request('GET', '/health'));
        await add('ready', app.request('GET', '/ready'));
        await add('docs json', app.request('GET', '/docs/json'));
        await add('a query', app.request('GET', '/v1/organization', { token: app.demoKey }));
        await add(
          'a command',
          app.request('POST', '/v1/api-keys', {
            token: app.demoKey,
            body: { name: 'rid', scopes: ['ledger:read'] },
          }),
        );
        await add(
          'validation',
          app.request('POST', '/v1/members', { token: app.demoKey, body: { email: 1 } }),
        );
        await add(
          'malformed JSON',
          app.request('POST', '/v1/members', {
            token: app.demoKey,
            rawBody: '{"email"',
            headers: { 'content-type': 'application/json' },
          }),
        );
        await add(
          'unsupported content type',
          app.request('POST', '/v1/members', {
            token: app.demoKey,
            rawBody: 'a=b',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
        );
        await add(
          'body too large',
          app.request('POST', '/v1/members', {
            token: app.demoKey,
            rawBody: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
            headers: { 'content-type': 'application/json' },
          }),
        );
        await add('no credential', app.request('GET', '/v1/organization'));
        await add('a bad credential', app.request('GET', '/v1/organization', { token: 'lk_live_nope' }));
        await add('a forbidden operation', app.request('GET', '/v1/organizations', { token: app.demoKey }));
        await add('no such route', app.request('GET', '/v1/nothing-here'));
        await add(
          'no such object',
          app.request('GET', `/v1/members/usr_${'0'.repeat(26)}`, { token: app.demoKey }),
        );
        await add(
          'a conflict',
          app.request('POST', '/v1/members', {
            token: app.demoKey,
            body: { email: 'demo-admin@ledgerline.local', name: 'Dup', role: 'viewer', password: PASSWORD },
          }),
        );
        await add(
          'a URL that does not decode',
          app.request('GET', '/v1/members/%E0%A4%A', { token: app.demoKey }),
        );
        await add(
          'an overlong path parameter',
          app.request('GET', `/v1/members/${'m'.repeat(5000)}`, { token: app.demoKey }),
        );

        const ids = new Set<string>();
        for (const [what, answer] of answers) {
          const id = answer.headers.get('x-request-id');
          expect(id, `${what}: x-request-id`).toMatch(/^req_[0-9a-f]{32}$/);
          ids.add(id ?? '');
          if (answer.status >= 400) {
            expect(answer.body, `${what}: the error envelope`).toMatchObject({
              error: { code: expect.any(String), message: expect.any(String), details: expect.any(Object) },
            });
            expect(answer.body.error.requestId, `${what}: the body repeats the request id`).toBe(id);
          }
        }
        expect(ids.size, 'every answer has its own id').toBe(answers.length);
        const statuses = new Set(answers.map(([, answer]) => answer.status));
        for (const status of [200, 201, 400, 401, 403, 404, 409, 413, 415])
          expect(statuses.has(status), String(status)).toBe(true);
      });
    });
  });
}
