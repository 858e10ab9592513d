import { describe, expect, it } from 'vitest';
import { classifyMpesaResult } from '../../src/domain/payments/mpesaResultCodes.js';

describe('M-Pesa result codes', () => {
  it.each([
    [0, 'succeeded', undefined],
    ['0', 'succeeded', undefined],
    ['4999', 'pending', undefined],
    [1, 'failed', 'insufficient_funds'],
    ['1032', 'failed', 'cancelled_by_user'],
    [1037, 'failed', 'unreachable'],
    [2001, 'failed', 'wrong_pin'],
    [1019, 'failed', 'expired'],
    [1001, 'failed', 'subscriber_locked'],
    [21, 'failed', 'initiator_not_allowed'],
    [1025, 'failed', 'push_failed'],
    [9999, 'failed', 'push_failed'],
    [17, 'failed', 'unknown'],
    [' 1032 ', 'failed', 'cancelled_by_user'],
  ])('%s is %s (%s)', (code, status, reason) => {
    const outcome = classifyMpesaResult(code, 'text');
    expect(outcome.status).toBe(status);
    if (outcome.status === 'failed') expect(outcome.reason).toBe(reason);
    expect(outcome.description).toBe('text');
  });

  it('keeps the code as canonical text', () => {
    expect(classifyMpesaResult('01032').resultCode).toBe('1032');
    expect(classifyMpesaResult(1032).resultCode).toBe('1032');
  });
});
