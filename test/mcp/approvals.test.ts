/**
 * Agent guardrails (SPEC §6), end to end through MCP alone plus a manager over REST: an agent
 * holding every scope asks for a large transfer; it waits as an approval and nothing reaches
 * the ledger; the agent cannot approve (no such tool, and an API key cannot approve over REST
 * either); a manager approves over REST and the transfer runs, caused by the approval, as the
 * agent's MCP call; rejection and expiry leave no trace in the ledger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES } from '../../src/domain/access.js';
import { ledgerStream } from '../../src/commands/ledger/book.js';
import { sweepExpiredApprovals } from '../../src/commands/approvals/sweeper.js';
import { startTestApp, type Backend, type TestApp } from '../support/app.js';
import { setApprovalPolicy } from '../support/approvals.js';
import { openAccount } from '../support/ledgerHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';
import { CLIENT_INFO, connectHttp, structured, type Connected } from './support.js';

const probe = await probePostgres();
const BACKENDS: readonly { readonly backend: Backend; readonly run: boolean }[] = [
  { backend: 'pglite', run: true },
  { backend: 'postgres', run: serviceGate('MCP approvals (PostgreSQL)', probe) },
];
const PASSWORD = 'a long enough password';
const FLOAT = 'assets:approvals:float';
const WALLET = 'customers:approvals:wallet';
const EXPIRY_SECONDS = 3600;

for (const { backend, run } of BACKENDS) {
  describe.skipIf(!run)(`approvals over MCP on ${backend}`, () => {
    let app: TestApp;
    let agent: Connected;
    let agentKeyId: string;
    let agentKey: string;
    let manager: string;
    let userToken: string;

    async function login(email: string): Promise<string> {
      const response = await app.request('POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body.accessToken as string;
    }

    async function member(role: string): Promise<string> {
      const email = `${role}-${backend}@approvals.test`;
      const made = await app.request('POST', '/v1/members', {
        token: app.demoKey,
        body: { email, name: role, role, password: PASSWORD },
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      await app.request('GET', `/v1/organization?consistentWith=${made.body.position as string}`, {
        token: app.demoKey,
      });
      return login(email);
    }

    async function ledgerEvents(): Promise<
      {
        type: string;
        data: Record<string, unknown>;
        causationId: string;
        channel: unknown;
        actor: { id: string };
      }[]
    > {
      const read = await app.request('GET', `/v1/audit/streams/${ledgerStream(app.demoOrgId)}?limit=500`, {
        token: app.demoKey,
      });
      expect(read.status).toBe(200);
      return read.body.events;
    }

    async function transferStatus(transferId: string, position: string): Promise<number> {
      const read = await app.request('GET', `/v1/ledger/transfers/${transferId}?consistentWith=${position}`, {
        token: app.demoKey,
      });
      return read.status;
    }

    async function ask(transferId: string, amount: string, key?: string): Promise<Record<string, string>> {
      const result = await agent.client.callTool({
        name: 'ledger_create_transfers',
        arguments: {
          transfers: [{ transferId, debitAccount: FLOAT, creditAccount: WALLET, amount }],
          ...(key === undefined ? {} : { idempotency_key: key }),
        },
      });
      expect(result.isError, JSON.stringify(result)).not.toBe(true);
      return structured(result) as Record<string, string>;
    }

    async function approval(approvalId: string): Promise<Record<string, unknown>> {
      const result = await agent.client.callTool({ name: 'get_approval', arguments: { approvalId } });
      expect(result.isError, JSON.stringify(result)).not.toBe(true);
      return structured(result) as Record<string, unknown>;
    }

    beforeAll(async () => {
      app = await startTestApp(backend);
      await openAccount(app, app.demoKey, FLOAT);
      const wallet = await openAccount(app, app.demoKey, WALLET, { type: 'liability' });
      const policy = await setApprovalPolicy(app, app.demoKey, {
        thresholds: { KES: '1000.00' },
        reversals: true,
        expiresAfterSeconds: EXPIRY_SECONDS,
      });
      // The agent's key holds every scope there is.
      const key = await app.request('POST', '/v1/api-keys', {
        token: app.demoKey,
        body: { name: 'agent', scopes: [...SCOPES] },
      });
      expect(key.status, JSON.stringify(key.body)).toBe(201);
      agentKey = key.body.apiKey as string;
      agentKeyId = key.body.keyId as string;
      for (const position of [wallet.position, policy, key.body.position as string]) {
        await app.request('GET', `/v1/organization?consistentWith=${position ?? '0-0'}`, {
          token: app.demoKey,
        });
      }
      manager = await member('manager');
      userToken = await member('user');
      agent = await connectHttp(app, agentKey);
    });

    afterAll(async () => {
      await agent.close();
      await app.close();
    });

    it('runs a transfer under the threshold at once', async () => {
      const answer = await ask('small-1', '10.00');
      expect(answer['created']).toBe(1);
    });

    it('holds a large transfer for a manager, approves it over REST, and runs it as the agent’s call', async () => {
      const before = (await ledgerEvents()).length;
      const pending = await ask('big-1', '5000.00', 'big-1-key');
      expect(pending).toMatchObject({ status: 'pending_approval' });
      const approvalId = pending['approvalId']!;
      expect(pending['whatHappensNext']).toContain(`/v1/approvals/${approvalId}/approve`);
      // Retrying with the same idempotency key answers the same approval, asking nothing new.
      expect((await ask('big-1', '5000.00', 'big-1-key'))['approvalId']).toBe(approvalId);
      // Nothing reached the ledger.
      expect(await transferStatus('big-1', pending['position']!)).toBe(404);
      expect((await ledgerEvents()).length).toBe(before);
      expect(await approval(approvalId)).toMatchObject({
        status: 'pending',
        command: 'ledger_create_transfers',
      });
      const resource = await agent.client.readResource({ uri: `approvals://${approvalId}` });
      expect(JSON.parse((resource.contents[0] as { text: string }).text).status).toBe('pending');

      // The agent cannot approve: no tool, and its key cannot approve over REST either.
      const tools = (await agent.client.listTools()).tools.map((tool) => tool.name);
      expect(tools).not.toContain('approve_request');
      expect(tools).not.toContain('reject_request');
      await expect(
        agent.client.callTool({ name: 'approve_request', arguments: { approvalId } }),
      ).rejects.toMatchObject({
        code: -32602,
      });
      const byKey = await app.request('POST', `/v1/approvals/${approvalId}/approve`, {
        token: agentKey,
        body: {},
      });
      expect(byKey.status).toBe(403);
      const byUser = await app.request('POST', `/v1/approvals/${approvalId}/approve`, {
        token: userToken,
        body: {},
      });
      expect(byUser.status).toBe(403);
      expect(await transferStatus('big-1', pending['position']!)).toBe(404);

      const approved = await app.request('POST', `/v1/approvals/${approvalId}/approve`, {
        token: manager,
        body: { note: 'checked with the customer' },
      });
      expect(approved.status, JSON.stringify(approved.body)).toBe(200);
      expect(approved.body).toMatchObject({ approvalId, status: 'executed', result: { created: 1 } });
      expect(await transferStatus('big-1', approved.body.position as string)).toBe(200);
      const again = await app.request('POST', `/v1/approvals/${approvalId}/approve`, {
        token: manager,
        body: {},
      });
      expect(again.status).toBe(409);

      // The transfer's event: the agent's key and MCP client, caused by the approval.
      const written = (await ledgerEvents()).filter(
        (event) => event.type === 'TransferCreated' && event.data['transferId'] === 'big-1',
      );
      expect(written).toHaveLength(1);
      expect(written[0]).toMatchObject({
        causationId: approvalId,
        actor: { kind: 'api_key', id: agentKeyId },
        channel: { kind: 'mcp', clientName: CLIENT_INFO.name, clientVersion: CLIENT_INFO.version },
      });
      // The approval's own stream: asked over MCP, granted over REST by the manager, executed.
      const stream = await app.request('GET', `/v1/audit/streams/${app.demoOrgId}.approvals-${approvalId}`, {
        token: app.demoKey,
      });
      expect(stream.body.events.map((event: { type: string }) => event.type)).toEqual([
        'ApprovalRequested',
        'ApprovalGranted',
        'ApprovalExecuted',
      ]);
      expect(stream.body.events[0].channel.kind).toBe('mcp');
      expect(stream.body.events[1]).toMatchObject({ channel: { kind: 'rest' }, actor: { kind: 'member' } });
      const done = await app.request(
        'GET',
        `/v1/approvals/${approvalId}?consistentWith=${approved.body.position as string}`,
        {
          token: app.demoKey,
        },
      );
      expect(done.body).toMatchObject({ status: 'executed', decisionNote: 'checked with the customer' });
    });

    it('leaves no trace in the ledger when a manager rejects', async () => {
      const before = await ledgerEvents();
      const pending = await ask('big-2', '2000.00');
      const approvalId = pending['approvalId']!;
      const rejected = await app.request('POST', `/v1/approvals/${approvalId}/reject`, {
        token: manager,
        body: { reason: 'not this customer' },
      });
      expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
      expect(rejected.body.status).toBe('rejected');
      const late = await app.request('POST', `/v1/approvals/${approvalId}/approve`, {
        token: manager,
        body: {},
      });
      expect(late.status).toBe(409);
      expect(await transferStatus('big-2', rejected.body.position as string)).toBe(404);
      expect(await ledgerEvents()).toEqual(before);
      await app.request('GET', `/v1/organization?consistentWith=${rejected.body.position as string}`, {
        token: app.demoKey,
      });
      expect(await approval(approvalId)).toMatchObject({ status: 'rejected' });
    });

    it('lets an approval expire, leaving no trace, and refuses to approve it afterwards', async () => {
      const before = await ledgerEvents();
      const pending = await ask('big-3', '3000.00');
      const approvalId = pending['approvalId']!;
      await app.request('GET', `/v1/approvals/${approvalId}?consistentWith=${pending['position']!}`, {
        token: app.demoKey,
      });
      const services = app.server.runtime.services;
      const later = new Date(services.clock().getTime() + (EXPIRY_SECONDS + 60) * 1000);
      expect(await sweepExpiredApprovals(services, later)).toBeGreaterThanOrEqual(1);
      const stream = await app.request('GET', `/v1/audit/streams/${app.demoOrgId}.approvals-${approvalId}`, {
        token: app.demoKey,
      });
      const expired = stream.body.events.at(-1);
      expect(expired.type).toBe('ApprovalExpired');
      const late = await app.request('POST', `/v1/approvals/${approvalId}/approve`, {
        token: manager,
        body: {},
      });
      expect(late.status).toBe(409);
      expect(await transferStatus('big-3', expired.position as string)).toBe(404);
      expect(await ledgerEvents()).toEqual(before);
      expect(await approval(approvalId)).toMatchObject({ status: 'expired' });
    });

    it('holds every reversal when the policy says so, whatever its amount', async () => {
      const result = await agent.client.callTool({
        name: 'ledger_reverse_transfer',
        arguments: { transferId: 'small-1', reversalId: 'small-1-back', amount: '1.00' },
      });
      expect(structured(result)).toMatchObject({ status: 'pending_approval' });
      expect(structured(result).reason).toMatch(/reversal/);
    });

    it('does not hold the same transfer sent over REST: people are not agents', async () => {
      const response = await app.request('POST', '/v1/ledger/transfers', {
        token: agentKey,
        body: {
          transfers: [
            { transferId: 'rest-big', debitAccount: FLOAT, creditAccount: WALLET, amount: '5000.00' },
          ],
        },
      });
      expect(response.status).toBe(200);
      expect(response.body.created).toBe(1);
    });
  });
}
