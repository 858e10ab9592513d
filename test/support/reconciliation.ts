/**
 * Reconciliation alerts for suites: one raised as the background resolver raises one (after it
 * gave up asking), without waiting for the resolver; or the resolver itself, made to give up at
 * once, and a bounded wait for what it raised.
 */
import { formatPosition } from '../../src/adapters/eventstore/position.js';
import { raiseReconciliationAlert, systemContext } from '../../src/commands/payments/mpesaFlows.js';
import { expect } from 'vitest';
import type { TestApp } from './app.js';

export async function openReconciliationAlert(
  app: TestApp,
  orgId: string,
  paymentId: string,
  /** The reversal or refund the alert is about; absent for the payment itself. */
  reversalId?: string,
): Promise<{ alertId: string; position: string | null }> {
  const services = app.server.runtime.services;
  const context = systemContext(services, 'req_test_reconciliation', 'system');
  const before = new Set(
    (await services.store.readStream(`${orgId}.payment-${paymentId}`))
      .filter((event) => event.type === 'ReconciliationAlertRaised')
      .map((event) => (event.data as { alertId: string }).alertId),
  );
  const raised = await raiseReconciliationAlert(
    context,
    orgId,
    paymentId,
    'outcome_unresolved',
    null,
    'Asked the bounded number of times; the provider never said (test).',
    undefined,
    reversalId,
  );
  const events = await services.store.readStream(`${orgId}.payment-${paymentId}`);
  const alert = events.find(
    (event) =>
      event.type === 'ReconciliationAlertRaised' && !before.has((event.data as { alertId: string }).alertId),
  );
  if (!alert) throw new Error(`no new alert on ${paymentId}`);
  return {
    alertId: (alert.data as { alertId: string }).alertId,
    position: raised.position ? formatPosition(raised.position) : null,
  };
}

/** The card resolver asks a processing payment once, soon, then raises its alert. */
export const CARD_RESOLVER_GIVES_UP_AT_ONCE = {
  LEDGERLINE_CARD_RESOLVER_INTERVAL_MS: '40',
  LEDGERLINE_CARD_RESOLVER_GRACE_MS: '0',
  LEDGERLINE_CARD_RESOLVER_ATTEMPTS: '1',
} as const;

/** Reads of the alert list, ALERT_POLL_MS apart, before the alerts waited for must be there. */
const ALERT_POLLS_MAX = 400;
const ALERT_POLL_MS = 50;

/**
 * The alerts `GET /v1/reconciliation-alerts{query}` lists once it lists at least `count` (polled,
 * bounded): the background resolver raises them in its own time.
 */
export async function untilAlerts(
  app: TestApp,
  token: string,
  query: string,
  count: number,
): Promise<{ alertId: string; paymentId: string }[]> {
  for (let poll = 0; poll < ALERT_POLLS_MAX; poll += 1) {
    const listed = await app.request('GET', `/v1/reconciliation-alerts${query}`, { token });
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    const items = listed.body.items as { alertId: string; paymentId: string }[];
    if (items.length >= count) return items;
    await new Promise((resolve) => setTimeout(resolve, ALERT_POLL_MS));
  }
  throw new Error(`fewer than ${count} reconciliation alerts listed for ${query}`);
}
