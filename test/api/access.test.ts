/**
 * Who may do what, over REST, against SPEC §1 — a role × operation matrix over every command
 * and query of the catalogs, plus the credential rules around it (missing, garbage, revoked,
 * suspended organization, keys never exceeding their creator).
 *
 * The expectations are written out from the specification (ALLOWED below), not computed by the
 * code's own `authorize`: a matrix that asked the code what it allows could not fail.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMBER_ROLES, ROLE_SCOPES, type MemberRole, type Scope } from '../../src/domain/access.js';
import type { AnyCommand, AnyQuery } from '../../src/commands/catalog.js';
import { COMMANDS, QUERIES } from '../../src/commands/registry.js';
import { startTestApp, type Backend, type TestApp, type TestResponse } from '../support/app.js';
import { pendingApprovalOverMcp, setApprovalPolicy } from '../support/approvals.js';
import { openReconciliationAlert } from '../support/reconciliation.js';
import { addressSegment, createTransfers, openAccount } from '../support/ledgerHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';
import { sampleCredentials } from '../support/providerCredentials.js';
import type { Provider } from '../../src/domain/vault/providers.js';

type Definition = AnyCommand | AnyQuery;

const PASSWORD = 'correct horse battery staple';
const ALL_ROLES = MEMBER_ROLES;
const OPERATORS = ['viewer', 'user', 'manager', 'org_admin'] as const;
/** SPEC §1: a user operates (payments, trades): moving money on the ledger. */
const MOVE_MONEY: readonly MemberRole[] = ['user', 'manager', 'org_admin'];
/**
 * SPEC §1: a manager also approves and reverses. Reversals, and shaping the chart of accounts
 * (opening and closing accounts, their credit limits — what bounds every payment), are the
 * manager's and above.
 */
const MANAGE_LEDGER: readonly MemberRole[] = ['manager', 'org_admin'];

/**
 * SPEC §1, operation by operation: the member roles that may run it on their own organization.
 *   viewer (read) · user (operate) · manager (approvals, reversals, fraud review) ·
 *   org_admin (members, keys, credentials, settings, subscription) ·
 *   auditor (read + audit tools, no commands).
 * Reading the audit trail is an audit tool: the auditor's, and the org admin's, who hands out
 * audit:read in keys and "a key can never hold more than the member who made it".
 * Ending one's own session is not operating the organization: everyone may log out.
 */
const ALLOWED: Readonly<Record<string, readonly MemberRole[]>> = {
  // commands
  update_organization_settings: ['org_admin'],
  create_member: ['org_admin'],
  deactivate_member: ['org_admin'],
  update_user_profile: OPERATORS, // one's own profile; someone else's is tested below
  generate_api_key: ['org_admin'],
  revoke_api_key: ['org_admin'],
  update_api_key_permissions: ['org_admin'],
  logout: ALL_ROLES,
  // ledger commands (ledger:write: never the auditor, who reads but never commands)
  ledger_open_account: MANAGE_LEDGER,
  ledger_close_account: MANAGE_LEDGER,
  ledger_change_limit: MANAGE_LEDGER,
  ledger_reverse_transfer: MANAGE_LEDGER,
  ledger_create_transfers: MOVE_MONEY,
  ledger_post_pending: MOVE_MONEY,
  ledger_void_pending: MOVE_MONEY,
  // customers (payments:write to change, payments:read to read)
  create_customer: MOVE_MONEY,
  update_customer: MOVE_MONEY,
  // M-Pesa: collecting and paying out is operating; reversing is the manager's; asking M-Pesa
  // about a payment or the float writes its answer, so it is a command every operator may run.
  mpesa_stk_push: MOVE_MONEY,
  mpesa_bulk_payment: MOVE_MONEY,
  mpesa_reverse_transaction: MANAGE_LEDGER,
  // a person's call on what the provider's statement shows (REST only, logged in)
  resolve_reconciliation_alert: MANAGE_LEDGER,
  mpesa_check_status: OPERATORS,
  mpesa_check_balance: OPERATORS,
  // payments and fraud (SPEC §1: a user operates payments; a manager reverses and reviews fraud;
  // the org admin owns settings; every role reads, fraud scores included — a scan writes nothing)
  update_payment_settings: ['org_admin'],
  add_payment_method: MOVE_MONEY,
  initiate_payment: MOVE_MONEY,
  process_refund: MANAGE_LEDGER,
  scan_transaction: ALL_ROLES,
  review_flagged_transaction: MANAGE_LEDGER,
  get_payment_settings: ALL_ROLES,
  list_payments: ALL_ROLES,
  list_reconciliation_alerts: ALL_ROLES,
  get_payment: ALL_ROLES,
  list_payment_methods: ALL_ROLES,
  list_fraud_alerts: ALL_ROLES,
  get_customer_risk: ALL_ROLES,
  generate_fraud_report: ALL_ROLES,
  // SPEC §1, §6: a manager also approves what an agent asked for (a person logged in)
  approve_request: MANAGE_LEDGER,
  reject_request: MANAGE_LEDGER,
  // queries
  get_organization: ALL_ROLES,
  list_members: ALL_ROLES,
  get_member: ALL_ROLES,
  list_api_keys: ['org_admin', 'auditor'],
  audit_read_stream: ['org_admin', 'auditor'],
  // ledger reads (ledger:read): every role reads the books, the auditor included
  ledger_list_accounts: ALL_ROLES,
  ledger_get_balance: ALL_ROLES,
  ledger_list_transfers: ALL_ROLES,
  ledger_get_transfer: ALL_ROLES,
  ledger_account_history: ALL_ROLES,
  list_customers: ALL_ROLES,
  get_customer: ALL_ROLES,
  mpesa_transaction_history: ALL_ROLES,
  mpesa_generate_report: ALL_ROLES,
  // provider credentials (SPEC §1: the org admin manages credentials; commands need
  // credentials:write). The inventory (status, fingerprints) is the org admin's too.
  set_provider_credentials: ['org_admin'],
  rotate_provider_credentials: ['org_admin'],
  revoke_provider_credentials: ['org_admin'],
  list_provider_credentials: ['org_admin'],
  get_provider_credentials: ['org_admin'],
  // what a member may do, and approvals: readable by everyone in the organization
  get_member_permissions: ALL_ROLES,
  get_approval: ALL_ROLES,
  list_approvals: ALL_ROLES,
  // Audit (SPEC §7): grants are the org admin's (members:write); the audit reads are the
  // auditor's and the org admin's (audit:read).
  audit_grant_access: ['org_admin'],
  audit_revoke_grant: ['org_admin'],
  audit_verify_stream: ['org_admin', 'auditor'],
  audit_list_events: ['org_admin', 'auditor'],
  audit_list_grants: ['org_admin', 'auditor'],
  audit_list_access_log: ['org_admin', 'auditor'],
  audit_export: ['org_admin', 'auditor'],
};

/** The scope each ledger operation needs (SPEC §1 scopes): reads ledger:read, the rest ledger:write. */
const LEDGER_SCOPE: Readonly<Record<string, Scope>> = Object.fromEntries(
  Object.keys(ALLOWED)
    .filter((name) => name.startsWith('ledger_'))
    .map((name) => [
      name,
      /^ledger_(list|get|account_history)/.test(name) ? ('ledger:read' as const) : ('ledger:write' as const),
    ]),
);

/**
 * Cells where the code disagrees with ALLOWED. Each runs as `it.fails`: it starts failing loudly
 * (as an unexpected pass) the day the code is brought in line, so the entry can be removed.
 */
