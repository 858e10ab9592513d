/**
 * The vault aggregate: one organization's provider credentials (sealed) and its data keys.
 * Pure: the command layer encrypts before it decides, so the decider only ever sees
 * ciphertext, a fingerprint and a key id — and compares fingerprints to tell a repeat from a
 * change.
 */
import { accept, refuse, unreachable, type Decider, type Decision } from '../decider.js';
import type { ProviderCredentialsData, SealedCredentials, VaultEvent } from './events.js';
import type { Provider } from './providers.js';

export type CredentialStatus = 'active' | 'revoked' | 'shredded';

export interface ProviderCredentialsState {
  /** `shredded` once the data key that sealed them is destroyed: they can never be read again. */
  readonly status: CredentialStatus;
  readonly environment: string;
  readonly sealed: SealedCredentials;
}

export interface VaultState {
  /** Every data key this stream has used, and whether it still exists. */
  readonly dataKeys: ReadonlyMap<string, 'active' | 'shredded'>;
  readonly providers: ReadonlyMap<Provider, ProviderCredentialsState>;
}

export const initialVault: VaultState = { dataKeys: new Map(), providers: new Map() };

export type VaultCommand =
  | {
      readonly type: 'SetCredentials' | 'RotateCredentials';
      readonly provider: Provider;
      readonly environment: string;
      readonly sealed: SealedCredentials;
    }
  | { readonly type: 'RevokeCredentials'; readonly provider: Provider; readonly reason: string | null }
  | { readonly type: 'ShredDataKey'; readonly keyId: string };

export interface CredentialsSummary {
  readonly provider: Provider;
  readonly status: CredentialStatus;
  readonly environment: string;
  readonly keyId: string;
  readonly fingerprint: string;
  readonly lastChars: string;
  readonly lastCharsOf: string;
  /** False when the command changed nothing (the same credentials again, or revoked already). */
  readonly changed: boolean;
}

export type VaultResult = CredentialsSummary | { readonly keyId: string; readonly changed: boolean };

function summary(provider: Provider, state: ProviderCredentialsState, changed: boolean): CredentialsSummary {
  return {
    provider,
    status: state.status,
    environment: state.environment,
    keyId: state.sealed.keyId,
    fingerprint: state.sealed.fingerprint,
    lastChars: state.sealed.lastChars,
    lastCharsOf: state.sealed.lastCharsOf,
    changed,
  };
}

function sealedOf(data: ProviderCredentialsData): SealedCredentials {
  return {
    keyId: data.keyId,
    ciphertext: data.ciphertext,
    iv: data.iv,
    authTag: data.authTag,
    fingerprint: data.fingerprint,
    lastChars: data.lastChars,
    lastCharsOf: data.lastCharsOf,
  };
}

export function evolveVault(state: VaultState, event: VaultEvent): VaultState {
  switch (event.type) {
    case 'VaultDataKeyIssued':
      return { ...state, dataKeys: new Map(state.dataKeys).set(event.data.keyId, 'active') };
    case 'ProviderCredentialsSet':
    case 'ProviderCredentialsRotated':
      return {
        ...state,
        providers: new Map(state.providers).set(event.data.provider, {
          status: state.dataKeys.get(event.data.keyId) === 'shredded' ? 'shredded' : 'active',
          environment: event.data.environment,
          sealed: sealedOf(event.data),
        }),
      };
    case 'ProviderCredentialsRevoked': {
      const current = state.providers.get(event.data.provider);
      if (!current) return state;
      return {
        ...state,
        providers: new Map(state.providers).set(event.data.provider, { ...current, status: 'revoked' }),
      };
    }
    case 'VaultDataKeyShredded': {
      const providers = new Map(state.providers);
      for (const [provider, current] of state.providers) {
        if (current.sealed.keyId === event.data.keyId && current.status === 'active') {
          providers.set(provider, { ...current, status: 'shredded' });
        }
      }
      return { dataKeys: new Map(state.dataKeys).set(event.data.keyId, 'shredded'), providers };
    }
    default:
      return unreachable(event);
  }
}

type VaultDecision = Decision<VaultEvent, VaultResult>;

