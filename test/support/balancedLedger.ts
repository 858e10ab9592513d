/** The double-entry check over a running app's book: what every payments suite ends with. */
import { expect } from 'vitest';
import type { TestApp } from './app.js';

/** Debits equal credits in every asset of the organization's book, pending included. */
export async function expectBalancedLedger(app: TestApp, orgId: string): Promise<void> {
  const ledger = await app.server.runtime.services.ledger.state(orgId);
  const totals = new Map<string, bigint>();
  for (const account of ledger.accounts.values()) {
    const { debitsPosted, creditsPosted, debitsPending, creditsPending } = account.balances;
    const net = debitsPosted - creditsPosted + debitsPending - creditsPending;
    totals.set(account.asset, (totals.get(account.asset) ?? 0n) + net);
  }
  expect(totals.size).toBeGreaterThan(0);
  for (const [asset, net] of totals) expect(net, asset).toBe(0n);
}
