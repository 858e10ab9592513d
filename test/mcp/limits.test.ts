/**
 * Rate limits apply to MCP exactly as to REST (SPEC §3 step 3): an organization's requests per
 * minute are one budget whichever protocol spends it. Past the limit a tool call answers a tool
 * error RATE_LIMITED with the seconds to wait, a resource read a protocol error carrying the
 * same, and REST a 429 with Retry-After; another organization goes on. A subscription whose
 * re-read the budget refuses tells the client nothing (a refusal is not a change) and reads
 * again later.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpError, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ChangeSource } from '../../src/mcp/changes.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { caughtUp, until } from '../support/feedChecks.js';
import { connectHttp, connectInMemory, structured, type Connected } from './support.js';

const PER_MINUTE = 6;
/** The test spends its budget within one minute's window: it starts early enough in one. */
const LATEST_START_SECOND = 35;
const PASSWORD = 'correct horse battery staple';

describe('per-organization rate limits over MCP and REST together', () => {
  let app: TestApp;
  let token: string;
  let agent: Connected;

  const logs: { msg?: string }[] = [];

  /** A new organization limited to PER_MINUTE requests a minute; its admin's access token. */
  async function limitedOrganization(name: string): Promise<string> {
    const email = `admin-${name.toLowerCase().replaceAll(' ', '-')}@mcp-limits.test`;
    const created = await app.request('POST', '/v1/organizations', {
      token: app.adminKey,
      body: {
        name,
        plan: 'pro',
        settings: { rateLimitPerMinute: PER_MINUTE },
        admin: { email, name: 'Admin', password: PASSWORD },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await caughtUp(app);
    const login = await app.request('POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    return login.body.accessToken as string;
  }

  function startOfMinute(): Promise<void> {
    return until(() => new Date().getUTCSeconds() < LATEST_START_SECOND, 'the start of a minute');
  }

  beforeAll(async () => {
    app = await startTestApp('pglite', {
      limits: true,
      logLevel: 'info',
      logStream: {
        write(line) {
          logs.push(JSON.parse(line) as { msg?: string });
        },
      },
    });
    token = await limitedOrganization('Limited over MCP');
    // Connecting and listing are not requests against the budget; calls and reads are.
    agent = await connectHttp(app, token);
    await startOfMinute();
  });

  afterAll(async () => {
    await agent.close();
    await app.close();
  });

  it('counts MCP calls and REST requests of one organization together, and refuses both past it', async () => {
    const statuses: (number | string)[] = [];
    for (let index = 0; index < PER_MINUTE; index += 1) {
      if (index % 2 === 0) {
        statuses.push((await app.request('GET', '/v1/organization', { token })).status);
      } else {
        const result = await agent.client.callTool({
          name: 'ledger_open_account',
          arguments: { address: `assets:limits:a${index}`, asset: 'KES', type: 'asset' },
        });
        statuses.push(result.isError === true ? JSON.stringify(result.structuredContent) : 'ok');
      }
    }
    expect(statuses).toEqual([200, 'ok', 200, 'ok', 200, 'ok']);

    // The budget is spent: a tool call is a tool error with the registry code and when to retry.
    const refused = await agent.client.callTool({
      name: 'mpesa_transaction_history',
      arguments: {},
    });
    expect(refused.isError).toBe(true);
    const body = structured(refused);
    expect(body.error).toMatchObject({
      code: 'RATE_LIMITED',
      details: { limit: PER_MINUTE, window: 'minute' },
    });
    const retryAfter = body.error.details.retryAfterSeconds as number;
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(JSON.parse((refused.content as { text: string }[])[0]!.text)).toEqual(body);

    // A resource read is a protocol error carrying the same.
    const read = await agent.client.readResource({ uri: 'ledger://accounts' }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(read).toBeInstanceOf(McpError);
    expect((read as McpError).message).toContain('RATE_LIMITED');
    expect((read as McpError).data).toMatchObject({
      code: 'RATE_LIMITED',
      details: { limit: PER_MINUTE, window: 'minute', retryAfterSeconds: expect.any(Number) },
    });

    // REST is refused the same way, from the same budget.
    const rest = await app.request('GET', '/v1/organization', { token });
    expect(rest.status).toBe(429);
    expect(rest.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: PER_MINUTE } });
    expect(Number(rest.headers.get('retry-after'))).toBe(rest.body.error.details.retryAfterSeconds);

    // Another organization is not affected, over MCP either.
    const demo = await connectHttp(app, app.demoKey);
    try {
      const other = await demo.client.callTool({ name: 'mpesa_transaction_history', arguments: {} });
      expect(other.isError, JSON.stringify(other)).not.toBe(true);
    } finally {
      await demo.close();
    }
  });

  it('sends no notification when the budget refuses a subscription’s re-read, and schedules another', async () => {
    const subscriber = await limitedOrganization('Limited subscriber');
    const listeners: ((categories: readonly string[]) => void)[] = [];
    const changes: ChangeSource = (_orgId, listener) => {
      listeners.push(listener);
      return () => undefined;
    };
    await startOfMinute();
    const session = await connectInMemory(app, subscriber, { changes });
    try {
      const updates: string[] = [];
      session.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
        updates.push(notification.params.uri);
      });
      const opened = await session.client.callTool({
        name: 'ledger_open_account',
        arguments: { address: 'assets:limits:watched', asset: 'KES', type: 'asset' },
      });
      expect(opened.isError, JSON.stringify(opened)).not.toBe(true);
      const uri = 'ledger://accounts/assets:limits:watched/balance';
      await session.client.subscribeResource({ uri });
      // Two requests spent (the call, the subscription's first read); REST spends the rest.
      for (let index = 2; index < PER_MINUTE; index += 1) {
        expect((await app.request('GET', '/v1/organization', { token: subscriber })).status).toBe(200);
      }
      expect((await app.request('GET', '/v1/organization', { token: subscriber })).status).toBe(429);
      const before = logs.length;
      for (const listener of listeners) listener(['ledger']);
      await until(
        () =>
          logs
            .slice(before)
            .some((line) => line.msg === 'MCP subscription re-read refused; it is tried again later'),
        'the refused re-read',
      );
      expect(updates).toEqual([]);
    } finally {
      await session.close();
    }
  });
});
