/**
 * An organization's payment settings: its fraud policy (SPEC §5.5) and which ledger accounts
 * each kind of payment posts to (SPEC §1 "ledger account mapping per provider"). One small
 * stream per organization; until it is written, the defaults below apply.
 */
import { accept, refuse, type Decision } from '../decider.js';
import { DEFAULT_FRAUD_POLICY, type FraudPolicy } from '../fraud/policy.js';

/** `{currency}` in an address is replaced by the payment's currency (an account holds one asset). */
export interface LedgerMapping {
  /** M-Pesa: the organization's float at Safaricom (cannot go below zero). */
  readonly mpesaFloat: string;
  /** M-Pesa: where collections are credited. */
  readonly mpesaCollections: string;
  /** M-Pesa: where payouts are debited. */
  readonly mpesaPayouts: string;
  /** Cards: money the processor owes the organization. */
  readonly cardSettlement: string;
  /** Cards: where card payments are credited. */
  readonly cardSales: string;
}

export const DEFAULT_LEDGER_MAPPING: LedgerMapping = {
  mpesaFloat: 'assets:mpesa:float',
  mpesaCollections: 'revenue:mpesa:collections',
  mpesaPayouts: 'expenses:mpesa:payouts',
  cardSettlement: 'assets:cards:settlement:{currency}',
  cardSales: 'revenue:cards:sales:{currency}',
};

export function mappedAddress(address: string, currency: string): string {
  return address.replaceAll('{currency}', currency.toLowerCase());
}

export interface PaymentSettings {
  readonly fraudPolicy: FraudPolicy;
  readonly ledgerMapping: LedgerMapping;
}

export type PaymentSettingsEvent = {
  readonly type: 'PaymentSettingsChanged';
  readonly data: { fraudPolicy: FraudPolicy; ledgerMapping: LedgerMapping };
};

export const initialPaymentSettings: PaymentSettings = {
  fraudPolicy: DEFAULT_FRAUD_POLICY,
  ledgerMapping: DEFAULT_LEDGER_MAPPING,
};

export function evolvePaymentSettings(_state: PaymentSettings, event: PaymentSettingsEvent): PaymentSettings {
  return { fraudPolicy: event.data.fraudPolicy, ledgerMapping: event.data.ledgerMapping };
}

export function decidePaymentSettings(
  changes: { readonly fraudPolicy?: Partial<FraudPolicy>; readonly ledgerMapping?: Partial<LedgerMapping> },
  state: PaymentSettings,
): Decision<PaymentSettingsEvent, PaymentSettings> {
  const next: PaymentSettings = {
    fraudPolicy: { ...state.fraudPolicy, ...changes.fraudPolicy },
    ledgerMapping: { ...state.ledgerMapping, ...changes.ledgerMapping },
  };
  if (next.fraudPolicy.blockScore <= next.fraudPolicy.reviewScore) {
    return refuse('VALIDATION_FAILED', 'fraudPolicy.blockScore: must be greater than reviewScore', {
      field: 'fraudPolicy.blockScore',
    });
  }
  // Saving the settings as they are writes nothing.
  if (JSON.stringify(next) === JSON.stringify(state)) return accept([], state);
  return accept([{ type: 'PaymentSettingsChanged', data: { ...next } }], next);
}

export const paymentSettingsDecider = { initialState: initialPaymentSettings, evolve: evolvePaymentSettings };
