/**
 * Audit: the read models of audit grants and of the access log (every read made under a
 * grant), both from the granting organization's streams, and an index that lists one
 * organization's streams in name order (a whole-organization verify pages through it).
 */
export const migration = {
  version: 4,
  name: 'audit',
  sql: String.raw`
CREATE INDEX ll_streams_by_org ON ll_streams ((split_part(stream_name, '.', 1)), stream_name);

CREATE TABLE rm_audit_grants (
  grant_id text PRIMARY KEY,
  -- The granting organization: its data is what the grant opens.
  org_id text NOT NULL,
  grantee_org_id text NOT NULL,
  scopes text[] NOT NULL,
  expires_at timestamptz NOT NULL,
  status text NOT NULL,
  reason text,
  granted_by text NOT NULL,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX rm_audit_grants_org_page ON rm_audit_grants (org_id, grant_id);
CREATE INDEX rm_audit_grants_grantee_page ON rm_audit_grants (grantee_org_id, grant_id);

CREATE TABLE rm_audit_access_log (
  org_id text NOT NULL,
  commit_position numeric(20, 0) NOT NULL,
  prepare_position numeric(20, 0) NOT NULL,
  event_id text NOT NULL,
  grant_id text NOT NULL,
  grantee_org_id text NOT NULL,
  actor_kind text NOT NULL,
  actor_id text NOT NULL,
  actor_role text,
  operation text NOT NULL,
  target text NOT NULL,
  accessed_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, commit_position, prepare_position)
);
CREATE INDEX rm_audit_access_log_grant ON rm_audit_access_log (org_id, grant_id, commit_position, prepare_position);
`,
};
