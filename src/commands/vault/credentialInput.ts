/**
 * The input of set and rotate: `{ provider, credentials }`, where `credentials` is checked
 * against the provider's own schema and every problem names its field
 * (`credentials.consumerSecret`). One object at the top, so MCP tools can carry it as is.
 */
import { z } from 'zod';
import { PROVIDERS, type Provider } from '../../domain/vault/providers.js';
import { PROVIDER_SCHEMAS, type ProviderCredentials } from './providerSchemas.js';

export const provider = z.enum(PROVIDERS);

/** Documents each provider's fields in OpenAPI and MCP (validation is the refinement below). */
const credentialsDocumentation = {
  description:
    'The provider’s credentials. mpesa: consumerKey, consumerSecret, shortcode, passkey, initiatorName, initiatorPassword and/or securityCredential, environment (sandbox|production). stripe: secretKey, webhookSigningSecret. plaid: clientId, secret, environment (sandbox|production). alpaca: keyId, secretKey, environment (paper|live).',
  oneOf: PROVIDERS.map((name) => {
    const { $schema: _dialect, ...schema } = z.toJSONSchema(PROVIDER_SCHEMAS[name], {
      io: 'input',
      unrepresentable: 'any',
    });
    return { title: name, ...schema };
  }),
};

export const credentialsInput = z
  .strictObject({
    provider,
    credentials: z.record(z.string(), z.unknown()).meta(credentialsDocumentation),
  })
  .superRefine((input, context) => {
    const parsed = PROVIDER_SCHEMAS[input.provider].safeParse(input.credentials);
    if (parsed.success) return;
    const issue = parsed.error.issues[0];
    if (!issue) return;
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    context.addIssue({
      code: 'custom',
      path: ['credentials', ...issue.path, ...unknownKeys.slice(0, 1)],
      // Zod's own messages say what was expected, never what was received.
      message: unknownKeys.length > 0 ? `is not a ${input.provider} credential field` : issue.message,
    });
  })
  .transform(
    (input): ProviderCredentials =>
      ({
        provider: input.provider,
        credentials: PROVIDER_SCHEMAS[input.provider].parse(input.credentials),
      }) as ProviderCredentials,
  );

export type CredentialsInput = z.output<typeof credentialsInput>;
export type { Provider };
