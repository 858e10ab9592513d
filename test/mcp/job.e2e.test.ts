/**
 * Issue 8's "done when": a whole job driven through MCP alone, by the SDK's own Client over real
 * Streamable HTTP against a started server with its embedded M-Pesa simulator. The agent sets the
 * organization's M-Pesa credentials, collects two payments, follows them until the simulator's
 * callbacks settle them (tool and payment-status resource), reads the float's balance resource,
 * asks for a payout above the approval threshold — which waits, reaching neither M-Pesa nor the
 * ledger — and, once a manager approves over REST, sees it settle; a subscription to the float's
 * balance hears of it. People only configure the organization and approve, over REST.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { ledgerStream } from '../../src/commands/ledger/book.js';
import { SCOPES } from '../../src/domain/access.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { setApprovalPolicy } from '../support/approvals.js';
import { sampleCredentials } from '../support/providerCredentials.js';
import { connectHttp, structured, type Connected } from './support.js';

const PASSWORD = 'a long enough password';
const FLOAT = 'assets:mpesa:float';
const FLOAT_URI = `ledger://accounts/${encodeURIComponent(FLOAT)}/balance`;
/** Collections stay at or under it; the payout's total goes over it. */
const THRESHOLD = '2000';
const COLLECTIONS = [
  { phone: '0712345678', amount: '1500' },
  { phone: '0722000333', amount: '1500' },
] as const;
const PAYOUTS = [
  { phone: '0711222333', amount: '1200', reference: 'supplier-1' },
  { phone: '0733444555', amount: '1200', reference: 'supplier-2' },
] as const;
/** Bounded polling for what the simulator's callbacks and the projector bring. */
const POLL_ATTEMPTS = 400;
const POLL_MS = 25;

