import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DarajaMobileMoney } from '../../src/adapters/providers/daraja/darajaMobileMoney.js';
import { securityCredentialFor } from '../../src/adapters/providers/daraja/securityCredential.js';
import type { MpesaCredentials } from '../../src/domain/payments/credentials.js';
import { isMpesaAmount, mpesaAmountFromShillings } from '../../src/domain/payments/mpesaAmount.js';
import { normalizeKenyanPhone, type Msisdn } from '../../src/domain/payments/phone.js';
import { credentials as base, PATHS, startFakeDaraja, type FakeDaraja } from './support/fakeDaraja.js';
import { TEST_CERTIFICATE } from './support/testCertificate.js';

const PASSWORD = 'Safaricom999!*!';
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const withPassword: MpesaCredentials = {
  ...base,
  securityCredential: undefined,
  initiatorPassword: PASSWORD,
};

/** PKCS#1 v1.5 unpadding by hand: Node refuses that padding for private decryption now. */
function decrypt(base64: string): string {
  const block = privateDecrypt(
    { key: privateKey, padding: constants.RSA_NO_PADDING },
    Buffer.from(base64, 'base64'),
  );
  expect(block[0]).toBe(0);
  expect(block[1]).toBe(2);
  const separator = block.indexOf(0, 2);
  expect(separator).toBeGreaterThanOrEqual(10);
  return block.subarray(separator + 1).toString('utf8');
}

describe('security credential', () => {
  it('uses a stored security credential as it is', () => {
    expect(securityCredentialFor(base, {})).toEqual({ ok: true, value: base.securityCredential });
  });

  it('encrypts the initiator password with the environment’s key (RSA, PKCS#1 v1.5, base64)', () => {
    const answer = securityCredentialFor(withPassword, { sandbox: PUBLIC_PEM });
    if (!answer.ok) throw new Error(answer.reason);
    expect(decrypt(answer.value)).toBe(PASSWORD);
  });

  it('reads an X.509 certificate as Safaricom ships it', () => {
    const answer = securityCredentialFor(withPassword, { sandbox: TEST_CERTIFICATE });
    if (!answer.ok) throw new Error(answer.reason);
    expect(Buffer.from(answer.value, 'base64')).toHaveLength(256);
  });

  it('says what is missing, without the password', () => {
    for (const answer of [
      securityCredentialFor(withPassword, {}),
      securityCredentialFor(withPassword, { production: PUBLIC_PEM }),
      securityCredentialFor(withPassword, { sandbox: 'not a certificate' }),
      securityCredentialFor({ ...withPassword, initiatorPassword: undefined }, {}),
    ]) {
      expect(answer.ok).toBe(false);
      expect(JSON.stringify(answer)).not.toContain(PASSWORD);
    }
  });

  describe('in the Daraja adapter', () => {
    let daraja: FakeDaraja;
    beforeEach(async () => {
      daraja = await startFakeDaraja();
    });
    afterEach(async () => {
      await daraja.server.close();
    });

    const amount = mpesaAmountFromShillings(10n);
    if (!isMpesaAmount(amount)) throw new Error('bad amount');
    const payout = (adapter: DarajaMobileMoney) =>
      adapter.b2cPayout(withPassword, {
        originatorConversationId: 'payout-sc',
        phone: normalizeKenyanPhone('0712345678') as Msisdn,
        amount,
        remarks: 'x',
        resultUrl: 'https://ledgerline.test/cb',
      });

    it('sends the encrypted password as SecurityCredential', async () => {
      const adapter = new DarajaMobileMoney({
        baseUrls: daraja.baseUrls,
        securityCertificates: { sandbox: PUBLIC_PEM },
      });
      expect((await payout(adapter)).ok).toBe(true);
      const sent = daraja.calls(PATHS.b2c)[0]!.json.SecurityCredential as string;
      expect(decrypt(sent)).toBe(PASSWORD);
    });

    it('refuses before any call when it cannot make one', async () => {
      const adapter = new DarajaMobileMoney({ baseUrls: daraja.baseUrls });
      expect(await payout(adapter)).toMatchObject({
        ok: false,
        failure: { kind: 'rejected', field: 'securityCredential' },
      });
      expect(daraja.server.requests).toHaveLength(0);
    });
  });
});
