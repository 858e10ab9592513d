/**
 * Resolving reconciliation alerts (resolve_reconciliation_alert), on real PostgreSQL over HTTP
 * with the simulator. A reversal M-Pesa never received is asked about a bounded number of
 * times and left requested with an `outcome_unresolved` alert — until now it blocked every
 * further reversal of the collection for good. A person who checked the statement resolves it:
 * `reversal_failed` records it failed and the collection can be reversed again;
 * `reversal_succeeded` posts the opposite transfer once. Any alert can be acknowledged. Only a
 * manager or above, logged in; another organization's alert is a missing one; a resolution
 * that does not fit is refused with nothing written; resolving again the same way is harmless.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReversalRequest } from '../../src/domain/payments/mobileMoney.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { apiKey, createOrg, type TestOrg } from '../support/auditOrgs.js';
import {
  bookFloat,
  describeResponse,
  paymentEvents,
  setMpesaCredentials,
  stkPush,
  until,
  untilReceipted,
} from '../support/mpesaHttp.js';
import { openReconciliationAlert } from '../support/reconciliation.js';
import { probePostgres, serviceGate } from '../support/services.js';

const run = serviceGate('reconciliation alerts on PostgreSQL', await probePostgres());
const ATTEMPTS = 2;
const INTERVAL_MS = 40;

interface Alert {
  alertId: string;
  paymentId: string;
  kind: string;
  resolution: string | null;
  resolvedAt: string | null;
}

describe.skipIf(!run)('resolving reconciliation alerts on PostgreSQL', () => {
  let app: TestApp;
  let org: TestOrg;
  /** While set, M-Pesa never receives a reversal (its answer is lost, nothing happens). */
  let neverSent = false;

  let payers = 0;

  async function collected(token: string, amount: string): Promise<string> {
    // A new payer each time: the fraud rules would hold one phone paying again and again.
    payers += 1;
    const started = await stkPush(app, token, `07113${String(payers).padStart(5, '0')}`, amount);
    await untilReceipted(app, token, started.paymentId);
    return started.paymentId;
  }

  async function reverse(paymentId: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await app.request('POST', `/v1/mpesa/payments/${paymentId}/reverse`, {
      token: org.adminToken,
      body: { reason: 'Customer paid twice' },
    });
    return { status: response.status, body: response.body as Record<string, unknown> };
  }

  async function alerts(): Promise<Alert[]> {
    const response = await app.request('POST', '/v1/mpesa/balance', { token: org.adminToken, body: {} });
    expect(response.status, describeResponse(response)).toBe(200);
    return (response.body as { reconciliationAlerts: Alert[] }).reconciliationAlerts;
  }

  function resolve(alertId: string, resolution: string, token = org.adminToken) {
    return app.request('POST', `/v1/reconciliation-alerts/${alertId}/resolve`, {
      token,
      body: { resolution, note: 'Checked the M-Pesa statement' },
    });
  }

  /** A collection whose reversal M-Pesa never received: the resolver gives up and raises an alert. */
  async function unresolvedReversal(
    amount: string,
  ): Promise<{ paymentId: string; reversalId: string; alertId: string }> {
    const paymentId = await collected(org.adminToken, amount);
    neverSent = true;
    const requested = await reverse(paymentId);
    neverSent = false;
    expect(requested.status, JSON.stringify(requested.body)).toBe(200);
    const reversalId = requested.body['reversalId'] as string;
    const raised = await until(alerts, (list) => list.some((alert) => alert.paymentId === paymentId));
    const alert = raised.find((candidate) => candidate.paymentId === paymentId);
    expect(alert).toMatchObject({ kind: 'outcome_unresolved', resolution: null, resolvedAt: null });
    return { paymentId, reversalId, alertId: alert?.alertId ?? '' };
  }

  beforeAll(async () => {
    app = await startTestApp('postgres', {
      env: {
        LEDGERLINE_MPESA_RESOLVER_INTERVAL_MS: String(INTERVAL_MS),
        LEDGERLINE_MPESA_RESOLVER_GRACE_MS: '0',
        LEDGERLINE_MPESA_RESOLVER_ATTEMPTS: String(ATTEMPTS),
      },
    });
    org = await createOrg(app, 'Reconciliation');
    await setMpesaCredentials(app, org.adminToken);
    // No rule fires for the hour of day: what is held for review does not depend on when this runs.
    const quiet = await app.request('PATCH', '/v1/payments/settings', {
      token: org.adminToken,
      body: { fraudPolicy: { unusualHoursStart: 0, unusualHoursEnd: 0 } },
    });
    expect(quiet.status, describeResponse(quiet)).toBe(200);
    const mobileMoney = app.server.runtime.services.payments.providers.mobileMoney;
    const reversal = mobileMoney.reversal.bind(mobileMoney);
    mobileMoney.reversal = async (credentials, request: ReversalRequest) => {
      if (!neverSent) return reversal(credentials, request);
      return {
        ok: false,
        failure: { kind: 'unavailable', message: 'Daraja: no answer (test)', mayHaveHappened: true },
      };
    };
  });

  afterAll(async () => {
    await app.close();
  });

  it('a reversal nobody could settle blocks the next one until a person records it failed', async () => {
    const { paymentId, reversalId, alertId } = await unresolvedReversal('300');
    const floatBefore = await bookFloat(app, org.orgId);
    const blocked = await reverse(paymentId);
    expect(blocked.status, JSON.stringify(blocked.body)).toBeGreaterThanOrEqual(400);

    const resolved = await resolve(alertId, 'reversal_failed');
    expect(resolved.status, describeResponse(resolved)).toBe(200);
    expect(resolved.body).toMatchObject({
      alertId,
      paymentId,
      resolution: 'reversal_failed',
      reversalStatus: 'failed',
    });
    const events = await paymentEvents(app, org.orgId, paymentId);
    expect(events.filter((event) => event.type === 'ReversalFailed')).toEqual([
      expect.objectContaining({
        data: expect.objectContaining({ reversalId, resultCode: 'RESOLVED_BY_PERSON' }),
      }),
    ]);
    expect(events.filter((event) => event.type === 'ReconciliationAlertResolved')).toHaveLength(1);
    expect(await bookFloat(app, org.orgId)).toBe(floatBefore);
    // The same again changes nothing; another resolution is refused, writing nothing.
    expect((await resolve(alertId, 'reversal_failed')).status).toBe(200);
    const other = await resolve(alertId, 'acknowledged');
    expect(other.status, describeResponse(other)).toBe(409);
    expect(await paymentEvents(app, org.orgId, paymentId)).toHaveLength(events.length);
    const listed = await until(alerts, (list) =>
      list.some((alert) => alert.alertId === alertId && alert.resolution),
    );
    expect(listed.find((alert) => alert.alertId === alertId)).toMatchObject({
      resolution: 'reversal_failed',
    });

    // Reversed again, for real this time: the float gives the 300 back once.
    const again = await reverse(paymentId);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    await until(
      () => paymentEvents(app, org.orgId, paymentId),
      (list) => list.some((event) => event.type === 'ReversalSucceeded'),
    );
    expect(await bookFloat(app, org.orgId)).toBe(floatBefore - 30_000n);
  });

  it('a person who finds the money was returned records it succeeded: reversed on the ledger once', async () => {
    const { paymentId, reversalId, alertId } = await unresolvedReversal('200');
    const floatBefore = await bookFloat(app, org.orgId);
    for (let copy = 0; copy < 2; copy += 1) {
      const resolved = await resolve(alertId, 'reversal_succeeded');
      expect(resolved.status, describeResponse(resolved)).toBe(200);
      expect(resolved.body).toMatchObject({ resolution: 'reversal_succeeded', reversalStatus: 'succeeded' });
    }
    const ledger = await app.server.runtime.services.ledger.state(org.orgId);
    expect(ledger.transfers.get(reversalId)).toMatchObject({ amount: 20_000n, status: 'posted' });
    expect(await bookFloat(app, org.orgId)).toBe(floatBefore - 20_000n);
    const events = await paymentEvents(app, org.orgId, paymentId);
    expect(events.filter((event) => event.type === 'ReversalSucceeded')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'ReconciliationAlertResolved')).toHaveLength(1);
  });

  it('acknowledges any alert; refuses a resolution that does not fit, a key, and another organization', async () => {
    const paymentId = await collected(org.adminToken, '50');
    const raised = await openReconciliationAlert(app, org.orgId, paymentId);
    await until(alerts, (list) => list.some((alert) => alert.alertId === raised.alertId));
    const before = (await paymentEvents(app, org.orgId, paymentId)).length;

    // About the payment, not a reversal: only acknowledged fits.
    const wrong = await resolve(raised.alertId, 'reversal_failed');
    expect(wrong.status, describeResponse(wrong)).toBe(409);
    expect(wrong.body).toMatchObject({ error: { code: 'INVALID_STATE' } });
    // An API key (an agent may hold one) cannot decide, whatever its scopes.
    const key = await apiKey(app, org.adminToken, ['payments:write', 'payments:read']);
    const byKey = await resolve(raised.alertId, 'acknowledged', key);
    expect(byKey.status, describeResponse(byKey)).toBe(403);
    // Another organization's admin: no such alert.
    const stranger = await createOrg(app, 'Stranger');
    const elsewhere = await resolve(raised.alertId, 'acknowledged', stranger.adminToken);
    expect(elsewhere.status, describeResponse(elsewhere)).toBe(404);
    expect((await paymentEvents(app, org.orgId, paymentId)).length).toBe(before);

    const acknowledged = await resolve(raised.alertId, 'acknowledged');
    expect(acknowledged.status, describeResponse(acknowledged)).toBe(200);
    expect(acknowledged.body).toMatchObject({ resolution: 'acknowledged', reversalStatus: null });
  });
});
