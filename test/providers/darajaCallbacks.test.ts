import { describe, expect, it } from 'vitest';
import { parseMpesaCallback } from '../../src/adapters/providers/daraja/callbacks.js';

/** PROVIDERS.md §1: the STK callback of a successful payment. */
const STK_SUCCESS = {
  Body: {
    stkCallback: {
      MerchantRequestID: '19465-780693-1',
      CheckoutRequestID: 'ws_CO_27072017154747416',
      ResultCode: 0,
      ResultDesc: 'The service request is processed successfully.',
      CallbackMetadata: {
        Item: [
          { Name: 'Amount', Value: 1 },
          { Name: 'MpesaReceiptNumber', Value: 'LGR7OWQX0R' },
          { Name: 'Balance' },
          { Name: 'TransactionDate', Value: 20170727154800 },
          { Name: 'PhoneNumber', Value: 254721566839 },
        ],
      },
    },
  },
};

/** PROVIDERS.md §1: an initiator result. */
const B2C_RESULT = {
  Result: {
    ResultType: 0,
    ResultCode: 0,
    ResultDesc: 'The service request has been accepted successfully.',
    OriginatorConversationID: '19455-424535-1',
    ConversationID: 'AG_20170717_00006be9c8b5cc46abb6',
    TransactionID: 'LGH3197RIB',
    ResultParameters: {
      ResultParameter: [
        { Key: 'TransactionAmount', Value: 8000 },
        { Key: 'TransactionReceipt', Value: 'LGH3197RIB' },
        { Key: 'B2CRecipientIsRegisteredCustomer', Value: 'Y' },
        { Key: 'B2CChargesPaidAccountAvailableFunds', Value: -4510.0 },
        { Key: 'ReceiverPartyPublicName', Value: '254708374149 - John Doe' },
        { Key: 'TransactionCompletedDateTime', Value: '17.07.2017 10:54:57' },
        { Key: 'B2CUtilityAccountAvailableFunds', Value: 10116.0 },
        { Key: 'B2CWorkingAccountAvailableFunds', Value: '900000.00' },
      ],
    },
    ReferenceData: {
      ReferenceItem: {
        Key: 'QueueTimeoutURL',
        Value: 'https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit',
      },
    },
  },
};

function ok(body: unknown, expected?: Parameters<typeof parseMpesaCallback>[1]) {
  const parsed = parseMpesaCallback(body, expected);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.callback;
}

function refused(body: unknown): string {
  const parsed = parseMpesaCallback(body);
  if (parsed.ok) throw new Error('expected a refusal');
  return parsed.reason;
}