const KNOWN_DISAGREEMENTS: Readonly<Record<string, string>> = {
  'auditor list_api_keys':
    'list_api_keys has minRole org_admin and the auditor has no rank, so the auditor (SPEC: "read + audit tools") cannot read the key list, although src/domain/access.ts says "the auditor reads everything an org admin reads"',
};

const ORGANIZATION_OPS: readonly Definition[] = [...COMMANDS, ...QUERIES].filter(
  (definition) => definition.audience === 'organization',
);
const PLATFORM_OPS: readonly Definition[] = [...COMMANDS, ...QUERIES].filter(
  (definition) => definition.audience === 'platform',
);
const PUBLIC_OPS: readonly Definition[] = COMMANDS.filter((definition) => definition.audience === 'public');

interface ErrorBody {
  readonly error: { code: string; message: string; details: Record<string, unknown>; requestId: string };
}
interface LoginBody {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly memberId: string;
  readonly orgId: string;
  readonly role: string;
  readonly scopes: string[];
}
interface Written {
  readonly position: string | null;
}

function errorOf(response: TestResponse): ErrorBody['error'] {
  return (response.body as ErrorBody).error;
}

function describeResponse(response: TestResponse): string {
  return `${response.status} ${JSON.stringify(response.body)}`;
}

let serial = 0;
function unique(label: string): string {
  serial += 1;
  return `${label}-${serial}-${randomUUID().slice(0, 8)}`;
}

/** A request for one operation: path parameters, the rest as body (commands) or query (queries). */
interface Call {
  readonly params?: Record<string, string>;
  readonly input?: Record<string, unknown>;
  /** Another credential than the caller's (logout ends a session of its own). */
  readonly token?: string;
  /** More to check of an allowed call's answer than its status (a 200 can still refuse inside). */
  readonly verify?: (response: TestResponse) => void;
}