function sealedUnderShreddedKey(state: VaultState, sealed: SealedCredentials): VaultDecision | null {
  if (state.dataKeys.get(sealed.keyId) !== 'shredded') return null;
  return refuse(
    'CREDENTIALS_SHREDDED',
    'The data key these credentials were sealed with was destroyed meanwhile; send them again.',
    { keyId: sealed.keyId },
  );
}

function storeCredentials(
  state: VaultState,
  command: Extract<VaultCommand, { type: 'SetCredentials' | 'RotateCredentials' }>,
  previous: ProviderCredentialsState | undefined,
): VaultDecision {
  const data: ProviderCredentialsData = {
    provider: command.provider,
    environment: command.environment,
    ...command.sealed,
  };
  const events: VaultEvent[] = [];
  if (!state.dataKeys.has(command.sealed.keyId)) {
    events.push({ type: 'VaultDataKeyIssued', data: { keyId: command.sealed.keyId } });
  }
  events.push(
    command.type === 'RotateCredentials' && previous
      ? {
          type: 'ProviderCredentialsRotated',
          data: { ...data, previousFingerprint: previous.sealed.fingerprint },
        }
      : { type: 'ProviderCredentialsSet', data },
  );
  const stored: ProviderCredentialsState = {
    status: 'active',
    environment: command.environment,
    sealed: command.sealed,
  };
  return accept(events, summary(command.provider, stored, true));
}

/** The same credentials under the same key: a retry, not a change. */
function isRepeat(current: ProviderCredentialsState, sealed: SealedCredentials): boolean {
  return (
    current.status === 'active' &&
    current.sealed.keyId === sealed.keyId &&
    current.sealed.fingerprint === sealed.fingerprint
  );
}

export function decideVault(command: VaultCommand, state: VaultState): VaultDecision {
  switch (command.type) {
    case 'SetCredentials': {
      const shredded = sealedUnderShreddedKey(state, command.sealed);
      if (shredded) return shredded;
      const current = state.providers.get(command.provider);
      if (current && isRepeat(current, command.sealed)) {
        return accept([], summary(command.provider, current, false));
      }
      if (current?.status === 'active') {
        return refuse(
          'ALREADY_EXISTS',
          `${command.provider} credentials are set already: replace them with rotate_provider_credentials, or revoke them first.`,
          { provider: command.provider },
        );
      }
      return storeCredentials(state, command, undefined);
    }
    case 'RotateCredentials': {
      const shredded = sealedUnderShreddedKey(state, command.sealed);
      if (shredded) return shredded;
      const current = state.providers.get(command.provider);
      if (!current || current.status === 'revoked') {
        return refuse(
          'NOT_FOUND',
          `No ${command.provider} credentials are set; set them with set_provider_credentials.`,
          { provider: command.provider },
        );
      }
      if (isRepeat(current, command.sealed)) return accept([], summary(command.provider, current, false));
      return storeCredentials(state, command, current);
    }
    case 'RevokeCredentials': {
      const current = state.providers.get(command.provider);
      if (!current) {
        return refuse('NOT_FOUND', `No ${command.provider} credentials are set.`, {
          provider: command.provider,
        });
      }
      if (current.status === 'revoked') return accept([], summary(command.provider, current, false));
      return accept(
        [
          {
            type: 'ProviderCredentialsRevoked',
            data: {
              provider: command.provider,
              fingerprint: current.sealed.fingerprint,
              reason: command.reason,
            },
          },
        ],
        summary(command.provider, { ...current, status: 'revoked' }, true),
      );
    }
    case 'ShredDataKey':
      if (state.dataKeys.get(command.keyId) === 'shredded') {
        return accept([], { keyId: command.keyId, changed: false });
      }
      return accept([{ type: 'VaultDataKeyShredded', data: { keyId: command.keyId } }], {
        keyId: command.keyId,
        changed: true,
      });
    default:
      return unreachable(command);
  }
}

export const vaultDecider: Decider<VaultCommand, VaultState, VaultEvent, VaultResult> = {
  initialState: initialVault,
  evolve: evolveVault,
  decide: (command, state) => decideVault(command, state),
};
