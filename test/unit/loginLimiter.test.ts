import { describe, expect, it } from 'vitest';
import {
  LOGIN_FAILURES_PER_ACCOUNT_MAX,
  LOGIN_FAILURES_PER_ADDRESS_MAX,
  LOGIN_WINDOW_MS,
  LoginLimiter,
} from '../../src/commands/loginLimiter.js';

describe('login limiter', () => {
  it('locks an account after its failures, for the rest of the window, whatever the case of the email', () => {
    const limiter = new LoginLimiter();
    for (let i = 0; i < LOGIN_FAILURES_PER_ACCOUNT_MAX; i += 1)
      limiter.fail('Ada@Acme.test', `10.0.0.${i}`, 1_000);
    expect(limiter.retryAfterMs('ada@acme.test', '10.9.9.9', 1_000)).toBe(LOGIN_WINDOW_MS);
    expect(limiter.retryAfterMs('bob@acme.test', '10.9.9.9', 1_000)).toBe(0);
    expect(limiter.retryAfterMs('ada@acme.test', '10.9.9.9', 1_000 + LOGIN_WINDOW_MS)).toBe(0);
  });

  it('locks an address after many failures across accounts, and a success elsewhere does not reset it', () => {
    const limiter = new LoginLimiter();
    for (let i = 0; i < LOGIN_FAILURES_PER_ADDRESS_MAX; i += 1)
      limiter.fail(`user${i}@acme.test`, '10.0.0.1', 0);
    limiter.succeed('valid@acme.test');
    expect(limiter.retryAfterMs('valid@acme.test', '10.0.0.1', 0)).toBeGreaterThan(0);
    expect(limiter.retryAfterMs('valid@acme.test', '10.0.0.2', 0)).toBe(0);
  });

  it('clears an account on success', () => {
    const limiter = new LoginLimiter();
    for (let i = 0; i < LOGIN_FAILURES_PER_ACCOUNT_MAX - 1; i += 1)
      limiter.fail('ada@acme.test', '10.0.0.1', 0);
    limiter.succeed('ada@acme.test');
    limiter.fail('ada@acme.test', '10.0.0.1', 0);
    expect(limiter.retryAfterMs('ada@acme.test', '10.0.0.1', 0)).toBe(0);
  });
});
