/**
 * The background resolver of M-Pesa payments whose callback never came (SPEC §5.1, issue 7),
 * on real PostgreSQL over HTTP with the simulator: a collection and a payout whose callbacks
 * are lost (magic …0410) are settled by the status query to what really happened, once; a
 * push M-Pesa never finishes (…0404) is asked a bounded number of times, then left pending
 * with a reconciliation alert and asked no more; a round asks at most its batch, oldest first;
 * a settled payment is never touched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { magicPhone } from '../../src/adapters/providers/simulators/mpesaMagic.js';
import { RESOLVER_DEFAULTS, resolvePending } from '../../src/commands/payments/mpesaResolver.js';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  bookFloat,
  pause,
  paymentEvents,
  payOut,
  setMpesaCredentials,
  stkPush,
  transfersOf,
  until,
  untilPayment,
} from '../support/mpesaHttp.js';
import { probePostgres, serviceGate } from '../support/services.js';

const run = serviceGate('M-Pesa resolver on PostgreSQL', await probePostgres());

/** The callback is lost; the payment itself completes. */
const CALLBACK_LOST = magicPhone(410);
/** Accepted and never finished: every query answers "still processing". */
const NEVER_FINISHES = magicPhone(404);
/** The background resolver of the first app asks this many times at most. */
const ATTEMPTS = 3;
/** Intervals waited, after the last ask, to see the resolver ask no more. */
const QUIET_ROUNDS = 8;
const INTERVAL_MS = 40;

async function statusQueries(app: TestApp, paymentId: string): Promise<number> {
  const { rows } = await app.server.runtime.services.db.query<{ status_queries: number }>(
    'SELECT status_queries FROM rm_payments WHERE payment_id = $1',
    [paymentId],
  );
  return rows[0]?.status_queries ?? -1;
}

async function reconciliationAlerts(app: TestApp, paymentId: string): Promise<{ kind: string }[]> {
  const { rows } = await app.server.runtime.services.db.query<{ kind: string }>(
    'SELECT kind FROM rm_reconciliation_alerts WHERE payment_id = $1',
    [paymentId],
  );
  return rows;
}

