/**
 * Every resource template the catalogs define, read over real Streamable HTTP with the id of a
 * real object: the ledger's, the members', an approval, an audit stream, and the payment, fraud
 * and M-Pesa ones (a customer with a saved card, a card payment held for fraud review, one paid,
 * an M-Pesa collection settled by the simulator). Each answer is JSON of the query's result
 * schema with the fixture's values. Another organization's object answers exactly as a missing
 * one does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { ledgerStream } from '../../src/commands/ledger/book.js';
import { COMMANDS, QUERIES } from '../../src/commands/registry.js';
import { buildMcpCatalog } from '../../src/mcp/catalog.js';
import { matchResource } from '../../src/mcp/resourceTemplates.js';
import { startTestApp, type TestApp, type TestResponse } from '../support/app.js';
import { pendingApprovalOverMcp, setApprovalPolicy } from '../support/approvals.js';
import { caughtUp, newOrganization, until } from '../support/feedChecks.js';
import { createTransfers, openAccount } from '../support/ledgerHttp.js';
import { sampleCredentials } from '../support/providerCredentials.js';
import { connectHttp, type Connected } from './support.js';

const CATALOG = buildMcpCatalog(COMMANDS, QUERIES);
const CASH = 'assets:resources:cash';
const WALLET = 'customers:resources:wallet';
/** Well-formed ids of nothing. */
const MISSING = {
  customer: 'cus_01J9ZZZZZZZZZZZZZZZZZZZZZZ',
  payment: 'pay_01J9ZZZZZZZZZZZZZZZZZZZZZZ',
  member: 'usr_01J9ZZZZZZZZZZZZZZZZZZZZZZ',
  approval: 'apr_01J9ZZZZZZZZZZZZZZZZZZZZZZ',
};

interface Fixtures {
  readonly orgId: string;
  readonly customerId: string;
  readonly paymentId: string;
  readonly memberId: string;
  readonly approvalId: string;
  readonly address: string;
  readonly transferId: string;
}

function ok(response: TestResponse, status = 201): Record<string, unknown> {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  return response.body as Record<string, unknown>;
}

/** An organization's objects of every kind a template names, made over REST by its admin. */
async function fixtures(app: TestApp, orgId: string, token: string, tag: string): Promise<Fixtures> {
  const post = (path: string, body: unknown, status = 201) =>
    app.request('POST', path, { token, body }).then((response) => ok(response, status));
  ok(
    await app.request('PUT', '/v1/provider-credentials', {
      token,
      body: { provider: 'stripe', credentials: sampleCredentials('stripe') },
    }),
    200,
  );
  const customerId = (await post('/v1/customers', { name: `Customer ${tag}` }))['customerId'] as string;
  await post(`/v1/customers/${customerId}/payment-methods`, { token: 'tok_visa', setDefault: true });
  const paid = await post('/v1/payments', { customerId, amount: '25.00', currency: 'USD' });
  expect(paid['status']).toBe('succeeded');
  const memberId = (
    await post('/v1/members', {
      email: `member-${tag}@resources.test`,
      name: `Member ${tag}`,
      role: 'user',
      password: 'a long enough password',
    })
  )['memberId'] as string;
  const address = `${CASH}:${tag}`;
  await openAccount(app, token, address);
  await openAccount(app, token, `${WALLET}:${tag}`, { type: 'liability' });
  const transferId = `resources-${tag}`;
  await createTransfers(app, token, [
    { transferId, debitAccount: address, creditAccount: `${WALLET}:${tag}`, amount: '40.00' },
  ]);
  await setApprovalPolicy(app, token, { thresholds: { KES: '1000.00' } });
  await caughtUp(app);
  const approvalId = await pendingApprovalOverMcp(app, token, {
    transferId: `resources-big-${tag}`,
    debitAccount: address,
    creditAccount: `${WALLET}:${tag}`,
    amount: '5000.00',
  });
  return {
    orgId,
    customerId,
    paymentId: paid['paymentId'] as string,
    memberId,
    approvalId,
    address,
    transferId,
  };
}

type Outcome =
  | { readonly kind: 'read'; readonly json: unknown }
  | { readonly kind: 'refused'; readonly code: number; readonly registry: unknown; readonly message: string };

