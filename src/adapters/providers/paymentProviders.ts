/**
 * The composition helper for the payment providers: the simulators (the embedded default,
 * SPEC §9) or the real HTTP adapters (production, each organization's own credentials per
 * call). The composition root picks the mode; commands only see the ports.
 */
import type { CardProcessor } from '../../domain/payments/cardProcessor.js';
import type { MobileMoney } from '../../domain/payments/mobileMoney.js';
import { DarajaMobileMoney, type DarajaOptions } from './daraja/darajaMobileMoney.js';
import { CardSimulator } from './simulators/cardSimulator.js';
import { MpesaSimulator, type MpesaSimulatorOptions } from './simulators/mpesaSimulator.js';
import { StripeCardProcessor, type StripeOptions } from './stripe/stripeCardProcessor.js';

export type ProviderMode = 'simulator' | 'live';

export interface PaymentProviders {
  readonly mode: ProviderMode;
  readonly mobileMoney: MobileMoney;
  readonly cards: CardProcessor;
  /** Cancels the simulator's scheduled callbacks and waits for those in flight. */
  close(): Promise<void>;
}

export interface PaymentProvidersOptions {
  readonly mode: ProviderMode;
  readonly mpesaSimulator?: MpesaSimulatorOptions;
  readonly daraja?: DarajaOptions;
  readonly stripe?: StripeOptions;
}

export function createPaymentProviders(options: PaymentProvidersOptions): PaymentProviders {
  if (options.mode === 'live') {
    return {
      mode: 'live',
      mobileMoney: new DarajaMobileMoney(options.daraja),
      cards: new StripeCardProcessor(options.stripe),
      close: () => Promise.resolve(),
    };
  }
  const mpesa = new MpesaSimulator(options.mpesaSimulator);
  return {
    mode: 'simulator',
    mobileMoney: mpesa,
    cards: new CardSimulator(),
    close: () => mpesa.close(),
  };
}