function routeOf(definition: Definition, call: Call): { method: string; path: string; body?: unknown } {
  const params = call.params ?? {};
  const path = definition.rest.path.replace(/:([A-Za-z]+)/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${definition.name}: no value for :${name}`);
    return encodeURIComponent(value);
  });
  if (definition.kind === 'query') {
    const query = new URLSearchParams(
      Object.entries(call.input ?? {}).map(([name, value]): [string, string] => [name, String(value)]),
    ).toString();
    return { method: 'GET', path: query === '' ? path : `${path}?${query}` };
  }
  return { method: definition.rest.method, path, body: call.input ?? {} };
}

const pgProbe = await probePostgres();
const BACKENDS: readonly { backend: Backend; run: boolean }[] = [
  { backend: 'pglite', run: true },
  { backend: 'postgres', run: serviceGate('access matrix on PostgreSQL', pgProbe) },
];

describe('the expectation table', () => {
  it('names exactly the organization operations of the catalogs', () => {
    expect(ORGANIZATION_OPS.map((definition) => definition.name).sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it('allows a ledger operation only to roles whose scopes (ROLE_SCOPES) hold its scope', () => {
    // A cross-check of the table against SPEC §1's scopes, not against the code's authorize:
    // a role may be refused what its scopes hold (rank), never allowed what they do not.
    expect(Object.keys(LEDGER_SCOPE).length).toBe(12);
    for (const [name, scope] of Object.entries(LEDGER_SCOPE)) {
      for (const role of ALLOWED[name] ?? []) {
        expect(ROLE_SCOPES[role], `${role} may run ${name}, so holds ${scope}`).toContain(scope);
      }
      // The auditor holds ledger:read and nothing that writes.
      expect(ALLOWED[name]?.includes('auditor'), name).toBe(scope === 'ledger:read');
    }
    expect(ROLE_SCOPES.auditor).not.toContain('ledger:write');
    expect(ROLE_SCOPES.viewer).not.toContain('ledger:write');
  });

  it('knows the platform and public operations of the catalogs', () => {
    expect(PLATFORM_OPS.map((definition) => definition.name).sort()).toEqual([
      'change_organization_plan',
      'create_organization',
      'list_organizations',
      'reactivate_organization',
      'suspend_organization',
    ]);
    expect(PUBLIC_OPS.map((definition) => definition.name).sort()).toEqual([
      'authenticate_user',
      'refresh_token',
    ]);
  });
});

for (const { backend, run } of BACKENDS) {
  describe.skipIf(!run)(`access control over REST on ${backend}`, () => {
    let app: TestApp;
    let orgId: string;
    let orgStream: string;
    let admin: { token: string; memberId: string; email: string };
    const members = new Map<MemberRole, { token: string; memberId: string; email: string }>();

    async function eventCount(): Promise<number> {
      const count = await app.server.runtime.store.countEvents?.();
      if (count === undefined) throw new Error('this event store cannot count its events');
      return count;
    }

    async function login(email: string, loginOrgId?: string): Promise<LoginBody> {
      const response = await app.request('POST', '/v1/auth/login', {
        body: { email, password: PASSWORD, ...(loginOrgId === undefined ? {} : { orgId: loginOrgId }) },
      });
      expect(response.status, describeResponse(response)).toBe(200);
      return response.body as LoginBody;
    }

    async function createOrganization(
      name: string,
    ): Promise<{ orgId: string; token: string; memberId: string; email: string }> {
      const email = `${unique('admin')}@access.test`;
      const created = await app.request('POST', '/v1/organizations', {
        token: app.adminKey,
        body: { name, admin: { email, name: 'Org Admin', password: PASSWORD } },
      });
      expect(created.status, describeResponse(created)).toBe(201);
      const body = created.body as { orgId: string; adminMemberId: string; position: string };
      // Logging in reads the members' read model: wait for it (read-your-writes), not for luck.
      await settle(body.position);
      const session = await login(email);
      return { orgId: body.orgId, token: session.accessToken, memberId: body.adminMemberId, email };
    }

    async function createMember(
      token: string,
      role: MemberRole,
    ): Promise<{ memberId: string; email: string; position: string }> {
      const email = `${unique(role)}@access.test`;
      const response = await app.request('POST', '/v1/members', {
        token,
        body: { email, name: `A ${role}`, role, password: PASSWORD },
      });
      expect(response.status, describeResponse(response)).toBe(201);
      const body = response.body as { memberId: string; position: string };
      await settle(body.position);
      return { memberId: body.memberId, email, position: body.position };
    }

    async function createKey(
      token: string,
      scopes: readonly Scope[],
    ): Promise<{ keyId: string; apiKey: string; position: string }> {
      const response = await app.request('POST', '/v1/api-keys', {
        token,
        body: { name: unique('key'), scopes },
      });
      expect(response.status, describeResponse(response)).toBe(201);
      const key = response.body as { keyId: string; apiKey: string; position: string };
      // Authenticating with a key reads the keys' read model.
      await settle(key.position);
      return key;
    }

    /** Waits (server side, bounded) until the read models have passed `position`. */
    async function settle(position: string | null): Promise<void> {
      if (position === null) return;
      const response = await app.request('GET', `/v1/organization?consistentWith=${position}`, {
        token: app.demoKey,
      });
      expect(response.status, describeResponse(response)).toBe(200);
    }

    async function send(
      definition: Definition,
      call: Call,
      token: string | undefined,
    ): Promise<TestResponse> {
      const route = routeOf(definition, call);
      return app.request(route.method, route.path, {
        ...(token === undefined ? {} : { token }),
        ...(route.body === undefined ? {} : { body: route.body }),
      });
    }

    /**
     * A valid request for every organization operation, with whatever it needs made beforehand
     * by the organization's admin, so that an allowed caller succeeds.
     */
    const FIXTURES: Readonly<
      Record<string, (caller: { memberId: string; email: string }, role: MemberRole) => Promise<Call>>
    > = {
      update_organization_settings: () => Promise.resolve({ input: { defaultCurrency: 'KES' } }),
      create_member: () =>
        Promise.resolve({
          input: { email: `${unique('new')}@access.test`, name: 'New', role: 'viewer', password: PASSWORD },
        }),
      deactivate_member: async () => {
        const target = await createMember(admin.token, 'viewer');
        return { params: { memberId: target.memberId } };
      },
      update_user_profile: (caller) =>
        Promise.resolve({ params: { memberId: caller.memberId }, input: { name: unique('Renamed') } }),
      generate_api_key: () => Promise.resolve({ input: { name: unique('key'), scopes: ['ledger:read'] } }),
      revoke_api_key: async () => {
        const key = await createKey(admin.token, ['ledger:read']);
        return { params: { keyId: key.keyId } };
      },
      update_api_key_permissions: async () => {
        const key = await createKey(admin.token, ['ledger:read']);
        return { params: { keyId: key.keyId }, input: { scopes: ['ledger:read', 'payments:read'] } };
      },
      logout: async (caller) => {
        const session = await login(caller.email);
        return { token: session.accessToken };
      },
      get_organization: () => Promise.resolve({}),
      list_members: () => Promise.resolve({}),
      get_member: (caller) => Promise.resolve({ params: { memberId: caller.memberId } }),
      list_api_keys: () => Promise.resolve({}),
      audit_read_stream: () => Promise.resolve({ params: { stream: orgStream } }),
      // The ledger: what a call needs is made by the admin first, fresh for each call.
      ledger_open_account: () =>
        Promise.resolve({ input: { address: ledgerAddress('opened'), asset: 'KES', type: 'asset' } }),
      ledger_close_account: async () => {
        const address = ledgerAddress('to-close');
        await openAccount(app, admin.token, address);
        return { params: { address } };
      },
      ledger_change_limit: async () => {
        const address = ledgerAddress('limited');
        await openAccount(app, admin.token, address, {
          type: 'liability',
          flags: { debitsMustNotExceedCredits: true },
        });
        return { params: { address }, input: { creditLimit: '250.00' } };
      },
      ledger_create_transfers: () =>
        Promise.resolve({
          input: {
            transfers: [
              { transferId: unique('tr'), debitAccount: FLOAT, creditAccount: WALLET, amount: '1.00' },
            ],
          },
          verify: (response) => {
            expect((response.body as { created: number }).created, describeResponse(response)).toBe(1);
          },
        }),
      ledger_post_pending: async () => {
        const transferId = await adminTransfer(true);
        return { params: { transferId }, input: { amount: '0.50' } };
      },
      ledger_void_pending: async () => {
        const transferId = await adminTransfer(true);
        return { params: { transferId } };
      },
      ledger_reverse_transfer: async () => {
        const transferId = await adminTransfer(false);
        return { params: { transferId }, input: { reversalId: unique('rev') } };
      },
      ledger_list_accounts: () => Promise.resolve({ input: { limit: 200 } }),
      ledger_get_balance: () => Promise.resolve({ params: { address: WALLET } }),
      ledger_list_transfers: () => Promise.resolve({ input: { account: WALLET } }),
      ledger_get_transfer: async () => ({ params: { transferId: await adminTransfer(false) } }),
      ledger_account_history: () => Promise.resolve({ params: { address: WALLET } }),
      create_customer: () => Promise.resolve({ input: { name: unique('Customer') } }),
      update_customer: async () => ({
        params: { customerId: await adminCustomer() },
        input: { name: unique('Renamed') },
      }),
      list_customers: () => Promise.resolve({}),
      get_customer: async () => ({ params: { customerId: await adminCustomer() } }),
      // The simulator never calls back for this number: no callback lands in a later test's count.
      mpesa_stk_push: async () => {
        await adminSetsCredentials('mpesa');
        return {
          input: {
            phone: NO_CALLBACK_PHONE,
            amount: '10',
            accountReference: 'ACCESS',
            description: 'Access',
          },
        };
      },
      mpesa_bulk_payment: async () => {
        await adminSetsCredentials('mpesa');
        return {
          input: {
            batchId: unique('batch'),
            remarks: 'access',
            payouts: [{ phone: '0712345678', amount: '10', reference: 'access' }],
          },
        };
      },
      mpesa_reverse_transaction: async () => ({
        params: { paymentId: await adminCollection(true) },
        input: { reason: 'access matrix' },
      }),
      mpesa_check_status: async () => ({
        params: { paymentId: await adminCollection(false) },
        input: { refresh: false },
      }),
      // An open alert each time, on a collection of the admin's (raised as the resolver does).
      resolve_reconciliation_alert: async () => {
        const raised = await openReconciliationAlert(app, orgId, await adminCollection(false));
        await settle(raised.position);
        return {
          params: { alertId: raised.alertId },
          input: { resolution: 'acknowledged', note: 'checked the statement' },
        };
      },
      mpesa_check_balance: () => Promise.resolve({ input: {} }),
      mpesa_transaction_history: () => Promise.resolve({}),
      mpesa_generate_report: () =>
        Promise.resolve({
          input: {
            from: new Date(Date.now() - 86_400_000).toISOString(),
            to: new Date(Date.now() + 86_400_000).toISOString(),
          },
        }),
      // Setting works the first time or after a revocation; the M-Pesa fixtures set them again as needed.
      set_provider_credentials: async () => {
        await adminSetsCredentials('mpesa');
        const revoked = await app.request('POST', '/v1/provider-credentials/mpesa/revoke', {
          token: admin.token,
          body: {},
        });
        expect(revoked.status, describeResponse(revoked)).toBe(200);
        await settle((revoked.body as { position: string }).position);
        return { input: { provider: 'mpesa', credentials: sampleCredentials('mpesa') } };
      },
      rotate_provider_credentials: async () => {
        await adminSetsCredentials('plaid');
        return { input: { provider: 'plaid', credentials: sampleCredentials('plaid') } };
      },
      revoke_provider_credentials: async () => {
        await adminSetsCredentials('alpaca');
        return { params: { provider: 'alpaca' } };
      },
      list_provider_credentials: () => Promise.resolve({}),
      get_provider_credentials: async () => {
        await adminSetsCredentials('stripe');
        return { params: { provider: 'stripe' } };
      },
      update_payment_settings: () => Promise.resolve({ input: { fraudPolicy: QUIET_HOURS } }),
      get_payment_settings: () => Promise.resolve({}),
      add_payment_method: async () => ({
        params: { customerId: await adminCustomer() },
        input: { token: 'tok_visa' },
      }),
      initiate_payment: async () => ({
        input: { customerId: await adminCustomerWithCard(), amount: '5.00', currency: 'USD' },
        verify: (response) => {
          expect((response.body as { status: string }).status, describeResponse(response)).toBe('succeeded');
        },
      }),
      process_refund: async () => ({
        params: { paymentId: (await adminPayment('5.00')).paymentId },
        input: { amount: '1.00' },
      }),
      scan_transaction: () =>
        Promise.resolve({
          input: { kind: 'card_payment', amount: '1.00', currency: 'USD', counterparty: 'pm_scan' },
        }),
      review_flagged_transaction: async () => ({
        input: { alertId: (await adminPayment(HELD_AMOUNT)).alertId, decision: 'reject', notes: 'No' },
      }),
      list_payments: () => Promise.resolve({}),
      list_reconciliation_alerts: () => Promise.resolve({}),
      get_payment: async () => ({ params: { paymentId: (await adminPayment('2.00')).paymentId } }),
      list_payment_methods: async () => ({ params: { customerId: await adminCustomerWithCard() } }),
      list_fraud_alerts: () => Promise.resolve({}),
      get_customer_risk: async () => ({ params: { customerId: await adminCustomer() } }),
      generate_fraud_report: () =>
        Promise.resolve({
          input: { from: '2020-01-01T00:00:00Z', to: '2020-12-31T00:00:00Z', format: 'csv' },
        }),
      get_member_permissions: (caller) => Promise.resolve({ params: { memberId: caller.memberId } }),
      // An approval exists only as an agent's held-back MCP call: one fresh per call.
      approve_request: async () => ({
        params: { approvalId: await agentApproval() },
        input: { note: 'fine' },
      }),
      reject_request: async () => ({
        params: { approvalId: await agentApproval() },
        input: { reason: 'no' },
      }),
      get_approval: async () => ({ params: { approvalId: await agentApproval() } }),
      list_approvals: () => Promise.resolve({}),
      audit_grant_access: async () => ({
        input: { granteeOrgId: await auditorOrg(), scopes: ['audit:read'], expiresAt: inAYear() },
      }),
      audit_revoke_grant: async () => ({ params: { grantId: await adminGrant() }, input: {} }),
      audit_verify_stream: () => Promise.resolve({ input: { stream: orgStream } }),
      audit_list_events: () => Promise.resolve({ input: { limit: 5 } }),
      audit_list_grants: () => Promise.resolve({}),
      audit_list_access_log: () => Promise.resolve({}),
      audit_export: () => Promise.resolve({}),
    };

    /** An M-Pesa collection the admin makes (paid, when asked: the simulator calls back at once); its id. */
    async function adminCollection(paid: boolean): Promise<string> {
      await adminSetsCredentials('mpesa');
      serial += 1;
      const response = await app.request('POST', '/v1/mpesa/stk-push', {
        token: admin.token,
        body: {
          // A new payer each time: the fraud rules would hold a phone paying again and again.
          phone: paid ? `0711${String(serial).padStart(6, '0')}` : NO_CALLBACK_PHONE,
          amount: '20',
          accountReference: 'ACCESS',
          description: 'Access',
        },
      });
      expect(response.status, describeResponse(response)).toBe(201);
      const paymentId = (response.body as { paymentId: string }).paymentId;
      let last = '';
      for (let attempt = 0; paid && attempt < COLLECTION_POLLS_MAX; attempt += 1) {
        const status = await app.request('POST', `/v1/mpesa/payments/${paymentId}/status`, {
          token: admin.token,
          body: { refresh: false },
        });
        last = JSON.stringify(status.body);
        if ((status.body as { status: string }).status === 'succeeded') return paymentId;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(paid, `collection ${paymentId} was paid: ${last}`).toBe(false);
      return paymentId;
    }

    let auditors: string | null = null;

    /** An auditor organization to grant to (made once, by the platform admin). */
    async function auditorOrg(): Promise<string> {
      if (auditors !== null) return auditors;
      const created = await app.request('POST', '/v1/organizations', {
        token: app.adminKey,
        body: { name: unique('Auditors') },
      });
      expect(created.status, describeResponse(created)).toBe(201);
      auditors = (created.body as { orgId: string }).orgId;
      await settle((created.body as { position: string }).position);
      return auditors;
    }

    function inAYear(): string {
      return new Date(Date.now() + 365 * 86_400_000).toISOString();
    }

    /** A grant the admin gives the auditor organization; its id. */
    async function adminGrant(): Promise<string> {
      const response = await app.request('POST', '/v1/audit/grants', {
        token: admin.token,
        body: { granteeOrgId: await auditorOrg(), scopes: ['audit:read'], expiresAt: inAYear() },
      });
      expect(response.status, describeResponse(response)).toBe(201);
      await settle((response.body as { position: string }).position);
      return (response.body as { grantId: string }).grantId;
    }

    /** The M-Pesa simulator's magic number whose callback never comes. */
    const NO_CALLBACK_PHONE = '254700000404';
    /** How many times a fixture asks whether the simulator's callback has paid a collection. */
    const COLLECTION_POLLS_MAX = 400;
    /** An approval the admin's agent asked for over MCP (the policy holds back anything over 0.50). */
    async function agentApproval(): Promise<string> {
      return pendingApprovalOverMcp(app, admin.token, {
        transferId: unique('held'),
        debitAccount: FLOAT,
        creditAccount: WALLET,
        amount: '1.00',
      });
    }

    /** No rule fires for the hour of day: scores do not depend on when the suite runs. */
    const QUIET_HOURS = { unusualHoursStart: 0, unusualHoursEnd: 0 };
    /** A first payment this large with a card scores 30: held under the matrix's policy. */
    const HELD_AMOUNT = '60000.00';

    /** A customer of the admin's with a saved card (the simulator's good one); its id. */
    async function adminCustomerWithCard(): Promise<string> {
      const customerId = await adminCustomer();
      const method = await app.request('POST', `/v1/customers/${customerId}/payment-methods`, {
        token: admin.token,
        body: { token: 'tok_visa' },
      });
      expect(method.status, describeResponse(method)).toBe(201);
      await settle((method.body as Written).position);
      return customerId;
    }

    /** A card payment the admin takes (succeeded, or held when large), settled; its ids. */
    async function adminPayment(amount: string): Promise<{ paymentId: string; alertId: string | null }> {
      const response = await app.request('POST', '/v1/payments', {
        token: admin.token,
        body: { customerId: await adminCustomerWithCard(), amount, currency: 'USD' },
      });
      expect(response.status, describeResponse(response)).toBe(201);
      const body = response.body as { paymentId: string; alertId: string | null; position: string };
      await settle(body.position);
      return body;
    }

    /** A customer the admin creates, read-your-writes settled; its id. */
    async function adminCustomer(): Promise<string> {
      const response = await app.request('POST', '/v1/customers', {
        token: admin.token,
        body: { name: unique('Customer') },
      });
      expect(response.status, describeResponse(response)).toBe(201);
      const body = response.body as { customerId: string; position: string };
      await settle(body.position);
      return body.customerId;
    }

    /** Credentials for `provider` set by the admin (fresh ones, unless they are set already). */
    async function adminSetsCredentials(provider: Provider): Promise<void> {
      const response = await app.request('PUT', '/v1/provider-credentials', {
        token: admin.token,
        body: { provider, credentials: sampleCredentials(provider) },
      });
      if (response.status === 409) return;
      expect(response.status, describeResponse(response)).toBe(200);
      await settle((response.body as { position: string }).position);
    }

    /** The two accounts every transfer of the matrix moves between (unbounded: never short). */
    const FLOAT = 'assets:access:float';
    const WALLET = 'customers:access:wallet';

    function ledgerAddress(label: string): string {
      return `assets:access:${unique(label)}`;
    }

    /** A transfer the admin makes (pending or posted), read-your-writes settled; its id. */
    async function adminTransfer(pending: boolean): Promise<string> {
      const transferId = unique(pending ? 'pending' : 'posted');
      const written = await createTransfers(app, admin.token, [
        {
          transferId,
          debitAccount: FLOAT,
          creditAccount: WALLET,
          amount: '2.00',
          ...(pending ? { pending: { timeoutSeconds: 3600 } } : {}),
        },
      ]);
      await settle(written.position);
      return transferId;
    }

    /** Platform operations aimed at the caller's own organization. */
    const PLATFORM_CALLS: Readonly<Record<string, () => Call>> = {
      create_organization: () => ({ input: { name: unique('Sneaky') } }),
      suspend_organization: () => ({ params: { orgId }, input: { reason: 'self-service' } }),
      reactivate_organization: () => ({ params: { orgId }, input: { reason: 'self-service' } }),
      change_organization_plan: () => ({ params: { orgId }, input: { plan: 'enterprise' } }),
      list_organizations: () => ({}),
    };

    beforeAll(async () => {
      app = await startTestApp(backend);
      const org = await createOrganization('Access Matrix');
      orgId = org.orgId;
      orgStream = `${orgId}.organization-${orgId}`;
      admin = { token: org.token, memberId: org.memberId, email: org.email };
      for (const role of ALL_ROLES) {
        const member = await createMember(admin.token, role);
        const session = await login(member.email);
        members.set(role, { token: session.accessToken, memberId: member.memberId, email: member.email });
      }
      await openAccount(app, admin.token, FLOAT);
      const wallet = await openAccount(app, admin.token, WALLET, { type: 'liability' });
      await settle(wallet.position);
      await adminSetsCredentials('stripe');
      const policy = await app.request('PATCH', '/v1/payments/settings', {
        token: admin.token,
        body: { fraudPolicy: { ...QUIET_HOURS, reviewScore: 30, blockScore: 90 } },
      });
      expect(policy.status, describeResponse(policy)).toBe(200);
      await settle(await setApprovalPolicy(app, admin.token, { thresholds: { KES: '0.50' } }));
    });

    afterAll(async () => {
      await app.close();
    });

    describe('logging in', () => {
      it.each(ALL_ROLES)('gives a %s exactly the scopes of its role', async (role) => {
        const member = members.get(role)!;
        const session = await login(member.email);
        expect(session.role).toBe(role);
        expect(session.orgId).toBe(orgId);
        expect([...session.scopes].sort()).toEqual([...ROLE_SCOPES[role]].sort());
      });
    });

    describe('organization operations, role by role', () => {
      for (const definition of ORGANIZATION_OPS) {
        for (const role of ALL_ROLES) {
          const allowed = ALLOWED[definition.name]?.includes(role) ?? false;
          const known = KNOWN_DISAGREEMENTS[`${role} ${definition.name}`];
          const title = `${definition.name} ${allowed ? 'is allowed' : 'is refused'} to a ${role}${known ? ` — known disagreement: ${known}` : ''}`;
          const test = known === undefined ? it : it.fails;
          test(title, async () => {
            const caller = members.get(role)!;
            const fixture = FIXTURES[definition.name];
            if (!fixture) throw new Error(`no fixture for ${definition.name}`);
            const call = await fixture(caller, role);
            const before = await eventCount();
            const response = await send(definition, call, call.token ?? caller.token);
            if (allowed) {
              expect(response.status, describeResponse(response)).toBeGreaterThanOrEqual(200);
              expect(response.status, describeResponse(response)).toBeLessThan(300);
              call.verify?.(response);
            } else {
              expect(response.status, describeResponse(response)).toBe(403);
              expect(errorOf(response).code).toBe('FORBIDDEN');
              expect(await eventCount(), 'a refused command writes nothing').toBe(before);
            }
          });
        }
      }

      it.each(OPERATORS.filter((role) => role !== 'org_admin'))(
        'refuses a %s changing someone else’s profile, writing nothing',
        async (role) => {
          const caller = members.get(role)!;
          const before = await eventCount();
          const response = await app.request('PATCH', `/v1/members/${admin.memberId}/profile`, {
            token: caller.token,
            body: { email: `${unique('hijack')}@evil.test` },
          });
          expect(response.status, describeResponse(response)).toBe(403);
          expect(errorOf(response).code).toBe('FORBIDDEN');
          expect(await eventCount()).toBe(before);
        },
      );

      it('lets an org admin change someone else’s profile', async () => {
        const target = await createMember(admin.token, 'user');
        const response = await app.request('PATCH', `/v1/members/${target.memberId}/profile`, {
          token: admin.token,
          body: { name: 'Changed by the admin' },
        });
        expect(response.status, describeResponse(response)).toBe(200);
      });
    });

    describe('platform operations', () => {
      for (const definition of PLATFORM_OPS) {
        it.each(ALL_ROLES)(`refuses ${definition.name} to a %s, writing nothing`, async (role) => {
          const caller = members.get(role)!;
          const call = PLATFORM_CALLS[definition.name]?.();
          if (!call) throw new Error(`no call for ${definition.name}`);
          const before = await eventCount();
          const response = await send(definition, call, caller.token);
          expect(response.status, describeResponse(response)).toBe(403);
          expect(errorOf(response).code).toBe('FORBIDDEN');
          expect(await eventCount()).toBe(before);
        });

        it(`refuses ${definition.name} to the organization's own admin API key`, async () => {
          const key = await createKey(admin.token, ['ledger:read', 'keys:write', 'members:write']);
          const call = PLATFORM_CALLS[definition.name]?.();
          if (!call) throw new Error(`no call for ${definition.name}`);
          const response = await send(definition, call, key.apiKey);
          expect(response.status, describeResponse(response)).toBe(403);
          expect(errorOf(response).code).toBe('FORBIDDEN');
        });
      }

      it('allows every platform operation to the platform admin key', async () => {
        const byName = new Map(PLATFORM_OPS.map((definition) => [definition.name, definition]));
        const op = (name: string): Definition => byName.get(name)!;
        const created = await send(
          op('create_organization'),
          { input: { name: unique('Platform made') } },
          app.adminKey,
        );
        expect(created.status, describeResponse(created)).toBe(201);
        const target = (created.body as { orgId: string }).orgId;
        const steps: [string, Call][] = [
          ['change_organization_plan', { params: { orgId: target }, input: { plan: 'pro' } }],
          ['suspend_organization', { params: { orgId: target }, input: { reason: 'testing' } }],
          ['reactivate_organization', { params: { orgId: target }, input: { reason: 'testing' } }],
          ['list_organizations', { input: { limit: 200 } }],
        ];
        for (const [name, call] of steps) {
          const response = await send(op(name), call, app.adminKey);
          expect(response.status, `${name}: ${describeResponse(response)}`).toBe(200);
        }
        const listed = await app.request(
          'GET',
          `/v1/organizations?limit=200&consistentWith=${(created.body as Written).position ?? ''}`,
          {
            token: app.adminKey,
          },
        );
        const ids = (listed.body as { items: { orgId: string }[] }).items.map((item) => item.orgId);
        expect(ids).toContain(target);
        expect(ids).toContain(orgId);
      });
    });

    describe('public operations', () => {
      // SPEC §1 isolation: nothing about another organization is learned without its credential.
      it('answers a wrong password the same whether the email belongs to one organization or several', async () => {
        const shared = `${unique('shared')}@access.test`;
        for (const name of ['Tenant One', 'Tenant Two']) {
          const created = await app.request('POST', '/v1/organizations', {
            token: app.adminKey,
            body: { name, admin: { email: shared, name: 'Shared', password: PASSWORD } },
          });
          expect(created.status, describeResponse(created)).toBe(201);
          await settle((created.body as Written).position);
        }
        const wrong = await app.request('POST', '/v1/auth/login', {
          body: { email: shared, password: 'not the password at all' },
        });
        const unknown = await app.request('POST', '/v1/auth/login', {
          body: { email: `${unique('nobody')}@access.test`, password: 'not the password at all' },
        });
        expect(unknown.status).toBe(401);
        expect(wrong.status, describeResponse(wrong)).toBe(unknown.status);
        expect(errorOf(wrong).code).toBe(errorOf(unknown).code);
      });

      it('logs in and refreshes without any credential', async () => {
        const member = members.get('viewer')!;
        const session = await login(member.email);
        const refreshed = await app.request('POST', '/v1/auth/refresh', {
          body: { refreshToken: session.refreshToken },
        });
        expect(refreshed.status, describeResponse(refreshed)).toBe(200);
        const tokens = refreshed.body as LoginBody;
        expect(tokens.refreshToken).not.toBe(session.refreshToken);
        const me = await app.request('GET', '/v1/organization', { token: tokens.accessToken });
        expect(me.status).toBe(200);
      });

      it('revokes the whole family when a spent refresh token is presented again', async () => {
        const member = members.get('user')!;
        const session = await login(member.email);
        const first = await app.request('POST', '/v1/auth/refresh', {
          body: { refreshToken: session.refreshToken },
        });
        expect(first.status).toBe(200);
        const next = (first.body as LoginBody).refreshToken;
        const replay = await app.request('POST', '/v1/auth/refresh', {
          body: { refreshToken: session.refreshToken },
        });
        expect(replay.status, describeResponse(replay)).toBe(401);
        expect(errorOf(replay).code).toBe('UNAUTHENTICATED');
        const afterReuse = await app.request('POST', '/v1/auth/refresh', { body: { refreshToken: next } });
        expect(afterReuse.status, describeResponse(afterReuse)).toBe(401);
      });
    });

    describe('credentials', () => {
      const CREDENTIALED_OPS = [...ORGANIZATION_OPS, ...PLATFORM_OPS];

      it.each(CREDENTIALED_OPS.map((definition) => [definition.name, definition] as const))(
        'answers %s without a credential with 401 and WWW-Authenticate, writing nothing',
        async (name, definition) => {
          const call =
            definition.audience === 'platform'
              ? PLATFORM_CALLS[name]?.()
              : await FIXTURES[name]?.(members.get('org_admin')!, 'org_admin');
          if (!call) throw new Error(`no call for ${name}`);
          const before = await eventCount();
          const response = await send(definition, { ...call }, undefined);
          expect(response.status, describeResponse(response)).toBe(401);
          expect(errorOf(response).code).toBe('UNAUTHENTICATED');
          expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
          expect(await eventCount()).toBe(before);
        },
      );

      it('answers garbage credentials with 401 and WWW-Authenticate', async () => {
        const real = await createKey(admin.token, ['ledger:read']);
        const wrongSecret = `${real.apiKey.slice(0, -4)}${real.apiKey.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
        const forgedJwt = [
          Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url'),
          Buffer.from(
            JSON.stringify({ sub: admin.memberId, org_id: orgId, role: 'org_admin', exp: 4102444800 }),
          ).toString('base64url'),
          'c2lnbmF0dXJl',
        ].join('.');
        const noneJwt = [
          Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'),
          Buffer.from(
            JSON.stringify({ sub: admin.memberId, org_id: orgId, role: 'org_admin', exp: 4102444800 }),
          ).toString('base64url'),
          '',
        ].join('.');
        const headers = [
          'Bearer garbage',
          'Bearer lk_live_garbage',
          `Bearer ${wrongSecret}`,
          `Bearer ${forgedJwt}`,
          `Bearer ${noneJwt}`,
          'Bearer ',
          'Basic YWRtaW46YWRtaW4=',
          app.adminKey,
        ];
        for (const authorization of headers) {
          for (const [method, path, body] of [
            ['GET', '/v1/organization', undefined],
            [
              'POST',
              '/v1/members',
              { email: `${unique('g')}@access.test`, name: 'G', role: 'viewer', password: PASSWORD },
            ],
          ] as const) {
            const before = await eventCount();
            const response = await app.request(method, path, {
              headers: { authorization },
              ...(body === undefined ? {} : { body }),
            });
            const label = `${method} ${path} with ${authorization.slice(0, 24)}…: ${describeResponse(response)}`;
            expect(response.status, label).toBe(401);
            expect(errorOf(response).code, label).toBe('UNAUTHENTICATED');
            expect(response.headers.get('www-authenticate'), label).toMatch(/^Bearer /);
            expect(await eventCount(), label).toBe(before);
          }
        }
      });

      it('refuses a revoked API key with 401', async () => {
        const key = await createKey(admin.token, ['ledger:read']);
        expect((await app.request('GET', '/v1/organization', { token: key.apiKey })).status).toBe(200);
        const revoked = await app.request('POST', `/v1/api-keys/${key.keyId}/revoke`, { token: admin.token });
        expect(revoked.status, describeResponse(revoked)).toBe(200);
        await settle((revoked.body as Written).position);
        const response = await app.request('GET', '/v1/organization', { token: key.apiKey });
        expect(response.status, describeResponse(response)).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
      });

      it('refuses the API key of a member who was deactivated with 401', async () => {
        const creator = await createMember(admin.token, 'org_admin');
        const session = await login(creator.email);
        const key = await createKey(session.accessToken, ['ledger:read']);
        expect((await app.request('GET', '/v1/organization', { token: key.apiKey })).status).toBe(200);
        const gone = await app.request('POST', `/v1/members/${creator.memberId}/deactivate`, {
          token: admin.token,
        });
        expect(gone.status, describeResponse(gone)).toBe(200);
        await settle((gone.body as Written).position);
        expect((await app.request('GET', '/v1/organization', { token: key.apiKey })).status).toBe(401);
        expect((await app.request('GET', '/v1/organization', { token: session.accessToken })).status).toBe(
          401,
        );
      });
    });

    describe('API keys never exceed their creator', () => {
      it('refuses a key scopes its creating credential does not hold, naming them, writing nothing', async () => {
        const limited = await createKey(admin.token, ['keys:write', 'ledger:read']);
        const before = await eventCount();
        const response = await app.request('POST', '/v1/api-keys', {
          token: limited.apiKey,
          body: { name: 'wider', scopes: ['ledger:read', 'members:write'] },
        });
        expect(response.status, describeResponse(response)).toBe(403);
        const error = errorOf(response);
        expect(error.code).toBe('FORBIDDEN');
        expect(error.details['scopes']).toEqual(['members:write']);
        expect(error.message).toContain('members:write');
        expect(await eventCount()).toBe(before);

        const within = await app.request('POST', '/v1/api-keys', {
          token: limited.apiKey,
          body: { name: 'narrower', scopes: ['ledger:read'] },
        });
        expect(within.status, describeResponse(within)).toBe(201);
      });

      it('refuses widening another key beyond the acting credential', async () => {
        const limited = await createKey(admin.token, ['keys:write', 'ledger:read']);
        const other = await createKey(admin.token, ['ledger:read']);
        const response = await app.request('PATCH', `/v1/api-keys/${other.keyId}`, {
          token: limited.apiKey,
          body: { scopes: ['ledger:read', 'credentials:write'] },
        });
        expect(response.status, describeResponse(response)).toBe(403);
        expect(errorOf(response).details['scopes']).toEqual(['credentials:write']);
      });

      it('refuses a key without members:write creating a member, although its creator could', async () => {
        const limited = await createKey(admin.token, ['ledger:read']);
        const before = await eventCount();
        const response = await app.request('POST', '/v1/members', {
          token: limited.apiKey,
          body: { email: `${unique('k')}@access.test`, name: 'K', role: 'viewer', password: PASSWORD },
        });
        expect(response.status, describeResponse(response)).toBe(403);
        expect(errorOf(response).code).toBe('FORBIDDEN');
        expect(await eventCount()).toBe(before);
      });

      it('refuses a key without members:write changing another member’s profile', async () => {
        const limited = await createKey(admin.token, ['ledger:read']);
        const target = await createMember(admin.token, 'viewer');
        const before = await eventCount();
        const response = await app.request('PATCH', `/v1/members/${target.memberId}/profile`, {
          token: limited.apiKey,
          body: { email: `${unique('takeover')}@evil.test` },
        });
        expect(response.status, describeResponse(response)).toBe(403);
        expect(errorOf(response).code).toBe('FORBIDDEN');
        expect(await eventCount()).toBe(before);
      });

      it('refuses a key without members:write changing the settings (limits, approval policy)', async () => {
        const limited = await createKey(admin.token, ['ledger:read', 'ledger:write', 'payments:write']);
        const before = await eventCount();
        const response = await app.request('PATCH', '/v1/organization/settings', {
          token: limited.apiKey,
          body: { rateLimitPerMinute: 1_000_000 },
        });
        expect(response.status, describeResponse(response)).toBe(403);
        expect(errorOf(response).details['requiredScope']).toBe('members:write');
        expect(await eventCount()).toBe(before);
      });

      it.each(['viewer', 'user', 'manager', 'auditor'] as const)(
        'refuses a %s generating any key, even a read-only one',
        async (role) => {
          const response = await app.request('POST', '/v1/api-keys', {
            token: members.get(role)!.token,
            body: { name: 'mine', scopes: ['ledger:read'] },
          });
          expect(response.status, describeResponse(response)).toBe(403);
          expect(errorOf(response).code).toBe('FORBIDDEN');
        },
      );
    });

    describe('a suspended organization', () => {
      let suspended: { orgId: string; token: string; memberId: string; email: string };
      let keyToken: string;
      let suspendedCustomer: string;
      let suspendedPayment: string;
      let suspendedApproval: string;

      beforeAll(async () => {
        suspended = await createOrganization('Soon Suspended');
        const key = await createKey(suspended.token, [
          'ledger:read',
          'ledger:write',
          'audit:read',
          'keys:write',
          'members:write',
          'payments:read',
          'payments:write',
          'credentials:write',
          'fraud:read',
          'fraud:review',
        ]);
        keyToken = key.apiKey;
        const customer = await app.request('POST', '/v1/customers', {
          token: suspended.token,
          body: { name: 'Before' },
        });
        expect(customer.status, describeResponse(customer)).toBe(201);
        suspendedCustomer = (customer.body as { customerId: string }).customerId;
        await settle((customer.body as Written).position);
        // Stripe credentials: read back after the suspension, and charged before it.
        const credentials = await app.request('PUT', '/v1/provider-credentials', {
          token: suspended.token,
          body: { provider: 'stripe', credentials: sampleCredentials('stripe') },
        });
        expect(credentials.status, describeResponse(credentials)).toBe(200);
        const card = await app.request('POST', `/v1/customers/${suspendedCustomer}/payment-methods`, {
          token: suspended.token,
          body: { token: 'tok_visa' },
        });
        expect(card.status, describeResponse(card)).toBe(201);
        const payment = await app.request('POST', '/v1/payments', {
          token: suspended.token,
          body: { customerId: suspendedCustomer, amount: '3.00', currency: 'USD' },
        });
        expect(payment.status, describeResponse(payment)).toBe(201);
        suspendedPayment = (payment.body as { paymentId: string }).paymentId;
        // Its books before the suspension, to be read after it.
        await openAccount(app, suspended.token, SUSPENDED_FLOAT);
        await openAccount(app, suspended.token, SUSPENDED_WALLET, { type: 'liability' });
        await openAccount(app, suspended.token, 'assets:suspended:empty');
        await createTransfers(app, suspended.token, [
          {
            transferId: 'suspended-in',
            debitAccount: SUSPENDED_FLOAT,
            creditAccount: SUSPENDED_WALLET,
            amount: '9.00',
          },
          {
            transferId: 'suspended-hold',
            debitAccount: SUSPENDED_FLOAT,
            creditAccount: SUSPENDED_WALLET,
            amount: '1.00',
            pending: { timeoutSeconds: 3600 },
          },
        ]);
        // And an approval its agent asked for, to be read after it too.
        await settle(await setApprovalPolicy(app, suspended.token, { thresholds: { KES: '100.00' } }));
        suspendedApproval = await pendingApprovalOverMcp(app, keyToken, {
          transferId: 'suspended-held',
          debitAccount: SUSPENDED_FLOAT,
          creditAccount: SUSPENDED_WALLET,
          amount: '500.00',
        });
        const done = await app.request('POST', `/v1/organizations/${suspended.orgId}/suspend`, {
          token: app.adminKey,
          body: { reason: 'unpaid invoices' },
        });
        expect(done.status, describeResponse(done)).toBe(200);
        const status = await app.request(
          'GET',
          `/v1/organization?consistentWith=${(done.body as Written).position ?? ''}`,
          { token: suspended.token },
        );
        expect((status.body as { status: string }).status).toBe('suspended');
      });

      const SUSPENDED_FLOAT = 'assets:suspended:float';
      const SUSPENDED_WALLET = 'customers:suspended:wallet';

      const SUSPENDED_FIXTURES: Readonly<Record<string, () => Promise<Call>>> = {
        audit_grant_access: () =>
          Promise.resolve({
            input: { granteeOrgId: `org_${'0'.repeat(26)}`, scopes: ['audit:read'], expiresAt: inAYear() },
          }),
        audit_revoke_grant: () =>
          Promise.resolve({ params: { grantId: `grt_${'0'.repeat(26)}` }, input: {} }),
        update_organization_settings: () => Promise.resolve({ input: { defaultCurrency: 'USD' } }),
        create_member: () =>
          Promise.resolve({
            input: {
              email: `${unique('late')}@access.test`,
              name: 'Late',
              role: 'viewer',
              password: PASSWORD,
            },
          }),
        deactivate_member: () => Promise.resolve({ params: { memberId: suspended.memberId } }),
        update_user_profile: () =>
          Promise.resolve({
            params: { memberId: suspended.memberId },
            input: { name: 'Renamed while suspended' },
          }),
        generate_api_key: () => Promise.resolve({ input: { name: 'late key', scopes: ['ledger:read'] } }),
        revoke_api_key: () => Promise.resolve({ params: { keyId: 'key_00000000000000000000000000' } }),
        update_api_key_permissions: () =>
          Promise.resolve({
            params: { keyId: 'key_00000000000000000000000000' },
            input: { scopes: ['ledger:read'] },
          }),
        // Every ledger command, each one that would succeed (alone) were the organization active.
        ledger_open_account: () =>
          Promise.resolve({ input: { address: 'assets:suspended:new', asset: 'KES', type: 'asset' } }),
        ledger_close_account: () => Promise.resolve({ params: { address: 'assets:suspended:empty' } }),
        ledger_change_limit: () =>
          Promise.resolve({
            params: { address: 'customers:suspended:wallet' },
            input: { creditLimit: null },
          }),
        ledger_create_transfers: () =>
          Promise.resolve({
            input: {
              transfers: [
                {
                  transferId: unique('late-transfer'),
                  debitAccount: 'assets:suspended:float',
                  creditAccount: 'customers:suspended:wallet',
                  amount: '1.00',
                },
              ],
            },
          }),
        ledger_post_pending: () => Promise.resolve({ params: { transferId: 'suspended-hold' } }),
        ledger_void_pending: () => Promise.resolve({ params: { transferId: 'suspended-hold' } }),
        ledger_reverse_transfer: () =>
          Promise.resolve({
            params: { transferId: 'suspended-in' },
            input: { reversalId: unique('late-rev') },
          }),
        create_customer: () => Promise.resolve({ input: { name: 'Late customer' } }),
        update_customer: () =>
          Promise.resolve({ params: { customerId: suspendedCustomer }, input: { name: 'Renamed late' } }),
        mpesa_stk_push: () =>
          Promise.resolve({
            input: { phone: '0712345678', amount: '10', accountReference: 'LATE', description: 'Late' },
          }),
        mpesa_bulk_payment: () =>
          Promise.resolve({
            input: {
              batchId: unique('late-batch'),
              remarks: 'late',
              payouts: [{ phone: '0712345678', amount: '10', reference: 'late' }],
            },
          }),
        mpesa_reverse_transaction: () =>
          Promise.resolve({ params: { paymentId: `pay_${'0'.repeat(26)}` }, input: { reason: 'late' } }),
        mpesa_check_status: () =>
          Promise.resolve({ params: { paymentId: `pay_${'0'.repeat(26)}` }, input: {} }),
        resolve_reconciliation_alert: () =>
          Promise.resolve({
            params: { alertId: `rca_${'0'.repeat(26)}` },
            input: { resolution: 'acknowledged', note: 'late' },
          }),
        mpesa_check_balance: () => Promise.resolve({ input: {} }),
        set_provider_credentials: () =>
          Promise.resolve({ input: { provider: 'plaid', credentials: sampleCredentials('plaid') } }),
        rotate_provider_credentials: () =>
          Promise.resolve({ input: { provider: 'stripe', credentials: sampleCredentials('stripe') } }),
        revoke_provider_credentials: () => Promise.resolve({ params: { provider: 'stripe' } }),
        update_payment_settings: () => Promise.resolve({ input: { fraudPolicy: { reviewScore: 40 } } }),
        add_payment_method: () =>
          Promise.resolve({ params: { customerId: suspendedCustomer }, input: { token: 'tok_visa' } }),
        initiate_payment: () =>
          Promise.resolve({ input: { customerId: suspendedCustomer, amount: '1.00', currency: 'USD' } }),
        process_refund: () => Promise.resolve({ params: { paymentId: suspendedPayment }, input: {} }),
        scan_transaction: () =>
          Promise.resolve({
            input: { kind: 'card_payment', amount: '1.00', currency: 'USD', counterparty: 'pm_late' },
          }),
        review_flagged_transaction: () =>
          Promise.resolve({ input: { paymentId: suspendedPayment, decision: 'approve', notes: 'Late' } }),
        approve_request: () => Promise.resolve({ params: { approvalId: 'apr_01J9ZZZZZZZZZZZZZZZZZZZZZZ' } }),
        reject_request: () =>
          Promise.resolve({
            params: { approvalId: 'apr_01J9ZZZZZZZZZZZZZZZZZZZZZZ' },
            input: { reason: 'no' },
          }),
      };

      const commands = ORGANIZATION_OPS.filter(
        (definition) => definition.kind === 'command' && definition.name !== 'logout',
      );

      it('is refused every command with 403 ORG_SUSPENDED, writing nothing', async () => {
        expect(commands.map((definition) => definition.name).sort()).toEqual(
          Object.keys(SUSPENDED_FIXTURES).sort(),
        );
        for (const definition of commands) {
          for (const token of [suspended.token, keyToken]) {
            const call = await SUSPENDED_FIXTURES[definition.name]!();
            const before = await eventCount();
            const response = await send(definition, call, token);
            expect(response.status, `${definition.name}: ${describeResponse(response)}`).toBe(403);
            expect(errorOf(response).code, definition.name).toBe('ORG_SUSPENDED');
            expect(await eventCount(), definition.name).toBe(before);
          }
        }
      });

      it('still answers every read', async () => {
        const reads: [string, string][] = [
          ['get_organization', '/v1/organization'],
          ['list_members', '/v1/members'],
          ['get_member', `/v1/members/${suspended.memberId}`],
          ['list_api_keys', '/v1/api-keys'],
          ['audit_read_stream', `/v1/audit/streams/${suspended.orgId}.organization-${suspended.orgId}`],
          ['ledger_list_accounts', '/v1/ledger/accounts'],
          ['ledger_get_balance', `/v1/ledger/accounts/${addressSegment(SUSPENDED_WALLET)}/balance`],
          ['ledger_list_transfers', '/v1/ledger/transfers'],
          ['ledger_get_transfer', '/v1/ledger/transfers/suspended-in'],
          ['ledger_account_history', `/v1/ledger/accounts/${addressSegment(SUSPENDED_WALLET)}/history`],
          ['list_customers', '/v1/customers'],
          [
            'audit_verify_stream',
            `/v1/audit/verify?stream=${suspended.orgId}.organization-${suspended.orgId}`,
          ],
          ['audit_list_events', '/v1/audit/events'],
          ['audit_list_grants', '/v1/audit/grants'],
          ['audit_list_access_log', '/v1/audit/access-log'],
          ['audit_export', '/v1/audit/export'],
          ['get_customer', `/v1/customers/${suspendedCustomer}`],
          ['mpesa_transaction_history', '/v1/mpesa/transactions'],
          [
            'mpesa_generate_report',
            `/v1/mpesa/report?from=${new Date(Date.now() - 86_400_000).toISOString()}&to=${new Date(Date.now() + 86_400_000).toISOString()}`,
          ],
          ['list_provider_credentials', '/v1/provider-credentials'],
          ['get_provider_credentials', '/v1/provider-credentials/stripe'],
          ['get_payment_settings', '/v1/payments/settings'],
          ['list_payments', '/v1/payments'],
          ['list_reconciliation_alerts', '/v1/reconciliation-alerts'],
          ['get_payment', `/v1/payments/${suspendedPayment}`],
          ['list_payment_methods', `/v1/customers/${suspendedCustomer}/payment-methods`],
          ['list_fraud_alerts', '/v1/fraud/alerts'],
          ['get_customer_risk', `/v1/customers/${suspendedCustomer}/risk`],
          ['generate_fraud_report', '/v1/fraud/report?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z'],
          ['get_member_permissions', `/v1/members/${suspended.memberId}/permissions`],
          ['list_approvals', '/v1/approvals'],
          ['get_approval', `/v1/approvals/${suspendedApproval}`],
        ];
        expect(reads.map(([name]) => name).sort()).toEqual(
          ORGANIZATION_OPS.filter((definition) => definition.kind === 'query')
            .map((definition) => definition.name)
            .sort(),
        );
        for (const [name, path] of reads) {
          for (const token of [suspended.token, keyToken]) {
            const response = await app.request('GET', path, { token });
            expect(response.status, `${name}: ${describeResponse(response)}`).toBe(200);
          }
        }
        // Not vacuous: the books read are the ones written before the suspension.
        const balance = await app.request(
          'GET',
          `/v1/ledger/accounts/${addressSegment(SUSPENDED_WALLET)}/balance`,
          { token: keyToken },
        );
        expect((balance.body as { balances: Record<string, string> }).balances).toMatchObject({
          posted: '9.00',
          creditsPending: '1.00',
        });
      });

      it('still lets its members log in, to read', async () => {
        const session = await login(suspended.email);
        expect((await app.request('GET', '/v1/organization', { token: session.accessToken })).status).toBe(
          200,
        );
      });

      it('accepts commands again once reactivated', async () => {
        const done = await app.request('POST', `/v1/organizations/${suspended.orgId}/reactivate`, {
          token: app.adminKey,
          body: { reason: 'paid' },
        });
        expect(done.status, describeResponse(done)).toBe(200);
        await settle((done.body as Written).position);
        const response = await app.request('PATCH', '/v1/organization/settings', {
          token: suspended.token,
          body: { defaultCurrency: 'USD' },
        });
        expect(response.status, describeResponse(response)).toBe(200);
      });
    });
  });
}
