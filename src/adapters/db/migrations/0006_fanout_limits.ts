/**
 * Fan-out and limits: the event publisher's checkpoint (how far the global order has been
 * published to NATS JetStream), and the fixed-window counters the per-organization rate limits
 * and the monthly command quota are shared through, across every API process.
 */
export const migration = {
  version: 6,
  name: 'fanout_limits',
  sql: String.raw`
CREATE TABLE ll_publisher_checkpoints (
  name text PRIMARY KEY,
  -- A position {commit, prepare}, as in ll_projection_checkpoints.
  commit_position numeric(20, 0) NOT NULL,
  prepare_position numeric(20, 0) NOT NULL,
  events_published bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per organization, limit and window: 'minute', 'day' (requests) and 'month' (commands).
-- Processes lease units from a row in blocks (see src/commands/limits/), so used may run ahead
-- of what was actually spent by at most one lease per process.
CREATE TABLE ll_rate_windows (
  org_id text NOT NULL,
  kind text NOT NULL,
  window_start timestamptz NOT NULL,
  used bigint NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, kind, window_start)
);
CREATE INDEX ll_rate_windows_expiry ON ll_rate_windows (expires_at);
`,
};
