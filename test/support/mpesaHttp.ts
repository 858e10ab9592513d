/**
 * M-Pesa over HTTP for the follow-up suites (resolver, provider timeouts, reconciliation):
 * a push, a payout, a payment's status and events, the float as the ledger's writer sees it.
 * Waits are bounded polls for a state, never clocks.
 */
import { expect } from 'vitest';
import type { TestApp, TestResponse } from './app.js';
import { sampleCredentials } from './providerCredentials.js';

export const FLOAT = 'assets:mpesa:float';
/** Polls at most this many times, POLL_MS apart. */
export const POLL_ATTEMPTS = 400;
export const POLL_MS = 25;

export interface MpesaPayment {
  paymentId: string;
  status: string;
  receipt: string | null;
  providerRef: string | null;
}

export function describeResponse(response: TestResponse): string {
  return `${response.status} ${JSON.stringify(response.body)}`;
}

export async function pause(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, POLL_MS));
}

export async function setMpesaCredentials(app: TestApp, token: string): Promise<void> {
  const response = await app.request('PUT', '/v1/provider-credentials', {
    token,
    body: { provider: 'mpesa', credentials: sampleCredentials('mpesa') },
  });
  expect(response.status, describeResponse(response)).toBe(200);
}

/** The payment from its own stream; `refresh: false` never asks M-Pesa. */
export async function paymentStatus(app: TestApp, token: string, paymentId: string): Promise<MpesaPayment> {
  const response = await app.request('POST', `/v1/mpesa/payments/${paymentId}/status`, {
    token,
    body: { refresh: false },
  });
  expect(response.status, describeResponse(response)).toBe(200);
  return response.body as MpesaPayment;
}

export async function untilPayment(
  app: TestApp,
  token: string,
  paymentId: string,
  done: (payment: MpesaPayment) => boolean,
): Promise<MpesaPayment> {
  let last = await paymentStatus(app, token, paymentId);
  for (let attempt = 0; attempt < POLL_ATTEMPTS && !done(last); attempt += 1) {
    await pause();
    last = await paymentStatus(app, token, paymentId);
  }
  expect(done(last), `payment ${paymentId} reached the expected state: ${JSON.stringify(last)}`).toBe(true);
  return last;
}

/**
 * Until a collection has succeeded with M-Pesa's own receipt, as a reversal needs: a resolver
 * with no grace may settle it by status query first, which names none, and the callback's
 * receipt follows.
 */
export function untilReceipted(app: TestApp, token: string, paymentId: string): Promise<MpesaPayment> {
  return untilPayment(
    app,
    token,
    paymentId,
    (payment) => payment.status === 'succeeded' && payment.receipt !== payment.providerRef,
  );
}

/** Polls `read` until `done` holds (bounded); answers the last value read. */
export async function until<Value>(
  read: () => Promise<Value>,
  done: (value: Value) => boolean,
): Promise<Value> {
  let last = await read();
  for (let attempt = 0; attempt < POLL_ATTEMPTS && !done(last); attempt += 1) {
    await pause();
    last = await read();
  }
  expect(done(last), `reached the expected state: ${JSON.stringify(last, bigintText)}`).toBe(true);
  return last;
}

function bigintText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export async function stkPush(
  app: TestApp,
  token: string,
  phone: string,
  amount: string,
): Promise<{ paymentId: string; status: string }> {
  const response = await app.request('POST', '/v1/mpesa/stk-push', {
    token,
    body: { phone, amount, accountReference: 'INV-1', description: 'Invoice' },
  });
  expect(response.status, describeResponse(response)).toBe(201);
  return response.body as { paymentId: string; status: string };
}

/** A batch of one payout; its payment id and status right after the request. */
export async function payOut(
  app: TestApp,
  token: string,
  batchId: string,
  phone: string,
  amount: string,
): Promise<{ paymentId: string; status: string }> {
  const response = await app.request('POST', '/v1/mpesa/bulk-payments', {
    token,
    body: { batchId, remarks: 'Payout', payouts: [{ phone, amount, reference: batchId }] },
  });
  expect(response.status, describeResponse(response)).toBe(201);
  const payout = (response.body as { payouts: { paymentId: string; status: string }[] }).payouts[0];
  expect(payout).toBeDefined();
  return payout as { paymentId: string; status: string };
}

/** The float's posted balance (debits − credits) in KES cents, as the ledger's writer sees it. */
export async function bookFloat(app: TestApp, orgId: string): Promise<bigint> {
  const state = await app.server.runtime.services.ledger.state(orgId);
  const account = state.accounts.get(FLOAT);
  return account ? account.balances.debitsPosted - account.balances.creditsPosted : 0n;
}

/** The float's pending debits and credits (reservations) in KES cents. */
export async function floatReserved(app: TestApp, orgId: string): Promise<bigint> {
  const state = await app.server.runtime.services.ledger.state(orgId);
  const account = state.accounts.get(FLOAT);
  return account ? account.balances.creditsPending : 0n;
}

export async function paymentEvents(
  app: TestApp,
  orgId: string,
  paymentId: string,
): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const events = await app.server.runtime.store.readStream(`${orgId}.payment-${paymentId}`, {
    maxCount: 1_000,
  });
  return events.map((event) => ({ type: event.type, data: event.data as Record<string, unknown> }));
}

/** The ledger transfers whose id starts with the payment's, with their status. */
export async function transfersOf(
  app: TestApp,
  orgId: string,
  paymentId: string,
): Promise<{ transferId: string; status: string }[]> {
  const state = await app.server.runtime.services.ledger.state(orgId);
  return [...state.transfers.entries()]
    .filter(([transferId]) => transferId.startsWith(paymentId))
    .map(([transferId, transfer]) => ({ transferId, status: transfer.status }));
}
