/**
 * Migration 0020: reconciliation alerts stored before it get the refund or reversal they are
 * about (`reversal_id`) from their `ReconciliationAlertRaised` events, matched by organization
 * and alert id; an alert about the payment itself, or whose event is not in this database,
 * stays null (a rebuild of the payments projection fills it under EventStoreDB).
 */
import { describe, expect, it } from 'vitest';
import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import { migrate } from '../../src/adapters/db/migrate.js';
import { MIGRATIONS } from '../../src/adapters/db/migrations/index.js';
import { openPglite } from '../../src/adapters/db/pgliteDatabase.js';
import { newEvent } from '../support/events.js';

const BEFORE = MIGRATIONS.filter((migration) => migration.version < 20);

function raised(alertId: string, reversalId?: string) {
  return newEvent('ReconciliationAlertRaised', {
    paymentId: 'pay_1',
    alertId,
    kind: 'outcome_unresolved',
    ...(reversalId === undefined ? {} : { reversalId }),
    amount: '10.00',
    currency: 'USD',
    transferId: null,
    detail: 'no answer',
  });
}

describe('migration 0020: reversal ids of stored reconciliation alerts', () => {
  it('fills each alert from its own event, in its own organization only', async () => {
    const db = await openPglite();
    try {
      await migrate(db, BEFORE);
      const store = new SqlEventStore(db);
      await store.append('org_a.payment-pay_1', [raised('rca_refund', 're_1'), raised('rca_payment')], 'any');
      // The same alert id in another organization's event names another refund.
      await store.append('org_b.payment-pay_1', [raised('rca_elsewhere', 're_2')], 'any');
      const alerts: [string, string][] = [
        ['rca_refund', 'org_a'],
        ['rca_payment', 'org_a'],
        ['rca_elsewhere', 'org_a'],
        ['rca_no_event', 'org_a'],
      ];
      for (const [alertId, orgId] of alerts) {
        await db.query(
          `INSERT INTO rm_reconciliation_alerts
             (alert_id, org_id, payment_id, kind, amount, currency, transfer_id, detail, created_at)
           VALUES ($1, $2, 'pay_1', 'outcome_unresolved', 10, 'USD', NULL, 'no answer', now())`,
          [alertId, orgId],
        );
      }
      await migrate(db);
      const { rows } = await db.query<{ alert_id: string; reversal_id: string | null }>(
        'SELECT alert_id, reversal_id FROM rm_reconciliation_alerts ORDER BY alert_id',
      );
      expect(Object.fromEntries(rows.map((row) => [row.alert_id, row.reversal_id]))).toEqual({
        rca_refund: 're_1',
        rca_payment: null,
        rca_elsewhere: null,
        rca_no_event: null,
      });
    } finally {
      await db.close();
    }
  });
});
