/**
 * The ledger over HTTP for catalog-driven API tests: open an account, move money, post, void
 * or reverse — each checked to have done what it says, answering the position it wrote.
 */
import { expect } from 'vitest';
import type { TestApp, TestResponse } from './app.js';

export interface AccountSpec {
  readonly asset?: string;
  readonly type?: 'asset' | 'liability' | 'equity' | 'revenue' | 'expense';
  readonly flags?: { debitsMustNotExceedCredits?: boolean; creditsMustNotExceedDebits?: boolean };
  readonly creditLimit?: string;
  readonly metadata?: Record<string, string>;
}

export interface TransferSpec {
  readonly transferId: string;
  readonly debitAccount: string;
  readonly creditAccount: string;
  readonly amount: string;
  readonly code?: string;
  readonly metadata?: Record<string, string>;
  readonly reference?: string;
  readonly pending?: { timeoutSeconds: number };
}

/** A written answer: the position to read it with (null when nothing was written). */
export interface Written {
  readonly position: string | null;
  readonly body: Record<string, unknown>;
}

function describeResponse(response: TestResponse): string {
  return `${response.status} ${JSON.stringify(response.body)}`;
}

/** A colon path is a path segment of its own: the colons may stay, the rest is encoded. */
export function addressSegment(address: string): string {
  return encodeURIComponent(address);
}

async function expectStatus(response: Promise<TestResponse>, status: number, what: string): Promise<Written> {
  const answer = await response;
  expect(answer.status, `${what}: ${describeResponse(answer)}`).toBe(status);
  const body = answer.body as Record<string, unknown>;
  return { position: (body['position'] as string | null | undefined) ?? null, body };
}

export function openAccount(
  app: TestApp,
  token: string,
  address: string,
  spec: AccountSpec = {},
): Promise<Written> {
  return expectStatus(
    app.request('POST', '/v1/ledger/accounts', {
      token,
      body: { address, asset: spec.asset ?? 'KES', type: spec.type ?? 'asset', ...spec },
    }),
    201,
    `open ${address}`,
  );
}

/** Creates the transfers (not linked) and expects every one of them created. */
export async function createTransfers(
  app: TestApp,
  token: string,
  transfers: readonly TransferSpec[],
): Promise<Written> {
  const written = await expectStatus(
    app.request('POST', '/v1/ledger/transfers', { token, body: { transfers } }),
    200,
    `transfers ${transfers.map((t) => t.transferId).join(', ')}`,
  );
  expect(written.body['results'], JSON.stringify(written.body)).toEqual(
    transfers.map((t) => ({ transferId: t.transferId, result: 'created', message: null })),
  );
  return written;
}

export function postPending(
  app: TestApp,
  token: string,
  transferId: string,
  amount?: string,
): Promise<Written> {
  return expectStatus(
    app.request('POST', `/v1/ledger/transfers/${encodeURIComponent(transferId)}/post`, {
      token,
      body: amount === undefined ? {} : { amount },
    }),
    200,
    `post ${transferId}`,
  );
}

export function voidPending(app: TestApp, token: string, transferId: string): Promise<Written> {
  return expectStatus(
    app.request('POST', `/v1/ledger/transfers/${encodeURIComponent(transferId)}/void`, { token, body: {} }),
    200,
    `void ${transferId}`,
  );
}

export function reverseTransfer(
  app: TestApp,
  token: string,
  transferId: string,
  reversalId: string,
  amount?: string,
): Promise<Written> {
  return expectStatus(
    app.request('POST', `/v1/ledger/transfers/${encodeURIComponent(transferId)}/reverse`, {
      token,
      body: { reversalId, ...(amount === undefined ? {} : { amount }) },
    }),
    201,
    `reverse ${transferId}`,
  );
}

export function changeLimit(
  app: TestApp,
  token: string,
  address: string,
  creditLimit: string | null,
): Promise<Written> {
  return expectStatus(
    app.request('POST', `/v1/ledger/accounts/${addressSegment(address)}/limit`, {
      token,
      body: { creditLimit },
    }),
    200,
    `limit ${address}`,
  );
}

export function closeAccount(app: TestApp, token: string, address: string): Promise<Written> {
  return expectStatus(
    app.request('POST', `/v1/ledger/accounts/${addressSegment(address)}/close`, { token, body: {} }),
    200,
    `close ${address}`,
  );
}
