/**
 * The whole MCP surface through the SDK's own Client, on a real server (PGlite): every tool the
 * catalogs generate is called at least once (the money scenario over the in-memory transport),
 * every resource template is read, resources list page by page, prompts render, balance
 * subscriptions notify, progress is reported, and every event an MCP call causes carries
 * channel `mcp` with the client's name and version from `initialize`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { ledgerStream } from '../../src/commands/ledger/book.js';
import { COMMANDS, QUERIES } from '../../src/commands/registry.js';
import { buildMcpCatalog } from '../../src/mcp/catalog.js';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  CLIENT_INFO,
  connectHttp,
  connectInMemory,
  connectSse,
  structured,
  type Connected,
} from './support.js';

const ALL_TOOLS = buildMcpCatalog(COMMANDS, QUERIES).tools.map((tool) => tool.name);
const MEMBER = { email: 'ops@demo.test', name: 'Ops', role: 'user', password: 'a long enough password' };
/** Bounded polling: how long to wait for a notification or a condition. */
const WAIT_MS_MAX = 10_000;
const POLL_MS = 20;

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS_MAX;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

describe('MCP surface', () => {
  let app: TestApp;
  let agent: Connected;
  const called = new Set<string>();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers freely
  async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<any> {
    called.add(name);
    const result = await client.callTool({ name, arguments: args });
    return {
      ok: result.isError !== true,
      body: structured(result),
      text: (result.content as { text: string }[])[0]?.text,
    };
  }

  beforeAll(async () => {
    app = await startTestApp('pglite');
    agent = await connectInMemory(app, app.demoKey);
  });
  afterAll(async () => {
    await agent.close();
    await app.close();
  });

  it('names every resource it serves in its instructions, the subscribable ones as such', () => {
    const instructions = agent.client.getInstructions() ?? '';
    for (const template of buildMcpCatalog(COMMANDS, QUERIES).templates) {
      expect(instructions).toContain(template.options.uri);
    }
    expect(instructions).toContain('ledger://accounts/{address}/balance (subscribe for updates)');
  });

  it('lists the tools a full org admin may call (and no platform or REST-only tool)', async () => {
    const { tools } = await agent.client.listTools();
    const names = tools.map((tool) => tool.name);
    expect(names).toContain('ledger_create_transfers');
    expect(names).toContain('ledger_get_balance');
    expect(names).toContain('audit_read_stream');
    expect(names).not.toContain('create_organization');
    expect(names).not.toContain('approve_request');
    expect(names).not.toContain('update_organization_settings');
    for (const tool of tools) {
      expect(tool.outputSchema?.type, tool.name).toBe('object');
      expect(tool.annotations, tool.name).toBeDefined();
    }
  });

  it('runs the money scenario with every ledger tool, and reads reflect each write at once', async () => {
    const { client } = agent;
    const c = client;
    expect(
      (await call(c, 'ledger_open_account', { address: 'assets:cash:main', asset: 'KES', type: 'asset' })).ok,
    ).toBe(true);
    const wallet = await call(c, 'ledger_open_account', {
      address: 'customers:cus_1:wallet',
      asset: 'KES',
      type: 'liability',
      flags: { debitsMustNotExceedCredits: true },
    });
    expect(wallet.body).toMatchObject({ address: 'customers:cus_1:wallet', status: 'opened' });
    expect(
      (await call(c, 'ledger_change_limit', { address: 'customers:cus_1:wallet', creditLimit: '100.00' })).ok,
    ).toBe(true);
    const created = await call(c, 'ledger_create_transfers', {
      transfers: [
        {
          transferId: 't1',
          debitAccount: 'assets:cash:main',
          creditAccount: 'customers:cus_1:wallet',
          amount: '500.00',
        },
        {
          transferId: 't2',
          debitAccount: 'assets:cash:main',
          creditAccount: 'customers:cus_1:wallet',
          amount: '50.00',
          pending: { timeoutSeconds: 3600 },
        },
        {
          transferId: 't3',
          debitAccount: 'assets:cash:main',
          creditAccount: 'customers:cus_1:wallet',
          amount: '7.00',
          pending: { timeoutSeconds: 3600 },
        },
      ],
      idempotency_key: 'scenario-transfers-1',
    });
    expect(created.body.created).toBe(3);
    expect(created.text).toBe(JSON.stringify(created.body));
    // Read-your-writes: the session remembers the position, so this read reflects the call.
    const balance = await c.readResource({ uri: 'ledger://accounts/customers:cus_1:wallet/balance' });
    expect(JSON.parse((balance.contents[0] as { text: string }).text).balances).toMatchObject({
      posted: '500.00',
      creditsPending: '57.00',
    });
    expect((await call(c, 'ledger_post_pending', { transferId: 't2' })).body.status).toBe('posted');
    expect((await call(c, 'ledger_void_pending', { transferId: 't3' })).body.status).toBe('voided');
    const reversed = await call(c, 'ledger_reverse_transfer', {
      transferId: 't1',
      reversalId: 'r1',
      amount: '100.00',
      code: 'refund',
    });
    expect(reversed.ok).toBe(true);
    const got = await call(c, 'ledger_get_balance', { address: 'customers:cus_1:wallet' });
    expect(got.body.balances.posted).toBe('450.00');
    await call(c, 'ledger_open_account', { address: 'assets:temp:x', asset: 'KES', type: 'asset' });
    expect((await call(c, 'ledger_close_account', { address: 'assets:temp:x' })).body.status).toBe('closed');
    // Idempotency: the same key and arguments answer the first result and write nothing.
    const again = await call(c, 'ledger_create_transfers', {
      transfers: [
        {
          transferId: 't1',
          debitAccount: 'assets:cash:main',
          creditAccount: 'customers:cus_1:wallet',
          amount: '500.00',
        },
        {
          transferId: 't2',
          debitAccount: 'assets:cash:main',
          creditAccount: 'customers:cus_1:wallet',
          amount: '50.00',
          pending: { timeoutSeconds: 3600 },
        },
        {
          transferId: 't3',
          debitAccount: 'assets:cash:main',
          creditAccount: 'customers:cus_1:wallet',
          amount: '7.00',
          pending: { timeoutSeconds: 3600 },
        },
      ],
      idempotency_key: 'scenario-transfers-1',
    });
    expect(again.body).toEqual(created.body);
  });

  it('gives domain failures as tool errors with the REST code, and validation names the field', async () => {
    const short = await call(agent.client, 'ledger_create_transfers', {
      transfers: [
        {
          transferId: 'big',
          debitAccount: 'customers:cus_1:wallet',
          creditAccount: 'assets:cash:main',
          amount: '999999.00',
        },
      ],
      linked: true,
    });
    expect(short.ok).toBe(true);
    expect(short.body.results[0].result).toBe('LIMIT_EXCEEDED');
    const missing = await call(agent.client, 'ledger_post_pending', { transferId: 'nope' });
    expect(missing.ok).toBe(false);
    expect(missing.body.error.code).toBe('NOT_FOUND');
    const rest = await app.request('POST', '/v1/ledger/transfers/nope/post', {
      token: app.demoKey,
      body: {},
    });
    expect(rest.body.error.code).toBe(missing.body.error.code);
    expect(rest.body.error.message).toBe(missing.body.error.message);
    const bad = await call(agent.client, 'ledger_open_account', {
      address: 'assets:x:y',
      asset: 'KES',
      type: 'asset',
      creditLimit: 12,
    });
    expect(bad.ok).toBe(false);
    expect(bad.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'creditLimit' } });
    const badKey = await call(agent.client, 'ledger_close_account', {
      address: 'assets:x:y',
      idempotency_key: ' spaced ',
    });
    expect(badKey.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'idempotency_key' },
    });
  });

  it('runs the identity and key tools, and an access token works as the bearer too', async () => {
    const c = agent.client;
    const member = await call(c, 'create_member', MEMBER);
    expect(member.ok).toBe(true);
    const memberId = member.body.memberId as string;
    expect((await call(c, 'update_user_profile', { memberId, name: 'Ops team' })).ok).toBe(true);
    const login = await call(c, 'authenticate_user', { email: MEMBER.email, password: MEMBER.password });
    expect(login.ok).toBe(true);
    const refreshed = await call(c, 'refresh_token', { refreshToken: login.body.refreshToken });
    expect(refreshed.ok).toBe(true);
    const asMember = await connectInMemory(app, refreshed.body.accessToken as string);
    try {
      const { tools } = await asMember.client.listTools();
      expect(tools.map((tool) => tool.name)).not.toContain('generate_api_key');
      called.add('logout');
      const out = await asMember.client.callTool({ name: 'logout', arguments: {} });
      expect(out.isError).not.toBe(true);
    } finally {
      await asMember.close();
    }
    const key = await call(c, 'generate_api_key', { name: 'agent', scopes: ['ledger:read'] });
    expect(key.body.apiKey).toMatch(/^lk_live_/);
    expect(
      (
        await call(c, 'update_api_key_permissions', {
          keyId: key.body.keyId,
          scopes: ['ledger:read', 'audit:read'],
        })
      ).ok,
    ).toBe(true);
    expect((await call(c, 'revoke_api_key', { keyId: key.body.keyId })).ok).toBe(true);
    expect((await call(c, 'deactivate_member', { memberId })).ok).toBe(true);
    // The settings hold the approval policy: no agent may loosen it, so the tool does not exist.
    await expect(
      c.callTool({ name: 'update_organization_settings', arguments: { defaultCurrency: 'KES' } }),
    ).rejects.toMatchObject({ code: -32602 });
    const approval = await call(c, 'get_approval', { approvalId: 'apr_01J9ZZZZZZZZZZZZZZZZZZZZZZ' });
    expect(approval.body.error.code).toBe('NOT_FOUND');
  });

  it('runs the platform tools for the platform admin only', async () => {
    const platform = await connectInMemory(app, app.adminKey);
    try {
      const made = await call(platform.client, 'create_organization', { name: 'Other Co' });
      const orgId = made.body.orgId as string;
      expect((await call(platform.client, 'change_organization_plan', { orgId, plan: 'pro' })).ok).toBe(true);
      expect((await call(platform.client, 'suspend_organization', { orgId, reason: 'test' })).ok).toBe(true);
      expect((await call(platform.client, 'reactivate_organization', { orgId, reason: 'test' })).ok).toBe(
        true,
      );
    } finally {
      await platform.close();
    }
  });

  it('records channel mcp and the client name and version in every event it caused', async () => {
    const read = await call(agent.client, 'audit_read_stream', {
      stream: ledgerStream(app.demoOrgId),
      limit: 500,
    });
    expect(read.ok).toBe(true);
    const events = read.body.events as {
      channel: { kind: string; clientName: string; clientVersion: string };
      idempotencyKey: string | null;
    }[];
    expect(events.length).toBeGreaterThan(5);
    for (const event of events) {
      expect(event.channel).toEqual({
        kind: 'mcp',
        clientName: CLIENT_INFO.name,
        clientVersion: CLIENT_INFO.version,
      });
    }
    expect(events.some((event) => event.idempotencyKey === 'scenario-transfers-1')).toBe(true);
  });

  it('reads every resource template, and lists resources page by page', async () => {
    const c = agent.client;
    const { resourceTemplates } = await c.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate).sort()).toEqual(
      [
        'approvals://{approval_id}',
        'audit://streams/{stream}',
        'fraud://{customer_id}/alerts',
        'fraud://{customer_id}/risk-report',
        'ledger://accounts/{address}/balance',
        'ledger://transfers/{id}',
        'payments://{customer_id}/history',
        'payments://{customer_id}/methods',
        'payments://{payment_id}/status',
        'users://{user_id}/permissions',
        'users://{user_id}/profile',
      ].sort(),
    );
    const uris: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page += 1) {
      const listed = await c.listResources(cursor === undefined ? {} : { cursor });
      uris.push(...listed.resources.map((resource) => resource.uri));
      cursor = listed.nextCursor;
      if (cursor === undefined) break;
    }
    expect(uris).toContain('ledger://accounts');
    expect(uris).toContain('ledger://accounts/customers%3Acus_1%3Awallet/balance');
    expect(uris).toContain('ledger://transfers/t1');
    expect(uris.some((uri) => uri.startsWith('users://') && uri.endsWith('/profile'))).toBe(true);
    expect(uris.some((uri) => uri.startsWith('users://') && uri.endsWith('/permissions'))).toBe(true);
    for (const uri of uris) {
      const read = await c.readResource({ uri });
      expect(JSON.parse((read.contents[0] as { text: string }).text), uri).toBeTypeOf('object');
    }
    const stream = await c.readResource({ uri: `audit://streams/${ledgerStream(app.demoOrgId)}?limit=2` });
    expect(JSON.parse((stream.contents[0] as { text: string }).text).events).toHaveLength(2);
    const page = await c.readResource({ uri: 'ledger://accounts?limit=1' });
    expect(JSON.parse((page.contents[0] as { text: string }).text).nextCursor).not.toBeNull();
    await expect(c.readResource({ uri: 'ledger://transfers/does-not-exist' })).rejects.toMatchObject({
      code: -32002,
    });
    await expect(c.readResource({ uri: 'approvals://apr_01J9ZZZZZZZZZZZZZZZZZZZZZZ' })).rejects.toMatchObject(
      { code: -32002 },
    );
    await expect(c.readResource({ uri: 'nothing://here' })).rejects.toMatchObject({ code: -32002 });
  });

  it('renders the four prompts and refuses a missing required argument', async () => {
    const { prompts } = await agent.client.listPrompts();
    expect(prompts.map((prompt) => prompt.name).sort()).toEqual(
      ['collect_payment', 'investigate_fraud_alert', 'prepare_audit', 'reconcile_mpesa_float'].sort(),
    );
    const prompt = await agent.client.getPrompt({
      name: 'collect_payment',
      arguments: { customer: 'cus_1', amount: '10.00' },
    });
    expect((prompt.messages[0]?.content as { text: string }).text).toContain('cus_1');
    await expect(
      agent.client.getPrompt({ name: 'prepare_audit', arguments: { from: '2026-01-01T00:00:00Z' } }),
    ).rejects.toMatchObject({
      code: -32602,
    });
  });

  it('notifies a balance subscriber when the balance changes, and reports progress', async () => {
    const c = agent.client;
    const uri = 'ledger://accounts/customers:cus_1:wallet/balance';
    const updates: string[] = [];
    c.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      updates.push(notification.params.uri);
    });
    await c.subscribeResource({ uri });
    const progress: number[] = [];
    const result = await c.callTool(
      {
        name: 'ledger_create_transfers',
        arguments: {
          transfers: [
            {
              transferId: 't9',
              debitAccount: 'assets:cash:main',
              creditAccount: 'customers:cus_1:wallet',
              amount: '1.00',
            },
          ],
        },
      },
      undefined,
      {
        onprogress: (update) => {
          progress.push(update.progress);
        },
      },
    );
    expect(result.isError).not.toBe(true);
    await until(() => (updates.includes(uri) ? true : undefined), 'a resources/updated notification');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    await c.unsubscribeResource({ uri });
    await expect(c.subscribeResource({ uri: 'ledger://transfers/t1' })).rejects.toMatchObject({
      code: -32602,
    });
  });

  it('reports progress while it verifies the organization’s hash chains', async () => {
    const progress: number[] = [];
    called.add('audit_verify_stream');
    const result = await agent.client.callTool({ name: 'audit_verify_stream', arguments: {} }, undefined, {
      onprogress: (update) => {
        progress.push(update.progress);
      },
    });
    expect(structured(result)).toMatchObject({ ok: true, brokenLink: null });
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  });

  it('calls every tool the catalogs define at least once (any tool added later with no arguments)', async () => {
    const platform = await connectInMemory(app, app.adminKey);
    try {
      for (const name of ALL_TOOLS.filter((tool) => !called.has(tool))) {
        const result = await call(
          name.startsWith('create_organization') ? platform.client : agent.client,
          name,
          {},
        );
        expect(result.ok || typeof result.body.error.code === 'string', name).toBe(true);
      }
    } finally {
      await platform.close();
    }
    expect([...called].sort()).toEqual(expect.arrayContaining([...ALL_TOOLS].sort()));
  });

  for (const [label, connect] of [
    ['Streamable HTTP', connectHttp],
    ['legacy HTTP+SSE', connectSse],
  ] as const) {
    it(`serves the same tools, resources and errors over ${label}`, async () => {
      const remote = await connect(app, app.demoKey);
      try {
        const { tools } = await remote.client.listTools();
        expect(tools.map((tool) => tool.name).sort()).toEqual(
          (await agent.client.listTools()).tools.map((tool) => tool.name).sort(),
        );
        const id = `http-${label.replace(/\W+/g, '-')}`;
        // Subscriptions over HTTP hear of changes through the event bus.
        const wallet = 'ledger://accounts/customers:cus_1:wallet/balance';
        const updates: string[] = [];
        remote.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
          updates.push(notification.params.uri);
        });
        await remote.client.subscribeResource({ uri: wallet });
        const made = await remote.client.callTool({
          name: 'ledger_create_transfers',
          arguments: {
            transfers: [
              {
                transferId: id,
                debitAccount: 'assets:cash:main',
                creditAccount: 'customers:cus_1:wallet',
                amount: '2.00',
              },
            ],
          },
        });
        expect(structured(made).created).toBe(1);
        await until(() => (updates.includes(wallet) ? true : undefined), `a resources/updated over ${label}`);
        const transfer = await remote.client.readResource({ uri: `ledger://transfers/${id}` });
        expect(JSON.parse((transfer.contents[0] as { text: string }).text).amount).toBe('2.00');
        const failed = await remote.client.callTool({
          name: 'ledger_void_pending',
          arguments: { transferId: 'nope' },
        });
        expect(failed.isError).toBe(true);
        expect(structured(failed).error.code).toBe('NOT_FOUND');
        await expect(
          remote.client.callTool({ name: 'approve_request', arguments: {} }),
        ).rejects.toMatchObject({ code: -32602 });
      } finally {
        await remote.close();
      }
    });
  }
});
