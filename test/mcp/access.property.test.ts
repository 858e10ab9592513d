/**
 * Who sees and touches what through MCP. Scope filtering: a read-only key lists no tool that
 * changes anything, and calling one anyway is refused as an unknown tool, writing nothing.
 * Isolation (property-based over random ids): organization B's key, through every tool and
 * resource, finds organization A's accounts, transfers, members, streams and approvals exactly
 * as it finds ids that exist nowhere, and changes none of them.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { ledgerStream } from '../../src/commands/ledger/book.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { setApprovalPolicy } from '../support/approvals.js';
import { connectInMemory, structured, type Connected } from './support.js';

const ISOLATION_RUNS = 25;
/** Pages of a resource listing read at most. */
const RESOURCE_PAGES_MAX = 100;

/** Every page of a session's resource listing, as one text. */
async function allResources(session: Connected): Promise<string> {
  const pages: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < RESOURCE_PAGES_MAX; page += 1) {
    const listed = await session.client.listResources(cursor === undefined ? {} : { cursor });
    pages.push(JSON.stringify(listed.resources));
    cursor = listed.nextCursor;
    if (cursor === undefined) return pages.join('\n');
  }
  throw new Error(`the resource listing did not end within ${RESOURCE_PAGES_MAX} pages`);
}
const ID = fc.stringMatching(/^[a-z][a-z0-9_]{2,12}$/);

