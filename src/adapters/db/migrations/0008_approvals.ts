/**
 * Approvals (SPEC §6): what an agent asked for over MCP and a human has to decide, with its
 * status and, once it ran, its outcome. The sweep finds pending ones by expiry.
 */
export const migration = {
  version: 8,
  name: 'approvals',
  sql: String.raw`
CREATE TABLE rm_approvals (
  approval_id text PRIMARY KEY,
  org_id text NOT NULL,
  command text NOT NULL,
  input jsonb NOT NULL,
  reason text NOT NULL,
  status text NOT NULL,
  requester jsonb NOT NULL,
  requested_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  decided_by text,
  decided_at timestamptz,
  decision_note text,
  outcome jsonb,
  updated_at timestamptz NOT NULL
);
CREATE INDEX rm_approvals_org ON rm_approvals (org_id, approval_id);
CREATE INDEX rm_approvals_pending ON rm_approvals (expires_at) WHERE status = 'pending';
`,
};
