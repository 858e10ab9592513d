/**
 * A reconciliation alert about a refund or reversal names it (`reversal_id`), so the paged list
 * of alerts (list_reconciliation_alerts) says which refund a person is asked to check. Alerts
 * stored before are filled from their events where the events live in this database, found by
 * their payment's stream (the stream index; never a scan of every event); under EventStoreDB a
 * rebuild of the payments projection fills them.
 */
export const migration = {
  version: 20,
  name: 'alert_reversal_ids',
  sql: String.raw`
ALTER TABLE rm_reconciliation_alerts ADD COLUMN reversal_id text;
UPDATE rm_reconciliation_alerts a
   SET reversal_id = e.data->>'reversalId'
  FROM ll_events e
 WHERE e.stream_name = a.org_id || '.payment-' || a.payment_id
   AND e.event_type = 'ReconciliationAlertRaised'
   AND e.data->>'alertId' = a.alert_id
   AND e.data ? 'reversalId';
`,
};
