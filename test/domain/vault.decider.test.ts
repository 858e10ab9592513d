/**
 * The vault decider, given / when / then: it sees only sealed credentials (ciphertext, key id,
 * fingerprint) and decides by fingerprint whether a command is a repeat, a change or a
 * conflict; a shred marks what the key sealed as shredded.
 */
import { describe, it } from 'vitest';
import { vaultDecider, type VaultCommand } from '../../src/domain/vault/credentials.js';
import type { SealedCredentials, VaultEvent } from '../../src/domain/vault/events.js';
import { deciderSpec } from '../support/decider.js';

const spec = deciderSpec(vaultDecider);

function sealed(fingerprint: string, keyId = 'dk_1'): SealedCredentials {
  return {
    keyId,
    ciphertext: `ct-${fingerprint}`,
    iv: 'aXY=',
    authTag: 'dGFn',
    fingerprint,
    lastChars: 'abcd',
    lastCharsOf: 'secretKey',
  };
}

const set = (fingerprint: string, keyId = 'dk_1'): VaultCommand => ({
  type: 'SetCredentials',
  provider: 'stripe',
  environment: 'test',
  sealed: sealed(fingerprint, keyId),
});
const rotate = (fingerprint: string, keyId = 'dk_1'): VaultCommand => ({
  type: 'RotateCredentials',
  provider: 'stripe',
  environment: 'test',
  sealed: sealed(fingerprint, keyId),
});
const revoke: VaultCommand = { type: 'RevokeCredentials', provider: 'stripe', reason: null };

const issued = (keyId = 'dk_1'): VaultEvent => ({ type: 'VaultDataKeyIssued', data: { keyId } });
const wasSet = (fingerprint: string, keyId = 'dk_1'): VaultEvent => ({
  type: 'ProviderCredentialsSet',
  data: { provider: 'stripe', environment: 'test', ...sealed(fingerprint, keyId) },
});
const revoked = (fingerprint: string): VaultEvent => ({
  type: 'ProviderCredentialsRevoked',
  data: { provider: 'stripe', fingerprint, reason: null },
});
const shredded = (keyId = 'dk_1'): VaultEvent => ({ type: 'VaultDataKeyShredded', data: { keyId } });

describe('the vault decider', () => {
  it('records the data key the first time it seals something, then the credentials', () => {
    spec
      .given([])
      .when(set('f1'))
      .then([issued(), wasSet('f1')]);
  });

  it('does not record a data key it knows', () => {
    spec
      .given([issued(), wasSet('f1'), revoked('f1')])
      .when(set('f2'))
      .then([wasSet('f2')]);
  });

  it('treats the same credentials under the same key as a repeat', () => {
    spec
      .given([issued(), wasSet('f1')])
      .when(set('f1'))
      .thenNothingHappened();
    spec
      .given([issued(), wasSet('f1')])
      .when(rotate('f1'))
      .thenNothingHappened();
  });

  it('refuses to set over active credentials: that is a rotation', () => {
    spec
      .given([issued(), wasSet('f1')])
      .when(set('f2'))
      .thenFails('ALREADY_EXISTS');
  });

  it('rotates active credentials, naming the fingerprint it replaces', () => {
    spec
      .given([issued(), wasSet('f1')])
      .when(rotate('f2'))
      .then([
        {
          type: 'ProviderCredentialsRotated',
          data: { provider: 'stripe', environment: 'test', ...sealed('f2'), previousFingerprint: 'f1' },
        },
      ]);
  });

  it('refuses to rotate or revoke what was never set (NOT_FOUND), and to rotate what was revoked', () => {
    spec.given([]).when(rotate('f1')).thenFails('NOT_FOUND');
    spec.given([]).when(revoke).thenFails('NOT_FOUND');
    spec
      .given([issued(), wasSet('f1'), revoked('f1')])
      .when(rotate('f2'))
      .thenFails('NOT_FOUND');
  });

  it('revokes once; a second revocation is a repeat', () => {
    spec
      .given([issued(), wasSet('f1')])
      .when(revoke)
      .then([revoked('f1')]);
    spec
      .given([issued(), wasSet('f1'), revoked('f1')])
      .when(revoke)
      .thenNothingHappened();
  });

  it('after a shred: new credentials under a new key are set, or rotated in; the shredded key is refused', () => {
    const history = [issued(), wasSet('f1'), shredded()];
    spec
      .given(history)
      .when(set('f2', 'dk_2'))
      .then([issued('dk_2'), wasSet('f2', 'dk_2')]);
    spec
      .given(history)
      .when(rotate('f2', 'dk_2'))
      .then([
        issued('dk_2'),
        {
          type: 'ProviderCredentialsRotated',
          data: {
            provider: 'stripe',
            environment: 'test',
            ...sealed('f2', 'dk_2'),
            previousFingerprint: 'f1',
          },
        },
      ]);
    spec.given(history).when(set('f3')).thenFails('CREDENTIALS_SHREDDED');
  });

  it('records a shred once', () => {
    spec
      .given([issued(), wasSet('f1')])
      .when({ type: 'ShredDataKey', keyId: 'dk_1' })
      .then([shredded()]);
    spec.given([issued(), shredded()]).when({ type: 'ShredDataKey', keyId: 'dk_1' }).thenNothingHappened();
  });
});
