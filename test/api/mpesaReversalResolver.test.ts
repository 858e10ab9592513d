/**
 * The background M-Pesa resolver and reversals (issue 7), on real PostgreSQL over HTTP with
 * the simulator: a reversal M-Pesa made whose answer and result callback were both lost (the
 * result went to a receiver that kept it) is settled by a transaction status query that shows
 * the collection reversed — reversed on the ledger once, and the late result, delivered
 * afterwards, changes nothing; a reversal M-Pesa never received is asked about a bounded number
 * of times, then left requested with a reconciliation alert and asked no more, the ledger
 * untouched. The ledger ends balanced.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReversalRequest } from '../../src/domain/payments/mobileMoney.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { expectBalancedLedger } from '../support/balancedLedger.js';
import {
  bookFloat,
  describeResponse,
  pause,
  POLL_MS,
  paymentEvents,
  setMpesaCredentials,
  stkPush,
  until,
  untilReceipted,
} from '../support/mpesaHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';

const run = serviceGate('M-Pesa reversal resolver on PostgreSQL', await probePostgres());

/** The background resolver asks this many times at most. */
const ATTEMPTS = 3;
const INTERVAL_MS = 40;
/**
 * How long a payment or reversal waits before the resolver asks about it. Not zero: a
 * collection's own callback (the simulator sends it at once) must come before the resolver's
 * status query, or the collection settles without its receipt and cannot be reversed (under
 * CI load the query won that race with no grace at all).
 */
const GRACE_MS = 500;
/** Polls waited, after the last ask, to see the resolver ask no more: two graces and intervals. */
const QUIET_ROUNDS = Math.ceil((2 * (GRACE_MS + INTERVAL_MS)) / POLL_MS);

/**
 * What happens to the next reversals: sent as usual; made by M-Pesa with its answer lost and
 * its result posted elsewhere (`lost`); or never received by M-Pesa at all (`never_sent`).
 */
type ReversalFate = 'usual' | 'lost' | 'never_sent';

