import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseMpesaCallback } from '../../src/adapters/providers/daraja/callbacks.js';
import { resultBody, stkCallbackBody } from '../../src/adapters/providers/simulators/mpesaCallbackBodies.js';

const RUNS = 1_000;

/** Daraja sends numbers where it may as well send strings, and lists of one as an object. */
function loosen(value: unknown, seed: number): unknown {
  if (typeof value === 'number' && seed % 2 === 0) return String(value);
  if (Array.isArray(value)) {
    const items = value.map((item, index) => loosen(item, seed + index));
    return items.length === 1 && seed % 3 === 0 ? items[0] : items;
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item], index) => [key, loosen(item, seed + index + 1)]),
    );
  }
  return value;
}

const receipt = fc.stringMatching(/^[A-Z0-9]{10}$/);
const msisdn = fc.stringMatching(/^254[17]\d{8}$/);
const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);
const code = fc.constantFrom(0, 1, 1032, 1037, 2001, 1019);

describe('M-Pesa callback parser, properties', () => {
  it('reads any STK callback the same whether fields come as numbers or strings, lists or objects', () => {
    fc.assert(
      fc.property(
        id,
        id,
        code,
        fc.integer({ min: 1, max: 250_000 }),
        receipt,
        msisdn,
        fc.nat(),
        (merchant, checkout, resultCode, shillings, receiptNumber, phone, seed) => {
          const body = stkCallbackBody({
            merchantRequestId: merchant,
            checkoutRequestId: checkout,
            resultCode,
            resultDesc: 'text',
            ...(resultCode === 0
              ? { paid: { shillings, receipt: receiptNumber, transactionDate: 20240330120711, phone } }
              : {}),
          });
          const strict = parseMpesaCallback(body);
          const loose = parseMpesaCallback(loosen(body, seed));
          expect(loose).toEqual(strict);
          if (!strict.ok || strict.callback.kind !== 'stk') throw new Error('expected an STK result');
          expect(strict.callback.outcome.resultCode).toBe(String(resultCode));
          if (resultCode === 0) {
            expect(strict.callback.payment).toEqual({
              amountMinor: BigInt(shillings) * 100n,
              receiptNumber,
              phone,
              transactionDate: '20240330120711',
            });
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('reads any B2C result the same under the same loosening', () => {
    fc.assert(
      fc.property(
        id,
        id,
        receipt,
        fc.integer({ min: 1, max: 250_000 }),
        fc.nat(),
        (originator, conversation, transaction, shillings, seed) => {
          const body = resultBody({
            resultCode: 0,
            resultDesc: 'ok',
            originatorConversationId: originator,
            conversationId: conversation,
            transactionId: transaction,
            queueTimeoutUrl: 'https://x',
            parameters: [
              { Key: 'TransactionAmount', Value: shillings },
              { Key: 'TransactionReceipt', Value: transaction },
            ],
          });
          const strict = parseMpesaCallback(body);
          expect(parseMpesaCallback(loosen(body, seed))).toEqual(strict);
          expect(strict).toMatchObject({
            ok: true,
            callback: { type: 'b2c', payout: { amountMinor: BigInt(shillings) * 100n } },
          });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('never throws on any JSON: a result or a reason', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (json) => {
        for (const body of [json, { Body: { stkCallback: json } }, { Result: json }]) {
          const parsed = parseMpesaCallback(body);
          if (!parsed.ok) expect(parsed.reason.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
