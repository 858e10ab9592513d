/** Provider credentials as the read model shows them: status, key id, fingerprint, last characters. */
import { z } from 'zod';
import { LedgerlineError } from '../../domain/errors.js';
import { defineQuery } from '../catalog.js';
import * as s from '../schemas.js';
import { provider } from './credentialInput.js';

const providerCredentials = z.object({
  provider: z.string(),
  status: z.enum(['active', 'revoked', 'shredded']),
  environment: z.string(),
  keyId: z.string().describe('The data key the credentials are sealed with'),
  fingerprint: z.string(),
  lastChars: z.string(),
  lastCharsOf: z.string(),
  setAt: z.string(),
  rotatedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  shreddedAt: z.string().nullable(),
  updatedAt: z.string(),
});

interface Row {
  readonly provider: string;
  readonly status: 'active' | 'revoked' | 'shredded';
  readonly environment: string;
  readonly key_id: string;
  readonly fingerprint: string;
  readonly last_chars: string;
  readonly last_chars_of: string;
  readonly set_at: Date;
  readonly rotated_at: Date | null;
  readonly revoked_at: Date | null;
  readonly shredded_at: Date | null;
  readonly updated_at: Date;
}

const COLUMNS =
  'provider, status, environment, key_id, fingerprint, last_chars, last_chars_of, set_at, rotated_at, revoked_at, shredded_at, updated_at';

function toItem(row: Row): z.infer<typeof providerCredentials> {
  return {
    provider: row.provider,
    status: row.status,
    environment: row.environment,
    keyId: row.key_id,
    fingerprint: row.fingerprint,
    lastChars: row.last_chars,
    lastCharsOf: row.last_chars_of,
    setAt: row.set_at.toISOString(),
    rotatedAt: row.rotated_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    shreddedAt: row.shredded_at?.toISOString() ?? null,
    updatedAt: row.updated_at.toISOString(),
  };
}

export const listProviderCredentials = defineQuery({
  name: 'list_provider_credentials',
  title: 'Provider credentials of the organization',
  description:
    'Which providers the caller’s organization has credentials for, with their status (active, revoked, shredded), environment, data key id, fingerprint and the last characters of one field — never the secrets. Compare fingerprints to tell whether two settings were the same. Org admins only.',
  params: z.strictObject({ ...s.pageParams, status: z.enum(['active', 'revoked', 'shredded']).optional() }),
  result: s.page(providerCredentials),
  scope: null,
  minRole: 'org_admin',
  audience: 'organization',
  rest: { path: '/v1/provider-credentials' },
  async run(params, context) {
    const after = s.decodeCursor(params.cursor);
    const { rows } = await context.services.db.query<Row>(
      `SELECT ${COLUMNS} FROM rm_provider_credentials
        WHERE org_id = $1 AND ($2::text IS NULL OR provider > $2) AND ($3::text IS NULL OR status = $3)
        ORDER BY provider LIMIT $4`,
      [context.principal.orgId, after, params.status ?? null, params.limit + 1],
    );
    return s.pageOf(rows, params.limit, toItem, (item) => item.provider);
  },
});

export const getProviderCredentials = defineQuery({
  name: 'get_provider_credentials',
  title: 'One provider’s credentials',
  description:
    'The status, environment, data key id, fingerprint and last characters of the caller’s organization’s credentials for one provider (mpesa, stripe, plaid, alpaca) — never the secrets. NOT_FOUND when none were ever set. Org admins only.',
  params: z.strictObject({ provider }),
  result: providerCredentials,
  scope: null,
  minRole: 'org_admin',
  audience: 'organization',
  rest: { path: '/v1/provider-credentials/:provider' },
  async run(params, context) {
    const { rows } = await context.services.db.query<Row>(
      `SELECT ${COLUMNS} FROM rm_provider_credentials WHERE org_id = $1 AND provider = $2`,
      [context.principal.orgId, params.provider],
    );
    const row = rows[0];
    if (!row) throw new LedgerlineError('NOT_FOUND', `No ${params.provider} credentials are set.`);
    return toItem(row);
  },
});