describe('MCP access', () => {
  let app: TestApp;
  let orgA: { orgId: string; key: string; adminMemberId: string };
  let orgB: { orgId: string; key: string; adminMemberId: string };
  let a: Connected;
  let b: Connected;

  async function organization(name: string): Promise<{ orgId: string; key: string; adminMemberId: string }> {
    const made = await app.request('POST', '/v1/organizations', {
      token: app.adminKey,
      body: {
        name,
        admin: {
          email: `admin@${name.toLowerCase()}.test`,
          name: 'Admin',
          password: 'a long enough password',
        },
      },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    await app.request('GET', `/v1/organization?consistentWith=${made.body.position as string}`, {
      token: app.adminKey,
    });
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: `admin@${name.toLowerCase()}.test`, password: 'a long enough password' },
    });
    const key = await app.request('POST', '/v1/api-keys', {
      token: login.body.accessToken,
      body: {
        name: 'agent',
        scopes: ['ledger:read', 'ledger:write', 'audit:read', 'keys:write', 'members:write'],
      },
    });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    await app.request('GET', `/v1/organization?consistentWith=${key.body.position as string}`, {
      token: app.adminKey,
    });
    return { orgId: made.body.orgId, key: key.body.apiKey, adminMemberId: made.body.adminMemberId };
  }

  beforeAll(async () => {
    app = await startTestApp('pglite');
    orgA = await organization('Alpha');
    orgB = await organization('Bravo');
    a = await connectInMemory(app, orgA.key);
    b = await connectInMemory(app, orgB.key);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await app.close();
  });

  it('lists no changing tool to a read-only key, and refuses a direct call writing nothing', async () => {
    const made = await app.request('POST', '/v1/api-keys', {
      token: app.demoKey,
      body: { name: 'reader', scopes: ['ledger:read', 'audit:read'] },
    });
    await app.request('GET', `/v1/organization?consistentWith=${made.body.position as string}`, {
      token: app.demoKey,
    });
    const reader = await connectInMemory(app, made.body.apiKey as string);
    try {
      const { tools } = await reader.client.listTools();
      expect(tools.length).toBeGreaterThan(0);
      for (const tool of tools) expect(tool.annotations?.readOnlyHint, tool.name).toBe(true);
      expect(tools.map((tool) => tool.name).sort()).toEqual([
        'audit_read_stream',
        'audit_verify_stream',
        'get_approval',
        'ledger_get_balance',
      ]);
      const count = await app.server.runtime.store.countEvents?.();
      for (const name of [
        'ledger_open_account',
        'ledger_create_transfers',
        'generate_api_key',
        'authenticate_user',
      ]) {
        await expect(reader.client.callTool({ name, arguments: {} }), name).rejects.toBeInstanceOf(McpError);
      }
      expect(await app.server.runtime.store.countEvents?.()).toBe(count);
    } finally {
      await reader.close();
    }
  });

  it('keeps organization A’s objects out of B’s sight and reach, for random ids', async () => {
    await setApprovalPolicy(app, orgA.key, { thresholds: { KES: '100.00' } });
    // What B gets for an id that exists nowhere is what it must get for A's.
    const missingLike = async (
      probe: (id: string) => Promise<unknown>,
      id: string,
      missing: string,
    ): Promise<void> => {
      const strip = (value: unknown): string =>
        JSON.stringify(value)
          .replaceAll(id, 'ID')
          .replaceAll(missing, 'ID')
          .replace(/mcp_[0-9a-f]{32}/g, 'REQ');
      expect(strip(await probe(id))).toEqual(strip(await probe(missing)));
    };
    const toolAnswer = async (name: string, args: Record<string, unknown>): Promise<unknown> => {
      const result = await b.client.callTool({ name, arguments: args });
      return { isError: result.isError === true, body: structured(result) };
    };
    const resourceAnswer = async (uri: string): Promise<unknown> => {
      try {
        return await b.client.readResource({ uri });
      } catch (error) {
        return { code: (error as McpError).code, message: (error as McpError).message };
      }
    };
    await fc.assert(
      fc.asyncProperty(ID, ID, fc.integer({ min: 1, max: 999 }), async (name, transfer, cents) => {
        const float = `assets:${name}:float`;
        const wallet = `customers:${name}:wallet`;
        const transferId = `a-${transfer}-${cents}`;
        const missing = `zz${name}`;
        for (const address of [float, wallet]) {
          const opened = await a.client.callTool({
            name: 'ledger_open_account',
            arguments: { address, asset: 'KES', type: address === float ? 'asset' : 'liability' },
          });
          expect(opened.isError, JSON.stringify(opened)).not.toBe(true);
        }
        const amount = `${cents}.00`;
        const made = await a.client.callTool({
          name: 'ledger_create_transfers',
          arguments: {
            transfers: [
              {
                transferId,
                debitAccount: float,
                creditAccount: wallet,
                amount,
                pending: { timeoutSeconds: 3600 },
              },
            ],
          },
        });
        const answer = structured(made);
        const approvalId: string | undefined = answer.approvalId;
        const balanceOf = async (): Promise<unknown> => {
          const read = await a.client.callTool({
            name: 'ledger_get_balance',
            arguments: { address: wallet },
          });
          return structured(read);
        };
        const before = await balanceOf();

        // Reads, through tools and resources.
        await missingLike(
          (id) => toolAnswer('ledger_get_balance', { address: id }),
          wallet,
          `customers:${missing}:wallet`,
        );
        await missingLike(
          (id) => resourceAnswer(`ledger://accounts/${id}/balance`),
          wallet,
          `customers:${missing}:wallet`,
        );
        await missingLike((id) => resourceAnswer(`ledger://transfers/${id}`), transferId, `b-${missing}`);
        await missingLike(
          (id) => resourceAnswer(`users://${id}/profile`),
          orgA.adminMemberId,
          'usr_01J9ZZZZZZZZZZZZZZZZZZZZZZ',
        );
        await missingLike(
          (id) => resourceAnswer(`users://${id}/permissions`),
          orgA.adminMemberId,
          'usr_01J9ZZZZZZZZZZZZZZZZZZZZZZ',
        );
        await missingLike(
          (id) => toolAnswer('audit_read_stream', { stream: id }),
          ledgerStream(orgA.orgId),
          `${orgB.orgId}.ledger-${missing}`,
        );
        await missingLike(
          (id) => resourceAnswer(`audit://streams/${id}`),
          ledgerStream(orgA.orgId),
          `${orgB.orgId}.ledger-${missing}`,
        );
        if (approvalId !== undefined) {
          await missingLike(
            (id) => toolAnswer('get_approval', { approvalId: id }),
            approvalId,
            'apr_01J9ZZZZZZZZZZZZZZZZZZZZZZ',
          );
          await missingLike(
            (id) => resourceAnswer(`approvals://${id}`),
            approvalId,
            'apr_01J9ZZZZZZZZZZZZZZZZZZZZZZ',
          );
        }
        // Writes aimed at A's objects find nothing, and change nothing of A's.
        await missingLike(
          (id) => toolAnswer('ledger_post_pending', { transferId: id }),
          transferId,
          `b-${missing}`,
        );
        await missingLike(
          (id) => toolAnswer('ledger_void_pending', { transferId: id }),
          transferId,
          `b-${missing}`,
        );
        await missingLike(
          (id) => toolAnswer('ledger_close_account', { address: id }),
          wallet,
          `customers:${missing}:wallet`,
        );
        await missingLike(
          (id) => toolAnswer('deactivate_member', { memberId: id }),
          orgA.adminMemberId,
          'usr_01J9ZZZZZZZZZZZZZZZZZZZZZZ',
        );
        // Every page of each listing, and A's addresses and transfer id as written in titles and
        // in URIs, not the bare random name: a name such as "app" is part of the listing's own
        // text ("application/json") in every organization. A's own listing has them, so the
        // pages looked at are the ones that would show them.
        const ownTexts = [float, wallet, transferId].flatMap((own) => [own, encodeURIComponent(own)]);
        const seenByA = await allResources(a);
        expect(seenByA).toContain(encodeURIComponent(wallet));
        const seenByB = await allResources(b);
        for (const own of ownTexts) expect(seenByB).not.toContain(own);
        expect(await balanceOf()).toEqual(before);
      }),
      { numRuns: ISOLATION_RUNS },
    );
  });
});
