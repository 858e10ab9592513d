import { z } from 'zod';
import { issueApiKeyToken } from '../../adapters/crypto/apiKeys.js';
import { defineCommand } from '../catalog.js';
import * as s from '../schemas.js';
import { actorOf, decideOnOrganization } from './organizationStream.js';

/** The token is answered once and replaced by this wherever an answer is kept (idempotency). */
export const SHOWN_ONCE = '[shown once]';

export const generateApiKey = defineCommand({
  name: 'generate_api_key',
  title: 'Generate an API key',
  description:
    'Creates an API key for the caller’s organization with a name, scopes and optional expiry. The secret token (lk_live_… or lk_test_…) is in this answer only: store it now, it is never shown again. A key cannot hold more than its creator. Org admins only.',
  input: z.strictObject({
    name: s.name,
    scopes: s.scopes.min(1),
    expiresAt: s.isoTime.optional(),
    environment: z.enum(['live', 'test']).default('live'),
  }),
  output: z.object({
    keyId: z.string(),
    apiKey: z.string(),
    scopes: z.array(z.string()),
    expiresAt: z.string().nullable(),
  }),
  scope: 'keys:write',
  minRole: 'org_admin',
  audience: 'organization',
  secretOutput: ['apiKey'],
  annotations: { idempotentHint: true },
  rest: { method: 'POST', path: '/v1/api-keys', status: 201 },
  async run(input, context) {
    const keyId = context.services.newId('key');
    const { token, secretHash } = issueApiKeyToken(keyId, input.environment);
    const expiresAt = input.expiresAt === undefined ? null : new Date(input.expiresAt).toISOString();
    const outcome = await decideOnOrganization(context, (principal) => ({
      type: 'GenerateApiKey',
      actor: actorOf(principal),
      keyId,
      name: input.name,
      scopes: input.scopes,
      expiresAt,
      secretHash,
      environment: input.environment,
    }));
    return { ...outcome, output: { keyId, apiKey: token, scopes: input.scopes, expiresAt } };
  },
});

export const revokeApiKey = defineCommand({
  name: 'revoke_api_key',
  title: 'Revoke an API key',
  description:
    'Revokes an API key of the caller’s organization; requests with it are refused from then on. Org admins only.',
  input: z.strictObject({ keyId: s.keyId }),
  output: z.object({ keyId: z.string(), status: z.string() }),
  scope: 'keys:write',
  minRole: 'org_admin',
  audience: 'organization',
  annotations: { destructiveHint: true, idempotentHint: true },
  rest: { method: 'POST', path: '/v1/api-keys/:keyId/revoke' },
  async run(input, context) {
    const outcome = await decideOnOrganization(context, () => ({ type: 'RevokeApiKey', keyId: input.keyId }));
    return { ...outcome, output: { keyId: input.keyId, status: 'revoked' } };
  },
});

export const updateApiKeyPermissions = defineCommand({
  name: 'update_api_key_permissions',
  title: 'Change an API key’s scopes',
  description:
    'Replaces the scopes of an API key of the caller’s organization. Neither the caller nor the key’s creator may be exceeded. Org admins only.',
  input: z.strictObject({ keyId: s.keyId, scopes: s.scopes.min(1) }),
  output: z.object({ keyId: z.string(), scopes: z.array(z.string()) }),
  scope: 'keys:write',
  minRole: 'org_admin',
  audience: 'organization',
  annotations: { idempotentHint: true },
  rest: { method: 'PATCH', path: '/v1/api-keys/:keyId' },
  async run(input, context) {
    const outcome = await decideOnOrganization(context, (principal) => ({
      type: 'UpdateApiKeyPermissions',
      actor: actorOf(principal),
      keyId: input.keyId,
      scopes: input.scopes,
    }));
    return { ...outcome, output: { keyId: input.keyId, scopes: input.scopes } };
  },
});
