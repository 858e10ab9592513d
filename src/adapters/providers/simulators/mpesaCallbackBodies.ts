/**
 * The JSON the M-Pesa simulator posts, shaped exactly like Daraja's callbacks (PROVIDERS.md §1)
 * so one parser (`parseMpesaCallback`) serves the simulator and the real provider alike.
 */

export interface StkCallbackFields {
  readonly merchantRequestId: string;
  readonly checkoutRequestId: string;
  readonly resultCode: number;
  readonly resultDesc: string;
  /** On success only. */
  readonly paid?: {
    readonly shillings: number;
    readonly receipt: string;
    /** `YYYYMMDDHHmmss` as a number, as Daraja sends it. */
    readonly transactionDate: number;
    readonly phone: string;
  };
}

export function stkCallbackBody(fields: StkCallbackFields): unknown {
  return {
    Body: {
      stkCallback: {
        MerchantRequestID: fields.merchantRequestId,
        CheckoutRequestID: fields.checkoutRequestId,
        ResultCode: fields.resultCode,
        ResultDesc: fields.resultDesc,
        ...(fields.paid
          ? {
              CallbackMetadata: {
                Item: [
                  { Name: 'Amount', Value: fields.paid.shillings },
                  { Name: 'MpesaReceiptNumber', Value: fields.paid.receipt },
                  { Name: 'Balance' },
                  { Name: 'TransactionDate', Value: fields.paid.transactionDate },
                  { Name: 'PhoneNumber', Value: Number(fields.paid.phone) },
                ],
              },
            }
          : {}),
      },
    },
  };
}

export interface ResultFields {
  readonly resultCode: number;
  readonly resultDesc: string;
  readonly originatorConversationId: string;
  readonly conversationId: string;
  readonly transactionId: string;
  /** Present on success; Daraja leaves `ResultParameters` out on failure. */
  readonly parameters?: readonly { readonly Key: string; readonly Value?: string | number }[];
  readonly queueTimeoutUrl: string;
}

export function resultBody(fields: ResultFields): unknown {
  return {
    Result: {
      ResultType: 0,
      ResultCode: fields.resultCode,
      ResultDesc: fields.resultDesc,
      OriginatorConversationID: fields.originatorConversationId,
      ConversationID: fields.conversationId,
      TransactionID: fields.transactionId,
      ...(fields.parameters ? { ResultParameters: { ResultParameter: fields.parameters } } : {}),
      ReferenceData: { ReferenceItem: { Key: 'QueueTimeoutURL', Value: fields.queueTimeoutUrl } },
    },
  };
}