describe.skipIf(!run)('the background M-Pesa resolver on PostgreSQL', () => {
  describe('running in the background (a short interval, no grace, 3 attempts)', () => {
    let app: TestApp;
    let token: string;
    let orgId: string;

    beforeAll(async () => {
      app = await startTestApp('postgres', {
        env: {
          LEDGERLINE_MPESA_RESOLVER_INTERVAL_MS: String(INTERVAL_MS),
          LEDGERLINE_MPESA_RESOLVER_GRACE_MS: '0',
          LEDGERLINE_MPESA_RESOLVER_ATTEMPTS: String(ATTEMPTS),
        },
      });
      token = app.demoKey;
      orgId = app.demoOrgId;
      await setMpesaCredentials(app, token);
    });

    afterAll(async () => {
      await app.close();
    });

    it('settles a collection whose callback was lost by the STK query, posting it once', async () => {
      const before = await bookFloat(app, orgId);
      const started = await stkPush(app, token, CALLBACK_LOST, '250');
      expect(started.status).toBe('pending');
      const paid = await untilPayment(
        app,
        token,
        started.paymentId,
        (payment) => payment.status === 'succeeded',
      );
      // No callback: the checkout id stands in for the receipt.
      expect(paid.receipt).toBe(paid.providerRef);
      expect(await bookFloat(app, orgId)).toBe(before + 25_000n);
      const types = (await paymentEvents(app, orgId, started.paymentId)).map((event) => event.type);
      expect(types).not.toContain('ProviderCallbackReceived');
      expect(types.filter((type) => type === 'PaymentSucceeded')).toHaveLength(1);
      expect(types).toContain('ProviderStatusQueried');
      expect(await transfersOf(app, orgId, started.paymentId)).toEqual([
        { transferId: started.paymentId, status: 'posted' },
      ]);
    });

    it('settles a payout whose result was lost by the transaction status, posting its reservation once', async () => {
      const before = await bookFloat(app, orgId);
      const started = await payOut(app, token, 'resolver-payout', CALLBACK_LOST, '100');
      expect(started.status).toBe('pending');
      const paid = await untilPayment(
        app,
        token,
        started.paymentId,
        (payment) => payment.status === 'succeeded',
      );
      expect(paid.receipt).toMatch(/^[A-Z0-9]{10}$/);
      expect(await bookFloat(app, orgId)).toBe(before - 10_000n);
      expect(await transfersOf(app, orgId, started.paymentId)).toEqual([
        { transferId: started.paymentId, status: 'posted' },
      ]);
      const types = (await paymentEvents(app, orgId, started.paymentId)).map((event) => event.type);
      expect(types.filter((type) => type === 'PaymentSucceeded')).toHaveLength(1);
    });

    it('asks about a push M-Pesa never finishes at most 3 times, then alerts and stops, leaving it pending', async () => {
      const before = await bookFloat(app, orgId);
      const started = await stkPush(app, token, NEVER_FINISHES, '100');
      await until(
        () => reconciliationAlerts(app, started.paymentId),
        (alerts) => alerts.length > 0,
      );
      expect(await reconciliationAlerts(app, started.paymentId)).toEqual([{ kind: 'outcome_unresolved' }]);
      expect(await statusQueries(app, started.paymentId)).toBe(ATTEMPTS);
      for (let round = 0; round < QUIET_ROUNDS; round += 1) await pause();
      expect(await statusQueries(app, started.paymentId)).toBe(ATTEMPTS);
      const events = await paymentEvents(app, orgId, started.paymentId);
      expect(events.filter((event) => event.type === 'ProviderStatusQueried')).toHaveLength(ATTEMPTS);
      expect(events.every((event) => event.type !== 'PaymentFailed')).toBe(true);
      expect((await untilPayment(app, token, started.paymentId, () => true)).status).toBe('pending');
      expect(await bookFloat(app, orgId)).toBe(before);
    });
  });

  describe('one round at a time (the default schedule, rounds run by hand)', () => {
    let app: TestApp;
    let token: string;
    let orgId: string;

    beforeAll(async () => {
      app = await startTestApp('postgres');
      token = app.demoKey;
      orgId = app.demoOrgId;
      await setMpesaCredentials(app, token);
    });

    afterAll(async () => {
      await app.close();
    });

    it('asks at most its batch per round, the longest-waiting first, never a settled payment', async () => {
      const settled = await stkPush(app, token, '0712345678', '300');
      await untilPayment(app, token, settled.paymentId, (payment) => payment.status === 'succeeded');
      const settledEvents = (await paymentEvents(app, orgId, settled.paymentId)).length;
      const stuck = [];
      for (let index = 0; index < 3; index += 1) stuck.push(await stkPush(app, token, NEVER_FINISHES, '100'));
      const ids = stuck.map((payment) => payment.paymentId);
      // Projected as pending before a round reads them.
      await until(
        () => Promise.all(ids.map((id) => statusQueries(app, id))),
        (counts) => counts.every((count) => count === 0),
      );
      const services = app.server.runtime.services;
      const options = { ...RESOLVER_DEFAULTS, batchMax: 2, attemptsMax: 2 };
      const later = (): Date => new Date(Date.now() + RESOLVER_DEFAULTS.graceMs + 1_000);

      expect(await resolvePending(services, later(), options)).toBe(2);
      await until(
        () => Promise.all(ids.map((id) => statusQueries(app, id))),
        (counts) => counts.reduce((sum, count) => sum + count, 0) === 2,
      );
      expect(await Promise.all(ids.map((id) => statusQueries(app, id)))).toEqual([1, 1, 0]);
      // The one left waiting goes first in the next round.
      expect(await resolvePending(services, later(), options)).toBe(2);
      await until(
        () => Promise.all(ids.map((id) => statusQueries(app, id))),
        (counts) => counts.reduce((sum, count) => sum + count, 0) === 4,
      );
      expect((await Promise.all(ids.map((id) => statusQueries(app, id)))).includes(0)).toBe(false);
      // Bounded: the rounds run out of payments to ask about.
      let rounds = 0;
      let asked = 1;
      while (asked > 0 && rounds < 10) {
        await until(
          () => Promise.all(ids.map((id) => statusQueries(app, id))),
          (counts) => counts.reduce((sum, count) => sum + count, 0) >= 4 + rounds,
        );
        asked = await resolvePending(services, later(), options);
        rounds += 1;
        if (asked > 0)
          await until(
            () => Promise.all(ids.map((id) => statusQueries(app, id))),
            (counts) => counts.every((count) => count === 2),
          );
      }
      expect(asked).toBe(0);
      expect(await Promise.all(ids.map((id) => statusQueries(app, id)))).toEqual([2, 2, 2]);
      for (const id of ids) {
        await until(
          () => reconciliationAlerts(app, id),
          (alerts) => alerts.length === 1,
        );
        expect((await untilPayment(app, token, id, () => true)).status).toBe('pending');
      }
      expect((await paymentEvents(app, orgId, settled.paymentId)).length).toBe(settledEvents);
    });
  });
});
