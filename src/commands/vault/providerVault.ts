/**
 * The vault as the rest of the platform uses it. Commands seal credentials here before they
 * decide (the decider only ever sees ciphertext); provider adapters ask for an organization's
 * decrypted credentials with `credentials(orgId, provider)`.
 *
 * Decrypted credentials are cached per organization and provider, at most
 * VAULT_CACHE_ENTRIES_MAX entries for VAULT_CACHE_MS each. `forget(events)` drops what
 * committed vault events changed: this process's projector feeds it after every batch, a
 * command that changed credentials drops its own entry at once, and the event bus feeds it
 * what other nodes committed (runtime.ts subscribes it; with NATS that reaches every node).
 * Without NATS, an entry on another node lives at most VAULT_CACHE_MS after a rotation,
 * revocation or shred.
 */
import type { z } from 'zod';
import type { EventStore, RecordedEvent } from '../../adapters/eventstore/port.js';
import { credentialsContext, fingerprint, open, seal } from '../../adapters/crypto/vaultCipher.js';
import type { DataKeyStore } from '../../adapters/crypto/vaultKeys.js';
import { TtlCache } from '../../adapters/ttlCache.js';
import { canonicalJson } from '../../domain/canonicalJson.js';
import { LedgerlineError } from '../../domain/errors.js';
import type { SealedCredentials } from '../../domain/vault/events.js';
import { isProvider, PROVIDERS, type Provider } from '../../domain/vault/providers.js';
import {
  environmentOf,
  lastCharsOf,
  PROVIDER_SCHEMAS,
  type CredentialsOf,
  type ProviderCredentials,
} from './providerSchemas.js';
import { loadVault } from './vaultStream.js';

/**
 * How long decrypted credentials stay in memory. A provider call costs far more than reading
 * the vault stream again, so this is about not decrypting on every call, not about speed.
 */
export const VAULT_CACHE_MS = 10_000;
/** Organizations × providers held decrypted on one node, at most (the oldest go first). */
export const VAULT_CACHE_ENTRIES_MAX = 2_000;

/** The events that change what ProviderVault caches: `forget` acts on these alone. */
export const VAULT_EVENTS: ReadonlySet<string> = new Set([
  'ProviderCredentialsSet',
  'ProviderCredentialsRotated',
  'ProviderCredentialsRevoked',
  'VaultDataKeyShredded',
]);

export interface SealResult {
  readonly environment: string;
  readonly sealed: SealedCredentials;
}

export class ProviderVault {
  private readonly cache: TtlCache<object>;

  constructor(
    private readonly store: EventStore,
    readonly keys: DataKeyStore,
    options: { readonly cacheMs?: number } = {},
  ) {
    this.cache = new TtlCache<object>(options.cacheMs ?? VAULT_CACHE_MS, VAULT_CACHE_ENTRIES_MAX);
  }

  /** Encrypts credentials under the organization's active data key (made on first use). */
  async seal(orgId: string, value: ProviderCredentials): Promise<SealResult> {
    const { keyId, key } = await this.keys.activeKey(orgId);
    const plaintext = canonicalJson(value.credentials);
    const sealed = seal(
      key,
      Buffer.from(plaintext, 'utf8'),
      credentialsContext(orgId, value.provider, keyId),
    );
    const last = lastCharsOf(value);
    return {
      environment: environmentOf(value),
      sealed: {
        keyId,
        ciphertext: sealed.ciphertext.toString('base64'),
        iv: sealed.iv.toString('base64'),
        authTag: sealed.authTag.toString('base64'),
        fingerprint: fingerprint(key, `${value.provider}\n${plaintext}`),
        lastChars: last.chars,
        lastCharsOf: last.field,
      },
    };
  }

  /**
   * The organization's decrypted credentials for `provider`. NOT_FOUND when none were ever
   * set, CREDENTIALS_REVOKED after a revocation, CREDENTIALS_SHREDDED after the data key that
   * sealed them was destroyed.
   */
  async credentials<P extends Provider>(orgId: string, provider: P): Promise<CredentialsOf<P>> {
    const cacheKey = `${orgId}/${provider}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached as CredentialsOf<P>;
    const state = await loadVault(this.store, orgId);
    const current = state.providers.get(provider);
    if (!current) throw new LedgerlineError('NOT_FOUND', `No ${provider} credentials are set.`, { provider });
    if (current.status === 'revoked') {
      throw new LedgerlineError('CREDENTIALS_REVOKED', `The ${provider} credentials were revoked.`, {
        provider,
      });
    }
    if (current.status === 'shredded') {
      throw new LedgerlineError(
        'CREDENTIALS_SHREDDED',
        `The data key that sealed the ${provider} credentials was destroyed; set them again.`,
        { provider, keyId: current.sealed.keyId },
      );
    }
    const key = await this.keys.key(orgId, current.sealed.keyId);
    let plaintext: Buffer;
    try {
      plaintext = open(
        key,
        {
          ciphertext: Buffer.from(current.sealed.ciphertext, 'base64'),
          iv: Buffer.from(current.sealed.iv, 'base64'),
          authTag: Buffer.from(current.sealed.authTag, 'base64'),
        },
        credentialsContext(orgId, provider, current.sealed.keyId),
      );
    } catch (error) {
      throw new LedgerlineError(
        'INTERNAL',
        `The ${provider} credentials do not decrypt.`,
        { provider },
        { cause: error },
      );
    }
    const schema: z.ZodType<CredentialsOf<P>> = PROVIDER_SCHEMAS[provider];
    const parsed = schema.safeParse(JSON.parse(plaintext.toString('utf8')));
    if (!parsed.success) {
      // Never the issue itself: its message could quote a value.
      throw new LedgerlineError(
        'INTERNAL',
        `The stored ${provider} credentials no longer match their schema.`,
        { provider },
      );
    }
    const credentials = parsed.data;
    this.cache.set(cacheKey, Object.freeze(credentials));
    return credentials;
  }

  /** Drops what committed vault events changed (this node's projector; the fan-out for others). */
  forget(events: readonly Pick<RecordedEvent, 'type' | 'data' | 'orgId'>[]): void {
    for (const event of events) {
      if (!VAULT_EVENTS.has(event.type)) continue;
      const provider = (event.data as { provider?: unknown }).provider;
      if (event.type === 'VaultDataKeyShredded') this.forgetOrganization(event.orgId);
      else if (typeof provider === 'string' && isProvider(provider))
        this.forgetProvider(event.orgId, provider);
    }
  }

  forgetProvider(orgId: string, provider: Provider): void {
    this.cache.delete(`${orgId}/${provider}`);
  }

  forgetOrganization(orgId: string): void {
    for (const provider of PROVIDERS) this.cache.delete(`${orgId}/${provider}`);
    this.keys.forget(orgId);
  }
}
