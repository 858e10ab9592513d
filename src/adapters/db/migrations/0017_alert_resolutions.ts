/**
 * Reconciliation alerts can be resolved by a person (resolve_reconciliation_alert): how, with
 * what note, by whom and when. Null while the alert is open.
 */
export const migration = {
  version: 17,
  name: 'alert_resolutions',
  sql: String.raw`
ALTER TABLE rm_reconciliation_alerts
  ADD COLUMN resolution text,
  ADD COLUMN resolution_note text,
  ADD COLUMN resolved_by text,
  ADD COLUMN resolved_at timestamptz;
`,
};
