/**
 * The ledger's events: one stream per organization (`{orgId}.ledger-main`), so the single
 * writer sees every balance and limits hold without distributed locks. Amounts are decimal
 * strings with exactly the asset's scale.
 */
export const ACCOUNT_TYPES = ['asset', 'liability', 'equity', 'revenue', 'expense'] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];

export const TRANSFER_CODES = [
  'payment',
  'payout',
  'fee',
  'refund',
  'reversal',
  'trade',
  'adjustment',
] as const;
export type TransferCode = (typeof TRANSFER_CODES)[number];

export interface AccountFlags {
  readonly debitsMustNotExceedCredits: boolean;
  readonly creditsMustNotExceedDebits: boolean;
}

export type Metadata = Readonly<Record<string, string>>;

export interface TransferRecord {
  readonly transferId: string;
  readonly debitAccount: string;
  readonly creditAccount: string;
  readonly asset: string;
  readonly amount: string;
  readonly code: TransferCode;
  readonly metadata: Metadata;
  readonly reference: string | null;
  /** Two-phase: the funds are reserved until posted, voided or expired at `timeoutAt`. */
  readonly pending: boolean;
  readonly timeoutAt: string | null;
  /** For a reversal or refund: the transfer it gives back. */
  readonly reversalOf: string | null;
  /** A fingerprint of the request, so the same id with another body is ID_REUSED. */
  readonly requestHash: string;
}

export type LedgerEvent =
  | {
      readonly type: 'AccountOpened';
      readonly data: {
        address: string;
        asset: string;
        scale: number;
        accountType: AccountType;
        flags: AccountFlags;
        creditLimit: string | null;
        metadata: Metadata;
      };
    }
  | { readonly type: 'AccountClosed'; readonly data: { address: string } }
  | { readonly type: 'AccountLimitChanged'; readonly data: { address: string; creditLimit: string | null } }
  | { readonly type: 'TransferCreated'; readonly data: TransferRecord }
  /**
   * Several transfers made by one command, committed together: one event for the batch
   * rather than one per transfer, so a 1,000-transfer batch is one row, one hash and one
   * envelope in the store instead of a thousand (issue 5). In the order they were decided.
   */
  | { readonly type: 'TransfersCreated'; readonly data: { transfers: readonly TransferRecord[] } }
  | { readonly type: 'PendingTransferPosted'; readonly data: { transferId: string; amount: string } }
  | { readonly type: 'PendingTransferVoided'; readonly data: { transferId: string } }
  | { readonly type: 'PendingTransferExpired'; readonly data: { transferId: string } };

export const LEDGER_EVENT_TYPES: readonly LedgerEvent['type'][] = [
  'AccountOpened',
  'AccountClosed',
  'AccountLimitChanged',
  'TransferCreated',
  'TransfersCreated',
  'PendingTransferPosted',
  'PendingTransferVoided',
  'PendingTransferExpired',
];
