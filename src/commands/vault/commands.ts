/**
 * Provider credentials: set, rotate, revoke (SPEC §1). The values are sealed under the
 * organization's data key before the decider sees them; events and answers carry the
 * ciphertext's key id, a keyed fingerprint and the last characters of one field, never a
 * secret.
 */
import { z } from 'zod';
import { decideVault, type CredentialsSummary, type VaultCommand } from '../../domain/vault/credentials.js';
import { executeOnStream } from '../aggregate.js';
import { defineCommand, type CommandOutcome } from '../catalog.js';
import type { CommandContext } from '../context.js';
import * as s from '../schemas.js';
import { callerOf } from '../tenancy/organizationStream.js';
import { credentialsInput, provider, type CredentialsInput } from './credentialInput.js';
import { vaultAggregate, vaultStream } from './vaultStream.js';

export const credentialsSummary = z.object({
  provider: z.string(),
  status: z.enum(['active', 'revoked', 'shredded']),
  environment: z.string().describe('sandbox / production, test / live, paper / live'),
  keyId: z.string().describe('The data key the credentials are sealed with'),
  fingerprint: z.string().describe('HMAC-SHA256 of the credentials under a key derived from the data key'),
  lastChars: z.string().describe('The last characters of the field named by lastCharsOf'),
  lastCharsOf: z.string(),
  changed: z.boolean().describe('False when the command changed nothing (a repeat)'),
});

async function decide(
  context: CommandContext,
  command: (orgId: string) => Promise<VaultCommand>,
): Promise<CommandOutcome<CredentialsSummary>> {
  const orgId = callerOf(context).orgId;
  const decided = await command(orgId);
  const outcome = await executeOnStream(context, vaultStream(orgId), vaultAggregate, (state) =>
    decideVault(decided, state),
  );
  const output = outcome.output as CredentialsSummary;
  // This node forgets at once; the projector and the fan-out tell the others.
  if (output.changed) context.services.vault.forgetProvider(orgId, output.provider);
  return { ...outcome, output };
}

async function sealed(
  context: CommandContext,
  type: 'SetCredentials' | 'RotateCredentials',
  input: CredentialsInput,
  orgId: string,
): Promise<VaultCommand> {
  const { environment, sealed: sealedCredentials } = await context.services.vault.seal(orgId, input);
  return { type, provider: input.provider, environment, sealed: sealedCredentials };
}

export const setProviderCredentials = defineCommand({
  name: 'set_provider_credentials',
  title: 'Set a provider’s credentials',
  description:
    'Stores the caller’s organization’s credentials for one provider (mpesa, stripe, plaid or alpaca), encrypted with the organization’s data key. Use it the first time, or after a revocation; to replace credentials that are set, use rotate_provider_credentials. The answer and every later read show only a fingerprint and the last characters of one field — never the secrets, so keep your own copy. Sending the same credentials again changes nothing. Org admins with credentials:write only.',
  input: credentialsInput,
  output: credentialsSummary,
  scope: 'credentials:write',
  minRole: 'org_admin',
  audience: 'organization',
  annotations: { idempotentHint: true, destructiveHint: false, openWorldHint: false },
  // Over MCP, the approval policy may keep credential changes for people (SPEC §6).
  approval: { kind: 'credentials' },
  rest: { method: 'PUT', path: '/v1/provider-credentials' },
  async run(input, context) {
    return decide(context, (orgId) => sealed(context, 'SetCredentials', input, orgId));
  },
});

export const rotateProviderCredentials = defineCommand({
  name: 'rotate_provider_credentials',
  title: 'Rotate a provider’s credentials',
  description:
    'Replaces the caller’s organization’s credentials for one provider with new ones (after the provider issued new keys, or when a secret may have leaked). The old credentials stop being used at once on this server and within seconds everywhere. Needs credentials that are set (or were made unreadable by a data-key shred); the answer shows the new fingerprint. Org admins with credentials:write only.',
  input: credentialsInput,
  output: credentialsSummary,
  scope: 'credentials:write',
  minRole: 'org_admin',
  audience: 'organization',
  annotations: { idempotentHint: true, destructiveHint: true, openWorldHint: false },
  // Over MCP, the approval policy may keep credential changes for people (SPEC §6).
  approval: { kind: 'credentials' },
  rest: { method: 'POST', path: '/v1/provider-credentials/rotate' },
  async run(input, context) {
    return decide(context, (orgId) => sealed(context, 'RotateCredentials', input, orgId));
  },
});

export const revokeProviderCredentials = defineCommand({
  name: 'revoke_provider_credentials',
  title: 'Revoke a provider’s credentials',
  description:
    'Stops the caller’s organization from using its credentials for one provider: payments, payouts, bank links or trades through that provider fail until credentials are set again. Revoke them at the provider too. Revoking twice changes nothing. Org admins with credentials:write only.',
  input: z.strictObject({ provider, reason: s.reason.optional() }),
  output: credentialsSummary,
  scope: 'credentials:write',
  minRole: 'org_admin',
  audience: 'organization',
  annotations: { idempotentHint: true, destructiveHint: true, openWorldHint: false },
  // Over MCP, the approval policy may keep credential changes for people (SPEC §6).
  approval: { kind: 'credentials' },
  rest: { method: 'POST', path: '/v1/provider-credentials/:provider/revoke' },
  async run(input, context) {
    return decide(context, () =>
      Promise.resolve({ type: 'RevokeCredentials', provider: input.provider, reason: input.reason ?? null }),
    );
  },
});
