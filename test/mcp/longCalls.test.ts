/**
 * Long MCP operations over real Streamable HTTP: progress notifications when the client gives a
 * progress token (a bulk payout step by step, a report), and cancellation honoured — the client's
 * AbortSignal sends notifications/cancelled, the server stops between bounded steps (a stream of
 * the verify, a payout of the batch), sends no further progress, writes the unsent payouts off
 * as cancelled, and answers the next call as usual.
 *
 * Where the work stops is made certain, not timed: the store's verify and the simulator's payout
 * (observed, not replaced) wait at a gate until the cancellation has reached the server, and the
 * server's log says when the cancelled call has ended.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { BULK_CONCURRENCY } from '../../src/commands/payments/mpesaCommands.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { caughtUp, until } from '../support/feedChecks.js';
import { sampleCredentials } from '../support/providerCredentials.js';
import { CLIENT_INFO, structured } from './support.js';

const CANCEL_REASON = 'the agent changed its mind';
const PAYOUTS_IN_BATCH = 20;

interface Watched {
  readonly client: Client;
  /** Sends of notifications/cancelled: once one resolves, the server has taken it in. */
  readonly cancellations: Promise<void>[];
  /** Errors the client reported, such as progress for a call it no longer waits for. */
  readonly errors: Error[];
  close(): Promise<void>;
}

