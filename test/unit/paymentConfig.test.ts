/**
 * The payment follow-up settings (README "Configuration"): the M-Pesa and card resolvers'
 * interval, grace and attempts, the payout reservation, the payout resumer's interval and grace, and the
 * simulator's answer-timeout fault — read from the environment, unset meaning the built-in
 * defaults, a bad value refused by name.
 */
import { describe, expect, it } from 'vitest';
import { DARAJA_REQUEST_TIMEOUT_MS } from '../../src/adapters/providers/daraja/darajaMobileMoney.js';
import { loadConfig, RESUMER_GRACE_LIVE_MIN_MS } from '../../src/config.js';
import { ValidationError } from '../../src/domain/errors.js';

describe('payment follow-up settings', () => {
  it('leave the defaults to the code when unset', () => {
    const config = loadConfig({});
    expect(config.mpesaResolver).toEqual({ intervalMs: null, graceMs: null, attemptsMax: null });
    expect(config.cardResolver).toEqual({ intervalMs: null, graceMs: null, attemptsMax: null });
    expect(config.payoutReservationSeconds).toBeNull();
    expect(config.payoutResumer).toEqual({ intervalMs: null, graceMs: null });
    expect(config.simulatorFaults).toEqual({
      callbackBeforeAnswer: false,
      callbackCopies: 1,
      answerTimeout: false,
    });
  });

  it('read the resolver, the reservation and the faults', () => {
    const config = loadConfig({
      LEDGERLINE_MPESA_RESOLVER_INTERVAL_MS: '250',
      LEDGERLINE_MPESA_RESOLVER_GRACE_MS: '0',
      LEDGERLINE_MPESA_RESOLVER_ATTEMPTS: '5',
      LEDGERLINE_CARD_RESOLVER_INTERVAL_MS: '300',
      LEDGERLINE_CARD_RESOLVER_GRACE_MS: '10',
      LEDGERLINE_CARD_RESOLVER_ATTEMPTS: '7',
      LEDGERLINE_MPESA_PAYOUT_RESERVATION_SECONDS: '3600',
      LEDGERLINE_MPESA_RESUMER_INTERVAL_MS: '500',
      LEDGERLINE_MPESA_RESUMER_GRACE_MS: '0',
      LEDGERLINE_SIMULATOR_FAULTS: 'answer-timeout, callback-copies=2',
    });
    expect(config.mpesaResolver).toEqual({ intervalMs: 250, graceMs: 0, attemptsMax: 5 });
    expect(config.cardResolver).toEqual({ intervalMs: 300, graceMs: 10, attemptsMax: 7 });
    expect(config.payoutReservationSeconds).toBe(3600);
    expect(config.payoutResumer).toEqual({ intervalMs: 500, graceMs: 0 });
    expect(config.simulatorFaults).toEqual({
      callbackBeforeAnswer: false,
      callbackCopies: 2,
      answerTimeout: true,
    });
  });

  it('refuses a resumer grace below the live minimum with live providers, naming the variable', () => {
    const below = String(RESUMER_GRACE_LIVE_MIN_MS - 1);
    expect(() =>
      loadConfig({ LEDGERLINE_PROVIDERS: 'live', LEDGERLINE_MPESA_RESUMER_GRACE_MS: below }),
    ).toThrow(/LEDGERLINE_MPESA_RESUMER_GRACE_MS/);
    const at = loadConfig({
      LEDGERLINE_PROVIDERS: 'live',
      LEDGERLINE_MPESA_RESUMER_GRACE_MS: String(RESUMER_GRACE_LIVE_MIN_MS),
    });
    expect(at.payoutResumer.graceMs).toBe(RESUMER_GRACE_LIVE_MIN_MS);
    expect(RESUMER_GRACE_LIVE_MIN_MS).toBeGreaterThan(2 * DARAJA_REQUEST_TIMEOUT_MS);
  });

  it.each([
    ['LEDGERLINE_MPESA_RESOLVER_INTERVAL_MS', '0'],
    ['LEDGERLINE_MPESA_RESOLVER_INTERVAL_MS', '1.5'],
    ['LEDGERLINE_MPESA_RESOLVER_GRACE_MS', '-1'],
    ['LEDGERLINE_MPESA_RESOLVER_ATTEMPTS', '0'],
    ['LEDGERLINE_MPESA_RESOLVER_ATTEMPTS', 'many'],
    ['LEDGERLINE_CARD_RESOLVER_INTERVAL_MS', '9'],
    ['LEDGERLINE_CARD_RESOLVER_GRACE_MS', '99999999999'],
    ['LEDGERLINE_CARD_RESOLVER_ATTEMPTS', '0'],
    ['LEDGERLINE_MPESA_PAYOUT_RESERVATION_SECONDS', '0'],
    ['LEDGERLINE_MPESA_PAYOUT_RESERVATION_SECONDS', '99999999'],
    ['LEDGERLINE_MPESA_RESUMER_INTERVAL_MS', '5'],
    ['LEDGERLINE_MPESA_RESUMER_GRACE_MS', '-1'],
    ['LEDGERLINE_MPESA_RESUMER_GRACE_MS', '99999999999'],
    ['LEDGERLINE_SIMULATOR_FAULTS', 'answer-late'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    let thrown: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).message).toContain(name);
  });
});
