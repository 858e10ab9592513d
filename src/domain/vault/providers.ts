/** The payment and trading providers whose credentials an organization keeps in the vault. */
export const PROVIDERS = ['mpesa', 'stripe', 'plaid', 'alpaca'] as const;
export type Provider = (typeof PROVIDERS)[number];

export function isProvider(value: string): value is Provider {
  return (PROVIDERS as readonly string[]).includes(value);
}
