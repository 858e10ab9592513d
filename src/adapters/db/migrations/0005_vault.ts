/**
 * The credential vault: each organization's data keys, stored only wrapped under the master
 * key (NULL once shredded), and the provider-credentials read model (no ciphertext, no secret).
 */
export const migration = {
  version: 5,
  name: 'vault',
  sql: String.raw`
CREATE TABLE ll_vault_data_keys (
  key_id text PRIMARY KEY,
  org_id text NOT NULL,
  -- active: wrapped_key holds the data key wrapped (AES-256-GCM) under master_key_id.
  -- shredded: the wrapped key is gone for good; what the key sealed can never be opened.
  status text NOT NULL CHECK (status IN ('active', 'shredded')),
  master_key_id text NOT NULL,
  wrapped_key bytea,
  wrap_iv bytea,
  wrap_tag bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  shredded_at timestamptz,
  CHECK ((status = 'active') = (wrapped_key IS NOT NULL AND wrap_iv IS NOT NULL AND wrap_tag IS NOT NULL))
);
-- At most one active data key per organization; racing creators settle on one.
CREATE UNIQUE INDEX ll_vault_data_keys_active ON ll_vault_data_keys (org_id) WHERE status = 'active';
CREATE INDEX ll_vault_data_keys_org ON ll_vault_data_keys (org_id, created_at);

CREATE TABLE rm_provider_credentials (
  org_id text NOT NULL,
  provider text NOT NULL,
  status text NOT NULL,
  environment text NOT NULL,
  key_id text NOT NULL,
  fingerprint text NOT NULL,
  last_chars text NOT NULL,
  last_chars_of text NOT NULL,
  set_at timestamptz NOT NULL,
  rotated_at timestamptz,
  revoked_at timestamptz,
  shredded_at timestamptz,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, provider)
);
`,
};