describe.skipIf(!run)('the background M-Pesa resolver and reversals on PostgreSQL', () => {
  let app: TestApp;
  let token: string;
  let orgId: string;
  let fate: ReversalFate = 'usual';
  /** Results posted to the receiver that "lost" them, with the URL they were meant for. */
  const lostResults: { url: string; body: string }[] = [];
  const meantFor: string[] = [];
  let receiver: Server;

  async function collected(amount: string): Promise<string> {
    const started = await stkPush(app, token, '0712345678', amount);
    await untilReceipted(app, token, started.paymentId);
    return started.paymentId;
  }

  async function reverse(paymentId: string): Promise<string> {
    const response = await app.request('POST', `/v1/mpesa/payments/${paymentId}/reverse`, {
      token,
      body: { reason: 'Customer paid twice' },
    });
    expect(response.status, describeResponse(response)).toBe(200);
    const body = response.body as { reversalId: string; status: string };
    expect(body.status).toBe('requested');
    return body.reversalId;
  }

  async function count(paymentId: string, type: string): Promise<number> {
    return (await paymentEvents(app, orgId, paymentId)).filter((event) => event.type === type).length;
  }

  async function reversalAsks(paymentId: string, reversalId: string): Promise<number> {
    return (await paymentEvents(app, orgId, paymentId)).filter(
      (event) => event.type === 'ProviderStatusQueried' && event.data['reversalId'] === reversalId,
    ).length;
  }

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        lostResults.push({ url: meantFor.shift() ?? '', body: Buffer.concat(chunks).toString('utf8') });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const elsewhere = `http://127.0.0.1:${String((receiver.address() as AddressInfo).port)}/lost`;
    app = await startTestApp('postgres', {
      env: {
        LEDGERLINE_MPESA_RESOLVER_INTERVAL_MS: String(INTERVAL_MS),
        LEDGERLINE_MPESA_RESOLVER_GRACE_MS: String(GRACE_MS),
        LEDGERLINE_MPESA_RESOLVER_ATTEMPTS: String(ATTEMPTS),
      },
    });
    token = app.demoKey;
    orgId = app.demoOrgId;
    await setMpesaCredentials(app, token);
    // The simulator itself: its reversal answers lost on demand, and its result sent elsewhere.
    const mobileMoney = app.server.runtime.services.payments.providers.mobileMoney;
    const reversal = mobileMoney.reversal.bind(mobileMoney);
    mobileMoney.reversal = async (credentials, request: ReversalRequest) => {
      if (fate === 'usual') return reversal(credentials, request);
      if (fate === 'lost') {
        meantFor.push(request.resultUrl);
        const answer = await reversal(credentials, { ...request, resultUrl: elsewhere });
        expect(answer.ok).toBe(true);
      }
      return {
        ok: false,
        failure: { kind: 'unavailable', message: 'Daraja: no answer (test)', mayHaveHappened: true },
      };
    };
  });

  afterAll(async () => {
    await app.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('settles a reversal whose answer and result were both lost by the transaction status, reversing once; the late result changes nothing', async () => {
    const paymentId = await collected('500');
    const before = await bookFloat(app, orgId);
    fate = 'lost';
    const reversalId = await reverse(paymentId);
    fate = 'usual';
    await until(
      () => count(paymentId, 'ReversalSucceeded'),
      (found) => found === 1,
    );
    expect(await reversalAsks(paymentId, reversalId)).toBeGreaterThan(0);
    expect(await count(paymentId, 'ProviderCallbackReceived')).toBeGreaterThan(0);
    const ledger = await app.server.runtime.services.ledger.state(orgId);
    expect(ledger.transfers.get(reversalId)).toMatchObject({ amount: 50_000n, status: 'posted' });
    expect(await bookFloat(app, orgId)).toBe(before - 50_000n);

    // The result M-Pesa posted (to a receiver that kept it) arrives late at its real URL.
    const lost = await until(
      () => Promise.resolve(lostResults.at(-1)),
      (result) => result !== undefined,
    );
    expect(lost?.body).toContain('ResultCode');
    const meant = new URL(lost?.url ?? '');
    const late = await app.request('POST', `${meant.pathname}${meant.search}`, {
      rawBody: lost?.body ?? '',
      headers: { 'content-type': 'application/json' },
    });
    expect(late.status, describeResponse(late)).toBe(200);
    for (let round = 0; round < QUIET_ROUNDS; round += 1) await pause();
    expect(await count(paymentId, 'ReversalSucceeded')).toBe(1);
    expect(await bookFloat(app, orgId)).toBe(before - 50_000n);
    const after = await app.server.runtime.services.ledger.state(orgId);
    const reversals = [...after.transfers.values()].filter(
      (transfer) => transfer.record.reversalOf === paymentId,
    );
    expect(reversals).toHaveLength(1);
    // Reversed at most once: a second reversal is refused.
    const again = await app.request('POST', `/v1/mpesa/payments/${paymentId}/reverse`, {
      token,
      body: { reason: 'Again' },
    });
    expect(again.status, describeResponse(again)).toBe(409);
  });

  it('asks about a reversal M-Pesa never received at most 3 times, then alerts and stops, leaving it requested', async () => {
    const paymentId = await collected('300');
    const before = await bookFloat(app, orgId);
    fate = 'never_sent';
    const reversalId = await reverse(paymentId);
    fate = 'usual';
    const alerts = async () =>
      (
        await app.server.runtime.services.db.query<{ kind: string; amount: string }>(
          'SELECT kind, amount::text AS amount FROM rm_reconciliation_alerts WHERE payment_id = $1',
          [paymentId],
        )
      ).rows;
    await until(alerts, (raised) => raised.length > 0);
    expect(await alerts()).toEqual([{ kind: 'outcome_unresolved', amount: '300.00' }]);
    expect(await reversalAsks(paymentId, reversalId)).toBe(ATTEMPTS);
    for (let round = 0; round < QUIET_ROUNDS; round += 1) await pause();
    expect(await reversalAsks(paymentId, reversalId)).toBe(ATTEMPTS);
    const { rows } = await app.server.runtime.services.db.query<{ status: string; status_queries: number }>(
      'SELECT status, status_queries FROM rm_payment_reversals WHERE reversal_id = $1',
      [reversalId],
    );
    expect(rows).toEqual([{ status: 'requested', status_queries: ATTEMPTS }]);
    expect(await count(paymentId, 'ReversalSucceeded')).toBe(0);
    expect(await count(paymentId, 'ReversalFailed')).toBe(0);
    expect((await app.server.runtime.services.ledger.state(orgId)).transfers.get(reversalId)).toBeUndefined();
    expect(await bookFloat(app, orgId)).toBe(before);
  });

  it('leaves the ledger balanced: debits equal credits in every asset', async () => {
    await expectBalancedLedger(app, orgId);
  });
});
