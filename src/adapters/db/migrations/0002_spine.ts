/**
 * The CQRS spine's own tables: projection checkpoints, idempotency keys, and the tenancy
 * read models (organizations, members, API keys). Every read-model row carries org_id and
 * every query filters by it.
 */
export const migration = {
  version: 2,
  name: 'spine',
  sql: String.raw`
CREATE TABLE ll_projection_checkpoints (
  name text PRIMARY KEY,
  -- A position {commit, prepare}; numeric because EventStoreDB positions are unsigned 64-bit.
  commit_position numeric(20, 0) NOT NULL,
  prepare_position numeric(20, 0) NOT NULL,
  events_projected bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ll_idempotency_keys (
  org_id text NOT NULL,
  idempotency_key text NOT NULL,
  command text NOT NULL,
  request_hash text NOT NULL,
  -- pending while the first request runs; done once its answer is stored.
  state text NOT NULL,
  status_code integer,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, idempotency_key)
);
CREATE INDEX ll_idempotency_keys_expiry ON ll_idempotency_keys (expires_at);

CREATE TABLE rm_organizations (
  org_id text PRIMARY KEY,
  name text NOT NULL,
  plan text NOT NULL,
  status text NOT NULL,
  settings jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE rm_members (
  member_id text PRIMARY KEY,
  org_id text NOT NULL,
  email text NOT NULL,
  name text NOT NULL,
  role text NOT NULL,
  status text NOT NULL,
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX rm_members_org_email ON rm_members (org_id, lower(email));
CREATE INDEX rm_members_email ON rm_members (lower(email));
CREATE INDEX rm_members_org_page ON rm_members (org_id, member_id);

CREATE TABLE rm_api_keys (
  key_id text PRIMARY KEY,
  org_id text NOT NULL,
  name text NOT NULL,
  scopes text[] NOT NULL,
  expires_at timestamptz,
  created_by text NOT NULL,
  role text NOT NULL,
  status text NOT NULL,
  secret_hash text NOT NULL,
  environment text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX rm_api_keys_org_page ON rm_api_keys (org_id, key_id);
`,
};