describe('every MCP resource template over Streamable HTTP', () => {
  let app: TestApp;
  let agent: Connected;
  let mine: Fixtures;
  let theirs: Fixtures;
  let heldPaymentId: string;
  let alertId: string;
  let mpesaPaymentId: string;
  let methodId: string;
  const readTemplates = new Set<string>();

  async function outcome(uri: string, id: string): Promise<Outcome> {
    try {
      const read = await agent.client.readResource({ uri });
      return { kind: 'read', json: JSON.parse((read.contents[0] as { text: string }).text) };
    } catch (error) {
      expect(error).toBeInstanceOf(McpError);
      const failure = error as McpError;
      const data = failure.data as { code?: unknown } | undefined;
      // The id itself may appear in the message; nothing else may tell the two apart.
      return {
        kind: 'refused',
        code: failure.code,
        registry: data?.code,
        message: failure.message.replaceAll(id, '<id>'),
      };
    }
  }

  /** Reads `uri` and checks it against the result schema of the query behind its template. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers freely
  async function read(uri: string): Promise<any> {
    const matched = matchResource(CATALOG.templates, uri);
    expect(matched, uri).not.toBeNull();
    readTemplates.add(matched!.template.options.uri);
    const result = await agent.client.readResource({ uri });
    expect(result.contents).toHaveLength(1);
    const content = result.contents[0] as { uri: string; mimeType: string; text: string };
    expect(content).toMatchObject({ uri, mimeType: 'application/json' });
    const json: unknown = JSON.parse(content.text);
    const parsed = matched!.template.query.result.safeParse(json);
    expect(parsed.success, `${uri}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    return json;
  }

  beforeAll(async () => {
    app = await startTestApp('pglite');
    const other = await newOrganization(app, 'Other resources org');
    mine = await fixtures(app, app.demoOrgId, app.demoKey, 'mine');
    theirs = await fixtures(app, other.orgId, other.token, 'theirs');
    const token = app.demoKey;
    // A payment the fraud rules hold (a new counterparty's large amount, at a low review score).
    ok(
      await app.request('PATCH', '/v1/payments/settings', {
        token,
        body: { fraudPolicy: { reviewScore: 20, blockScore: 90, unusualHoursStart: 0, unusualHoursEnd: 0 } },
      }),
      200,
    );
    const customer = ok(await app.request('POST', '/v1/customers', { token, body: { name: 'Held' } }));
    const heldCustomer = customer['customerId'] as string;
    const method = ok(
      await app.request('POST', `/v1/customers/${heldCustomer}/payment-methods`, {
        token,
        body: { token: 'tok_visa' },
      }),
    );
    methodId = method['methodId'] as string;
    const held = ok(
      await app.request('POST', '/v1/payments', {
        token,
        body: { customerId: heldCustomer, amount: '60000.00', currency: 'USD', description: 'Big order' },
      }),
    );
    expect(held['status']).toBe('held');
    heldPaymentId = held['paymentId'] as string;
    alertId = held['alertId'] as string;
    mine = { ...mine, customerId: heldCustomer };
    // An M-Pesa collection from the same customer, settled by the simulator's callback.
    ok(
      await app.request('PUT', '/v1/provider-credentials', {
        token,
        body: { provider: 'mpesa', credentials: sampleCredentials('mpesa') },
      }),
      200,
    );
    const pushed = ok(
      await app.request('POST', '/v1/mpesa/stk-push', {
        token,
        body: {
          phone: '0712345678',
          amount: '150',
          accountReference: 'INV-9',
          description: 'Invoice',
          customerId: heldCustomer,
        },
      }),
    );
    mpesaPaymentId = pushed['paymentId'] as string;
    await until(async () => {
      const status = await app.request('POST', `/v1/mpesa/payments/${mpesaPaymentId}/status`, {
        token,
        body: { refresh: false },
      });
      return status.body?.status === 'succeeded';
    }, 'the M-Pesa collection to settle');
    await caughtUp(app);
    agent = await connectHttp(app, app.demoKey);
  });

  afterAll(async () => {
    await agent.close();
    await app.close();
  });

  it('reads the payment, fraud and M-Pesa templates with real ids', async () => {
    const { customerId } = mine;
    const history = await read(`payments://${customerId}/history`);
    expect(
      history.items.map((item: { paymentId: string; kind: string; status: string }) => [
        item.paymentId,
        item.kind,
        item.status,
      ]),
    ).toEqual([
      [heldPaymentId, 'card_payment', 'held'],
      [mpesaPaymentId, 'mpesa_collection', 'succeeded'],
    ]);
    expect(history.nextCursor).toBeNull();
    const page = await read(`payments://${customerId}/history?limit=1`);
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).not.toBeNull();

    expect((await read(`payments://${customerId}/methods`)).items).toEqual([
      expect.objectContaining({ methodId, brand: 'visa', last4: '4242', isDefault: true }),
    ]);

    expect(await read(`payments://${heldPaymentId}/status`)).toMatchObject({
      paymentId: heldPaymentId,
      kind: 'card_payment',
      status: 'held',
      alertId,
      amount: '60000.00',
      currency: 'USD',
      fraud: { decision: 'review' },
    });
    const mpesa = await read(`payments://${mpesaPaymentId}/status`);
    expect(mpesa).toMatchObject({
      paymentId: mpesaPaymentId,
      kind: 'mpesa_collection',
      provider: 'mpesa',
      customerId,
      status: 'succeeded',
      transferId: mpesaPaymentId,
      refunds: { items: [] },
    });
    expect(mpesa.receipt).toMatch(/^[A-Z0-9]{10}$/);
    expect(await read(`payments://${mine.paymentId}/status`)).toMatchObject({ status: 'succeeded' });

    const alerts = await read(`fraud://${customerId}/alerts`);
    expect(alerts.items).toEqual([
      expect.objectContaining({ alertId, paymentId: heldPaymentId, customerId, status: 'open' }),
    ]);
    expect(alerts.items[0].rules.map((rule: { rule: string }) => rule.rule)).toContain(
      'new_counterparty_large_amount',
    );
    expect((await read(`fraud://${customerId}/alerts?status=released`)).items).toEqual([]);
    const risk = await read(`fraud://${customerId}/risk-report`);
    expect(risk).toMatchObject({ customerId, payments: 2, alerts: { held: 1, open: 1 } });
    expect(risk.maxScore).toBeGreaterThanOrEqual(20);
    expect(risk.alerts.recent.map((alert: { alertId: string }) => alert.alertId)).toEqual([alertId]);
  });

  it('reads the ledger, member, approval and audit templates with real ids', async () => {
    expect((await read('ledger://accounts')).items.map((item: { address: string }) => item.address)).toEqual(
      expect.arrayContaining([mine.address]),
    );
    const balance = await read(`ledger://accounts/${encodeURIComponent(mine.address)}/balance`);
    expect(balance).toMatchObject({ address: mine.address, asset: 'KES', balances: { posted: '40.00' } });
    expect(await read(`ledger://transfers/${mine.transferId}`)).toMatchObject({
      transferId: mine.transferId,
      debitAccount: mine.address,
      amount: '40.00',
    });
    expect(await read(`users://${mine.memberId}/profile`)).toMatchObject({
      memberId: mine.memberId,
      email: 'member-mine@resources.test',
      role: 'user',
    });
    expect(await read(`users://${mine.memberId}/permissions`)).toMatchObject({ role: 'user' });
    expect(await read(`approvals://${mine.approvalId}`)).toMatchObject({
      approvalId: mine.approvalId,
      status: 'pending',
      command: 'ledger_create_transfers',
    });
    const stream = await read(`audit://streams/${ledgerStream(mine.orgId)}?limit=3`);
    expect(stream.events).toHaveLength(3);
    expect(stream.events[0]).toMatchObject({ type: 'AccountOpened' });
  });

  it('answers another organization’s object exactly as a missing one', async () => {
    const pairs: readonly [template: string, theirs: string, missing: string][] = [
      ['payments://{}/history', theirs.customerId, MISSING.customer],
      ['payments://{}/methods', theirs.customerId, MISSING.customer],
      ['payments://{}/status', theirs.paymentId, MISSING.payment],
      ['fraud://{}/alerts', theirs.customerId, MISSING.customer],
      ['fraud://{}/risk-report', theirs.customerId, MISSING.customer],
      ['ledger://accounts/{}/balance', theirs.address, 'assets:resources:nothing'],
      ['ledger://transfers/{}', theirs.transferId, 'resources-nothing'],
      ['users://{}/profile', theirs.memberId, MISSING.member],
      ['users://{}/permissions', theirs.memberId, MISSING.member],
      ['approvals://{}', theirs.approvalId, MISSING.approval],
      ['audit://streams/{}', ledgerStream(theirs.orgId), `${mine.orgId}.ledger-nothing`],
    ];
    expect(new Set(pairs.map(([template]) => template)).size).toBe(
      CATALOG.templates.filter((template) => !template.static).length,
    );
    for (const [template, their, missing] of pairs) {
      const uri = (id: string) => template.replace('{}', encodeURIComponent(id));
      const seen = await outcome(uri(their), their);
      expect(seen, uri(their)).toEqual(await outcome(uri(missing), missing));
      // A list answers empty for both; one object is not found for both.
      if (seen.kind === 'read') expect(seen.json).toMatchObject({ items: [] });
      else expect(seen).toMatchObject({ code: -32002, registry: 'NOT_FOUND' });
      // A customer's resources (a list or a report) agree: a customer the caller's organization
      // does not have is not found, whether another organization has it or nobody does.
      if (template.includes('{}') && their === theirs.customerId) {
        expect(seen, uri(their)).toMatchObject({ code: -32002, registry: 'NOT_FOUND' });
      }
    }
  });

  it('has read every template the catalogs define', () => {
    expect([...readTemplates].sort()).toEqual(
      CATALOG.templates.map((template) => template.options.uri).sort(),
    );
  });
});
