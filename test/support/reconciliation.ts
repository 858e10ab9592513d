/**
 * A reconciliation alert on a payment, raised as the background resolver raises one (after it
 * gave up asking), for suites that need an open alert without waiting for the resolver.
 */
import { formatPosition } from '../../src/adapters/eventstore/position.js';
import { raiseReconciliationAlert, systemContext } from '../../src/commands/payments/mpesaFlows.js';
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
