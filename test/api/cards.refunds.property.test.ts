/**
 * Refunds as a property, over HTTP on the card simulator: whatever sequence of partial and
 * full refunds is asked for, each one succeeds exactly when it fits in what remains, what was
 * refunded never exceeds the capture, and the ledger's settlement account moves by exactly the
 * capture less what was refunded.
 */
import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestResponse } from '../support/app.js';

/** Sequences tried; each is a fresh payment of CAPTURED with up to REFUNDS_MAX refunds. */
const RUNS = 25;
const REFUNDS_MAX = 8;
const CAPTURED = new Decimal('100.00');
const SETTLEMENT = 'assets:cards:settlement:usd';

function describeResponse(response: TestResponse): string {
  return `${response.status} ${JSON.stringify(response.body)}`;
}

describe('card refunds on pglite', () => {
  let app: TestApp;
  let position = '0-0';

  async function call(method: string, path: string, body?: unknown): Promise<TestResponse> {
    const answer = await app.request(method, path, {
      token: app.demoKey,
      ...(body === undefined ? {} : { body }),
    });
    if (typeof answer.body?.position === 'string') position = answer.body.position;
    return answer;
  }

  async function read(path: string): Promise<TestResponse> {
    const answer = await app.request(
      'GET',
      `${path}${path.includes('?') ? '&' : '?'}consistentWith=${position}`,
      { token: app.demoKey },
    );
    return answer;
  }

  async function settlement(): Promise<Decimal> {
    const answer = await read(`/v1/ledger/accounts/${encodeURIComponent(SETTLEMENT)}/balance`);
    if (answer.status === 404) return new Decimal(0);
    expect(answer.status, describeResponse(answer)).toBe(200);
    return new Decimal(answer.body.balances.posted as string);
  }

  beforeAll(async () => {
    app = await startTestApp('pglite');
    const credentials = await call('PUT', '/v1/provider-credentials', {
      provider: 'stripe',
      credentials: { secretKey: 'sk_test_refundProperty1', webhookSigningSecret: 'whsec_refundProperty1' },
    });
    expect(credentials.status, describeResponse(credentials)).toBe(200);
    // Scores stay below review whatever the hour, so every payment is captured.
    const policy = await call('PATCH', '/v1/payments/settings', {
      fraudPolicy: { unusualHoursStart: 0, unusualHoursEnd: 0 },
    });
    expect(policy.status, describeResponse(policy)).toBe(200);
  });
  afterAll(async () => {
    await app.close();
  });

  it(`refunds exactly what fits, never more than captured (${RUNS} sequences)`, async () => {
    // Cents, or null for "whatever remains".
    const refund = fc.option(fc.integer({ min: 1, max: 4_000 }), { freq: 5 });
    await fc.assert(
      fc.asyncProperty(fc.array(refund, { minLength: 1, maxLength: REFUNDS_MAX }), async (asks) => {
        const before = await settlement();
        const customer = await call('POST', '/v1/customers', { name: 'Refund property' });
        const customerId = customer.body.customerId as string;
        await call('POST', `/v1/customers/${customerId}/payment-methods`, { token: 'tok_visa' });
        const paid = await call('POST', '/v1/payments', {
          customerId,
          amount: CAPTURED.toFixed(2),
          currency: 'USD',
        });
        expect(paid.body.status, describeResponse(paid)).toBe('succeeded');
        const paymentId = paid.body.paymentId as string;
        let remaining = CAPTURED;
        for (const cents of asks) {
          const amount = cents === null ? null : new Decimal(cents).dividedBy(100);
          const answer = await call(
            'POST',
            `/v1/payments/${paymentId}/refunds`,
            amount === null ? {} : { amount: amount.toFixed(2) },
          );
          const fits = remaining.greaterThan(0) && (amount === null || amount.lessThanOrEqualTo(remaining));
          if (fits) {
            expect(answer.status, describeResponse(answer)).toBe(201);
            remaining = remaining.minus(amount ?? remaining);
            expect(answer.body).toMatchObject({ status: 'succeeded', remaining: remaining.toFixed(2) });
          } else {
            expect(answer.status, describeResponse(answer)).toBe(409);
          }
        }
        const refunded = CAPTURED.minus(remaining);
        const status = await read(`/v1/payments/${paymentId}`);
        expect(status.body.refunds).toMatchObject({
          refunded: refunded.toFixed(2),
          refundable: remaining.toFixed(2),
        });
        expect((await settlement()).minus(before).toFixed(2)).toBe(remaining.toFixed(2));
      }),
      { numRuns: RUNS },
    );
  });
});