describe('M-Pesa callback parser', () => {
  it('reads the documented STK success: amount in cents, receipt, normalized phone, date', () => {
    expect(ok(STK_SUCCESS)).toEqual({
      kind: 'stk',
      merchantRequestId: '19465-780693-1',
      checkoutRequestId: 'ws_CO_27072017154747416',
      outcome: {
        status: 'succeeded',
        resultCode: '0',
        description: 'The service request is processed successfully.',
      },
      payment: {
        amountMinor: 100n,
        receiptNumber: 'LGR7OWQX0R',
        phone: '254721566839',
        transactionDate: '20170727154800',
      },
    });
  });

  it('reads the same callback with strings where Daraja sends numbers, and one item as an object', () => {
    const stringly = {
      Body: {
        stkCallback: {
          ...STK_SUCCESS.Body.stkCallback,
          ResultCode: '0',
          CallbackMetadata: {
            Item: [
              { Name: 'Amount', Value: '1.00' },
              { Name: 'MpesaReceiptNumber', Value: 'LGR7OWQX0R' },
              { Name: 'PhoneNumber', Value: '0721566839' },
            ],
          },
        },
      },
    };
    expect(ok(stringly)).toMatchObject({ payment: { amountMinor: 100n, phone: '254721566839' } });
  });

  it('reads a failed STK push without CallbackMetadata', () => {
    const cancelled = {
      Body: {
        stkCallback: {
          MerchantRequestID: '29115-34620561-1',
          CheckoutRequestID: 'ws_CO_191220191020363925',
          ResultCode: 1032,
          ResultDesc: 'Request cancelled by user',
        },
      },
    };
    const callback = ok(cancelled);
    expect(callback).toEqual({
      kind: 'stk',
      merchantRequestId: '29115-34620561-1',
      checkoutRequestId: 'ws_CO_191220191020363925',
      outcome: {
        status: 'failed',
        reason: 'cancelled_by_user',
        resultCode: '1032',
        description: 'Request cancelled by user',
      },
    });
  });

  it('reads the documented B2C result, with ReferenceItem as an object', () => {
    const callback = ok(B2C_RESULT);
    expect(callback).toMatchObject({
      kind: 'result',
      type: 'b2c',
      originatorConversationId: '19455-424535-1',
      conversationId: 'AG_20170717_00006be9c8b5cc46abb6',
      transactionId: 'LGH3197RIB',
      outcome: { status: 'succeeded' },
      payout: {
        amountMinor: 800_000n,
        receipt: 'LGH3197RIB',
        receiverName: '254708374149 - John Doe',
        recipientIsRegistered: true,
        workingAccountAvailableMinor: 90_000_000n,
        utilityAccountAvailableMinor: 1_011_600n,
        completedAt: '17.07.2017 10:54:57',
      },
    });
    expect(callback.kind === 'result' && callback.parameters.B2CChargesPaidAccountAvailableFunds).toBe(
      '-4510',
    );
  });

  it('reads ReferenceItem as a list, a single ResultParameter as an object, and a key without a value', () => {
    const body = {
      Result: {
        ...B2C_RESULT.Result,
        ResultCode: '0',
        ResultParameters: { ResultParameter: { Key: 'TransactionAmount', Value: '8000' } },
        ReferenceData: {
          ReferenceItem: [{ Key: 'QueueTimeoutURL', Value: 'https://x' }, { Key: 'Occasion' }],
        },
      },
    };
    expect(ok(body, 'b2c')).toMatchObject({ type: 'b2c', payout: { amountMinor: 800_000n } });
  });

  it('reads a failed initiator result without ResultParameters', () => {
    const body = {
      Result: {
        ResultType: 0,
        ResultCode: 2001,
        ResultDesc: 'The initiator information is invalid.',
        OriginatorConversationID: '29112-34801843-1',
        ConversationID: 'AG_20191219_00006c6fddb15123addf',
        TransactionID: 'NLJ0000000',
        ReferenceData: { ReferenceItem: { Key: 'QueueTimeoutURL', Value: 'https://x' } },
      },
    };
    expect(ok(body)).toMatchObject({
      kind: 'result',
      type: 'unknown',
      outcome: { status: 'failed', reason: 'wrong_pin', resultCode: '2001' },
      parameters: {},
    });
  });

  it('reads a transaction status result, keys with spaces included', () => {
    const body = {
      Result: {
        ResultType: 0,
        ResultCode: 0,
        ResultDesc: 'The service request has been accepted successfully.',
        OriginatorConversationID: '10816-694520-2',
        ConversationID: 'AG_20200927_00007d4c98884c889b25',
        TransactionID: 'LIR0000000',
        ResultParameters: {
          ResultParameter: [
            { Key: 'DebitPartyName', Value: '600310 - Safaricom333' },
            { Key: 'CreditPartyName', Value: '254708374149 - John Doe' },
            { Key: 'Originator Conversation ID', Value: 'payout-1' },
            { Key: 'InitiatedTime', Value: 20200927220948 },
            { Key: 'DebitAccountType', Value: 'Utility Account' },
            { Key: 'DebitPartyCharges', Value: '' },
            { Key: 'TransactionReason' },
            { Key: 'ReasonType', Value: 'Business Payment to Customer via API' },
            { Key: 'TransactionStatus', Value: 'Completed' },
            { Key: 'FinalisedTime', Value: 20200927220948 },
            { Key: 'Amount', Value: 10.0 },
            { Key: 'ConversationID', Value: 'AG_20200927_00007d4c98884c889b25' },
            { Key: 'ReceiptNo', Value: 'OIR0000000' },
          ],
        },
      },
    };
    expect(ok(body)).toMatchObject({
      type: 'transaction_status',
      status: {
        receiptNumber: 'OIR0000000',
        transactionStatus: 'Completed',
        amountMinor: 1000n,
        originatorConversationId: 'payout-1',
        finalisedTime: '20200927220948',
        debitPartyName: '600310 - Safaricom333',
        creditPartyName: '254708374149 - John Doe',
      },
    });
  });

  it('reads an account balance result into accounts with exact cents', () => {
    const body = {
      Result: {
        ResultType: 0,
        ResultCode: 0,
        ResultDesc: 'The service request has been accepted successfully.',
        OriginatorConversationID: '16917-22577599-3',
        ConversationID: 'AG_20200206_00005e091a8ec6b9eac5',
        TransactionID: 'OA90000000',
        ResultParameters: {
          ResultParameter: [
            {
              Key: 'AccountBalance',
              Value:
                'Working Account|KES|46713.00|46713.00|0.00|0.00&Float Account|KES|0.00|0.00|0.00|0.00&Utility Account|KES|1000.55|1000.55|0.00|0.00',
            },
            { Key: 'BOCompletedTime', Value: 20200109125710 },
          ],
        },
      },
    };
    const callback = ok(body);
    expect(callback).toMatchObject({ type: 'account_balance', balance: { completedAt: '20200109125710' } });
    expect(callback.kind === 'result' && callback.balance?.accounts).toEqual([
      {
        name: 'Working Account',
        currency: 'KES',
        availableMinor: 4_671_300n,
        columnsMinor: [4_671_300n, 4_671_300n, 0n, 0n],
      },
      { name: 'Float Account', currency: 'KES', availableMinor: 0n, columnsMinor: [0n, 0n, 0n, 0n] },
      {
        name: 'Utility Account',
        currency: 'KES',
        availableMinor: 100_055n,
        columnsMinor: [100_055n, 100_055n, 0n, 0n],
      },
    ]);
  });

  it('reads a reversal result when told what it is', () => {
    const body = {
      Result: {
        ResultType: 0,
        ResultCode: 0,
        ResultDesc: 'The service request has been accepted successfully.',
        OriginatorConversationID: '10819-695089-1',
        ConversationID: 'AG_20170727_00004efadacd98a01d15',
        TransactionID: 'LGR019G3J2',
        ReferenceData: { ReferenceItem: { Key: 'QueueTimeoutURL', Value: 'https://x' } },
      },
    };
    expect(ok(body, 'reversal')).toMatchObject({
      type: 'reversal',
      transactionId: 'LGR019G3J2',
      outcome: { status: 'succeeded' },
    });
  });

  it.each([
    ['not an object', 'nope', 'not a JSON object'],
    ['neither shape', { Foo: 1 }, 'neither Body.stkCallback nor Result'],
    ['no checkout id', { Body: { stkCallback: { ResultCode: 0 } } }, 'CheckoutRequestID is missing'],
    [
      'a non-numeric code',
      { Body: { stkCallback: { CheckoutRequestID: 'ws', ResultCode: 'zero' } } },
      'ResultCode',
    ],
    [
      'a success without metadata',
      { Body: { stkCallback: { CheckoutRequestID: 'ws', ResultCode: 0 } } },
      'CallbackMetadata is missing',
    ],
    [
      'a success without a receipt',
      {
        Body: {
          stkCallback: {
            CheckoutRequestID: 'ws',
            ResultCode: 0,
            CallbackMetadata: { Item: [{ Name: 'Amount', Value: 5 }] },
          },
        },
      },
      'MpesaReceiptNumber',
    ],
    [
      'a fractional-cent amount',
      {
        Body: {
          stkCallback: {
            CheckoutRequestID: 'ws',
            ResultCode: 0,
            CallbackMetadata: {
              Item: [
                { Name: 'Amount', Value: 1.005 },
                { Name: 'MpesaReceiptNumber', Value: 'R' },
              ],
            },
          },
        },
      },
      'Amount',
    ],
    ['a result without ids', { Result: { ResultCode: 0 } }, 'OriginatorConversationID is missing'],
    [
      'a balance that is not one',
      {
        Result: {
          ResultCode: 0,
          OriginatorConversationID: 'o',
          ConversationID: 'c',
          ResultParameters: { ResultParameter: { Key: 'AccountBalance', Value: 'garbage' } },
        },
      },
      'AccountBalance account 1',
    ],
  ])('refuses %s with a reason', (_what, body, reason) => {
    expect(refused(body)).toContain(reason);
  });
});