async function poll<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let attempt = 0; attempt < POLL_ATTEMPTS; attempt += 1) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('an agent’s whole M-Pesa job over MCP (Streamable HTTP), approved by a manager over REST', () => {
  let app: TestApp;
  let agent: Connected;
  let manager: string;
  /** What reached the simulated M-Pesa: observed on the simulator, not replaced. */
  const pushed: string[] = [];
  const paidOut: string[] = [];
  const updates: string[] = [];

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers freely
  async function tool(name: string, args: Record<string, unknown>): Promise<any> {
    const result = await agent.client.callTool({ name, arguments: args });
    expect(result.isError, `${name}: ${JSON.stringify(result)}`).not.toBe(true);
    expect(JSON.parse((result.content as { text: string }[])[0]!.text)).toEqual(structured(result));
    return structured(result);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers freely
  async function resource(uri: string): Promise<any> {
    const read = await agent.client.readResource({ uri });
    const content = read.contents[0] as { uri: string; mimeType: string; text: string };
    expect(content).toMatchObject({ uri, mimeType: 'application/json' });
    return JSON.parse(content.text);
  }

  async function settled(paymentId: string): Promise<Record<string, unknown>> {
    return poll(async () => {
      const status = await tool('mpesa_check_status', { paymentId });
      return ['succeeded', 'failed'].includes(status.status as string) ? status : undefined;
    }, `payment ${paymentId} to settle`);
  }

  beforeAll(async () => {
    app = await startTestApp('pglite');
    const mobileMoney = app.server.runtime.services.payments.providers.mobileMoney;
    const stkPush = mobileMoney.stkPush.bind(mobileMoney);
    mobileMoney.stkPush = (credentials, request) => {
      pushed.push(request.phone);
      return stkPush(credentials, request);
    };
    const b2cPayout = mobileMoney.b2cPayout.bind(mobileMoney);
    mobileMoney.b2cPayout = (credentials, request) => {
      paidOut.push(request.originatorConversationId);
      return b2cPayout(credentials, request);
    };
    // What people do once, over REST: the policy, quiet fraud hours (a night run must not hold
    // a payment for the hour alone), the agent's key and a manager.
    const policy = await setApprovalPolicy(app, app.demoKey, { thresholds: { KES: THRESHOLD } });
    const quiet = await app.request('PATCH', '/v1/payments/settings', {
      token: app.demoKey,
      body: { fraudPolicy: { unusualHoursStart: 0, unusualHoursEnd: 0 } },
    });
    expect(quiet.status, JSON.stringify(quiet.body)).toBe(200);
    const key = await app.request('POST', '/v1/api-keys', {
      token: app.demoKey,
      body: { name: 'mpesa agent', scopes: [...SCOPES] },
    });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    const email = 'manager@job.test';
    const member = await app.request('POST', '/v1/members', {
      token: app.demoKey,
      body: { email, name: 'Manager', role: 'manager', password: PASSWORD },
    });
    expect(member.status, JSON.stringify(member.body)).toBe(201);
    for (const position of [policy, quiet.body.position, key.body.position, member.body.position]) {
      await app.request('GET', `/v1/organization?consistentWith=${String(position)}`, { token: app.demoKey });
    }
    const login = await app.request('POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    manager = login.body.accessToken as string;
    agent = await connectHttp(app, key.body.apiKey as string);
    agent.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      updates.push(notification.params.uri);
    });
  });

  afterAll(async () => {
    await agent.close();
    await app.close();
  });

  it('collects, checks, reads the balance, waits for approval on a large payout, and sees it settle', async () => {
    // 1. Credentials through the tool: this policy does not keep credential changes from agents.
    const credentials = await tool('set_provider_credentials', {
      provider: 'mpesa',
      credentials: sampleCredentials('mpesa'),
    });
    expect(credentials).toMatchObject({ provider: 'mpesa', status: 'active', changed: true });

    // 2. Collect two payments, each at the threshold or under it, so each runs at once.
    const collected: string[] = [];
    for (const [index, collection] of COLLECTIONS.entries()) {
      const started = await tool('mpesa_stk_push', {
        ...collection,
        accountReference: `INV-${index}`,
        description: 'Invoice',
        idempotency_key: `collect-${index}`,
      });
      // With no simulated delay the callback may have settled it before the push answered.
      expect(['pending', 'succeeded'], JSON.stringify(started)).toContain(started.status);
      expect(started.fraud.decision).toBe('allow');
      collected.push(started.paymentId as string);
    }
    expect(pushed).toHaveLength(2);

    // 3. Follow each until the simulator's callback settles it: the tool, then the resource.
    for (const paymentId of collected) {
      const status = await settled(paymentId);
      expect(status).toMatchObject({ paymentId, kind: 'mpesa_collection', status: 'succeeded' });
      expect(status['receipt']).toMatch(/^[A-Z0-9]{10}$/);
      const read = await resource(`payments://${paymentId}/status`);
      expect(read).toMatchObject({
        paymentId,
        kind: 'mpesa_collection',
        provider: 'mpesa',
        currency: 'KES',
        status: 'succeeded',
        receipt: status['receipt'],
        transferId: paymentId,
        failure: null,
      });
    }

    // 4. The float's balance resource shows the money (read-your-writes through the session).
    const funded = await resource(FLOAT_URI);
    expect(funded).toMatchObject({ address: FLOAT, asset: 'KES', at: null });
    expect(funded.balances).toMatchObject({
      posted: '3000.00',
      available: '3000.00',
      creditsPending: '0.00',
    });
    await agent.client.subscribeResource({ uri: FLOAT_URI });

    // 5. A payout above the threshold waits for a person: nothing reaches M-Pesa or the ledger.
    const ledgerEvents = () =>
      app.server.runtime.store.readStream(ledgerStream(app.demoOrgId), { maxCount: 4_096 });
    const ledgerBefore = await ledgerEvents();
    // The float was opened and the two collections posted.
    expect(ledgerBefore.length).toBeGreaterThanOrEqual(3);
    const pending = await tool('mpesa_bulk_payment', {
      batchId: 'suppliers-november',
      remarks: 'Supplier payouts',
      payouts: PAYOUTS,
      idempotency_key: 'payout-suppliers-november',
    });
    expect(pending).toMatchObject({ status: 'pending_approval', approvalId: expect.stringMatching(/^apr_/) });
    expect(pending.reason).toContain('2400 KES is above the approval threshold of 2000 KES');
    const approvalId = pending.approvalId as string;
    expect(pending.whatHappensNext).toContain(`/v1/approvals/${approvalId}/approve`);
    expect(paidOut).toEqual([]);
    expect(await ledgerEvents()).toHaveLength(ledgerBefore.length);
    expect((await resource(FLOAT_URI)).balances).toEqual(funded.balances);
    expect((await tool('mpesa_transaction_history', { type: 'payout' })).items).toEqual([]);
    expect(await tool('get_approval', { approvalId })).toMatchObject({
      approvalId,
      status: 'pending',
      command: 'mpesa_bulk_payment',
    });
    expect(await resource(`approvals://${approvalId}`)).toMatchObject({ approvalId, status: 'pending' });

    // 6. A manager approves over REST; the batch runs as the agent's call.
    const approved = await app.request('POST', `/v1/approvals/${approvalId}/approve`, {
      token: manager,
      body: { note: 'suppliers confirmed' },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ approvalId, status: 'executed' });
    const batch = approved.body.result as { payouts: { paymentId: string; amount: string }[] };
    expect(batch.payouts.map((payout) => payout.amount)).toEqual(['1200.00', '1200.00']);

    // 7. The agent sees it settle: the approval, each payout, the balance, and a notification.
    const executed = await poll(async () => {
      const read = await resource(`approvals://${approvalId}`);
      return read.status === 'executed' ? read : undefined;
    }, 'the approval resource to show it executed');
    expect(executed).toMatchObject({ approvalId, command: 'mpesa_bulk_payment' });
    expect(await tool('get_approval', { approvalId })).toMatchObject({ status: 'executed' });
    for (const { paymentId } of batch.payouts) {
      expect(await settled(paymentId)).toMatchObject({ kind: 'mpesa_payout', status: 'succeeded' });
      expect(await resource(`payments://${paymentId}/status`)).toMatchObject({
        paymentId,
        kind: 'mpesa_payout',
        status: 'succeeded',
      });
    }
    expect([...paidOut].sort()).toEqual(batch.payouts.map((payout) => payout.paymentId).sort());
    const after = await poll(async () => {
      const read = await resource(FLOAT_URI);
      return read.balances.creditsPending === '0.00' ? read : undefined;
    }, 'the payout reservations to be posted');
    expect(after.balances).toMatchObject({ posted: '600.00', available: '600.00' });
    await poll(
      () => Promise.resolve(updates.includes(FLOAT_URI) ? true : undefined),
      'a resources/updated notification for the float',
    );
    await agent.client.unsubscribeResource({ uri: FLOAT_URI });
  });
});
