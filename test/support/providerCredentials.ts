/**
 * Valid, random, never-repeating provider credentials for tests — each secret registered with
 * the secret scan (test/support/secrets.ts) the moment it is made.
 */
import { randomBytes } from 'node:crypto';
import type { Provider } from '../../src/domain/vault/providers.js';
import type { CredentialsOf } from '../../src/commands/vault/providerSchemas.js';
import { registerSecrets } from './secrets.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function random(length: number, alphabet = ALNUM): string {
  const bytes = randomBytes(length);
  return [...bytes].map((byte) => alphabet[byte % alphabet.length] ?? 'x').join('');
}

/** Fields that are not secrets: not registered (a shortcode would match by chance). */
const NOT_SECRET = ['shortcode', 'initiatorName', 'environment'];

export function sampleCredentials<P extends Provider>(provider: P): CredentialsOf<P> {
  const made = ((): CredentialsOf<Provider> => {
    switch (provider) {
      case 'mpesa':
        return {
          consumerKey: `ck${random(30)}`,
          consumerSecret: `cs${random(30)}`,
          shortcode: '174379',
          passkey: random(64, '0123456789abcdef'),
          initiatorName: 'testapi',
          initiatorPassword: `Ip!${random(13)}`,
          securityCredential: randomBytes(256).toString('base64'),
          environment: 'sandbox',
        };
      case 'stripe':
        return { secretKey: `sk_test_${random(40)}`, webhookSigningSecret: `whsec_${random(32)}` };
      case 'plaid':
        return {
          clientId: random(24, '0123456789abcdef'),
          secret: random(30, '0123456789abcdef'),
          environment: 'sandbox',
        };
      case 'alpaca':
        return { keyId: `PK${random(18, UPPER)}`, secretKey: random(40), environment: 'paper' };
      default:
        throw new Error(`no sample for ${String(provider)}`);
    }
  })();
  registerSecrets(made, `${provider} credentials`, NOT_SECRET);
  return made as CredentialsOf<P>;
}