async function connectWatched(app: TestApp, bearer: string): Promise<Watched> {
  const transport = new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${bearer}` } },
  });
  const cancellations: Promise<void>[] = [];
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    const sending = send(message, options);
    if ('method' in message && message.method === 'notifications/cancelled') cancellations.push(sending);
    return sending;
  };
  const client = new Client(CLIENT_INFO);
  const errors: Error[] = [];
  client.onerror = (error) => errors.push(error);
  await client.connect(transport);
  return {
    client,
    cancellations,
    errors,
    async close() {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

/** A gate a test opens once: work reaching it waits until then. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('long MCP calls: progress and cancellation over Streamable HTTP', () => {
  let app: TestApp;
  let agent: Watched;
  const logs: { msg?: string; tool?: string }[] = [];

  async function cancelledLogged(tool: string): Promise<void> {
    await until(
      () => logs.some((line) => line.msg === 'MCP tool call cancelled by the client' && line.tool === tool),
      `the server to log the end of the cancelled ${tool}`,
    );
  }

  beforeAll(async () => {
    app = await startTestApp('pglite', {
      logLevel: 'info',
      logStream: {
        write(line) {
          logs.push(JSON.parse(line) as { msg?: string; tool?: string });
        },
      },
    });
    const token = app.demoKey;
    for (const [method, path, body] of [
      ['PUT', '/v1/provider-credentials', { provider: 'mpesa', credentials: sampleCredentials('mpesa') }],
      ['PATCH', '/v1/payments/settings', { fraudPolicy: { unusualHoursStart: 0, unusualHoursEnd: 0 } }],
    ] as const) {
      const answer = await app.request(method, path, { token, body });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    }
    // Fund the float: one collection, settled by the simulator's callback.
    const pushed = await app.request('POST', '/v1/mpesa/stk-push', {
      token,
      body: { phone: '0712345678', amount: '20000', accountReference: 'FLOAT', description: 'Float top-up' },
    });
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(201);
    await until(async () => {
      const status = await app.request(
        'POST',
        `/v1/mpesa/payments/${pushed.body.paymentId as string}/status`,
        {
          token,
          body: { refresh: false },
        },
      );
      return status.body?.status === 'succeeded';
    }, 'the float top-up');
    await caughtUp(app);
    agent = await connectWatched(app, app.demoKey);
  });

  afterAll(async () => {
    await agent.close();
    await app.close();
  });

  it('reports a bulk payout’s progress payout by payout, and a report’s progress to done', async () => {
    const updates: Progress[] = [];
    const result = await agent.client.callTool(
      {
        name: 'mpesa_bulk_payment',
        arguments: {
          batchId: 'progress-1',
          remarks: 'Progress',
          payouts: [1, 2, 3].map((n) => ({ phone: `07110000${n}0`, amount: '100', reference: `p-${n}` })),
        },
      },
      undefined,
      { onprogress: (update) => updates.push(update) },
    );
    expect(result.isError, JSON.stringify(result)).not.toBe(true);
    expect(structured(result).payouts).toHaveLength(3);
    const steps = updates.filter((update) => update.total === 3).map((update) => update.progress);
    expect(steps).toEqual([1, 2, 3]);
    expect(updates.find((update) => update.progress === 3)?.message).toBe('3 of 3 payouts sent');
    const values = updates.map((update) => update.progress);
    expect(values).toEqual([...new Set(values)].sort((a, b) => a - b));
    expect(updates.at(-1)?.progress).toBe(updates.at(-1)?.total);

    const reported: Progress[] = [];
    const report = await agent.client.callTool({ name: 'mpesa_generate_report', arguments: {} }, undefined, {
      onprogress: (update) => reported.push(update),
    });
    expect(report.isError, JSON.stringify(report)).not.toBe(true);
    expect(reported.length).toBeGreaterThanOrEqual(2);
    expect(reported.at(-1)).toMatchObject({ progress: reported.at(-1)?.total, message: 'done' });
  });

  it('stops verifying hash chains when the client cancels, and answers the next call', async () => {
    const store = app.server.runtime.services.store;
    const verifyStream = store.verifyStream.bind(store);
    const held = gate();
    let verified = 0;
    store.verifyStream = async (stream) => {
      verified += 1;
      await held.wait;
      return verifyStream(stream);
    };
    try {
      const controller = new AbortController();
      const progress: number[] = [];
      const call = agent.client.callTool({ name: 'audit_verify_stream', arguments: {} }, undefined, {
        signal: controller.signal,
        onprogress: (update) => progress.push(update.progress),
      });
      // The server is verifying its first stream when the client gives up.
      await until(() => verified === 1, 'the verify to start');
      controller.abort(CANCEL_REASON);
      await expect(call).rejects.toThrow(CANCEL_REASON);
      expect(agent.cancellations).toHaveLength(1);
      await agent.cancellations[0];
      held.open();
      await cancelledLogged('audit_verify_stream');
      expect(verified).toBe(1);
      const before = agent.errors.length;

      // The next call runs the whole verify: the cancelled one took nothing more.
      const next = await agent.client.callTool({ name: 'audit_verify_stream', arguments: {} });
      const answer = structured(next);
      expect(answer).toMatchObject({ ok: true, brokenLink: null });
      expect(answer.streamsChecked).toBeGreaterThan(1);
      expect(verified).toBe(1 + (answer.streamsChecked as number));
      // No progress came for the cancelled call after it stopped.
      expect(agent.errors.slice(before).filter((error) => error.message.includes('progress'))).toEqual([]);
      expect(progress.every((value) => value === 0)).toBe(true);
    } finally {
      held.open();
      store.verifyStream = verifyStream;
    }
  });

  it('stops a bulk payout between payouts when the client cancels: the rest are never sent', async () => {
    const mobileMoney = app.server.runtime.services.payments.providers.mobileMoney;
    const b2cPayout = mobileMoney.b2cPayout.bind(mobileMoney);
    const held = gate();
    const sent: string[] = [];
    mobileMoney.b2cPayout = async (credentials, request) => {
      sent.push(request.originatorConversationId);
      await held.wait;
      return b2cPayout(credentials, request);
    };
    const batch = {
      batchId: 'cancelled-1',
      remarks: 'Cancelled midway',
      payouts: Array.from({ length: PAYOUTS_IN_BATCH }, (_, n) => ({
        phone: `0722${String(n).padStart(6, '0')}`,
        amount: '100',
        reference: `c-${n}`,
      })),
    };
    try {
      const controller = new AbortController();
      const call = agent.client.callTool({ name: 'mpesa_bulk_payment', arguments: batch }, undefined, {
        signal: controller.signal,
        onprogress: () => undefined,
      });
      // Every worker of the batch is sending a payout when the client gives up.
      await until(() => sent.length === BULK_CONCURRENCY, 'the batch’s first payouts to be sent');
      controller.abort(CANCEL_REASON);
      await expect(call).rejects.toThrow(CANCEL_REASON);
      await agent.cancellations.at(-1);
      // Recorded at once, while the payouts under way are still at M-Pesa: a process that died
      // now would leave a cancelled batch, which the payout resumer never sends.
      const batchStream = `${app.demoOrgId}.payout_batch-${batch.batchId}`;
      await until(async () => {
        const events = await app.server.runtime.store.readStream(batchStream, { maxCount: 10 });
        return events.some((event) => event.type === 'PayoutBatchCancelled');
      }, 'the cancellation to be recorded while the payouts under way wait');
      expect(sent).toHaveLength(BULK_CONCURRENCY);
      held.open();
      await cancelledLogged('mpesa_bulk_payment');
      expect(sent).toHaveLength(BULK_CONCURRENCY);

      // The same batch again answers what happened: those under way went on, the rest cancelled.
      const again = await agent.client.callTool({ name: 'mpesa_bulk_payment', arguments: batch });
      const answer = structured(again);
      expect(again.isError, JSON.stringify(answer)).not.toBe(true);
      expect(answer.counts['cancelled']).toBe(PAYOUTS_IN_BATCH - BULK_CONCURRENCY);
      const going = answer.payouts.filter((payout: { status: string }) => payout.status !== 'cancelled');
      expect(going.map((payout: { paymentId: string }) => payout.paymentId).sort()).toEqual([...sent].sort());
      expect(sent).toHaveLength(BULK_CONCURRENCY);
      const history = await agent.client.callTool({
        name: 'mpesa_transaction_history',
        arguments: { type: 'payout', limit: 100 },
      });
      const batchItems = structured(history).items.filter(
        (item: { batchId: string | null }) => item.batchId === batch.batchId,
      );
      expect(batchItems).toHaveLength(BULK_CONCURRENCY);
      const events = await app.server.runtime.store.readStream(
        `${app.demoOrgId}.payout_batch-${batch.batchId}`,
        { maxCount: 10 },
      );
      // Closed by its run once the payouts under way were handed on: nothing left for the resumer.
      expect(events.map((event) => event.type)).toEqual([
        'PayoutBatchCreated',
        'PayoutBatchCancelled',
        'PayoutBatchDispatched',
      ]);
    } finally {
      held.open();
      mobileMoney.b2cPayout = b2cPayout;
    }
  });
});
