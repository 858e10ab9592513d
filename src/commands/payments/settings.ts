/**
 * Payment settings as commands and queries: the fraud policy and the ledger mapping.
 */
import { z } from 'zod';
import { FRAUD_RULE_NAMES, RULE_POINTS, SCORE_MAX } from '../../domain/fraud/policy.js';
import {
  decidePaymentSettings,
  paymentSettingsDecider,
  type PaymentSettings,
} from '../../domain/payments/settings.js';
import { SUPER_ADMIN } from '../../domain/access.js';
import { streamName } from '../../domain/streamName.js';
import { executeOnStream, loadAggregate } from '../aggregate.js';
import { defineCommand, defineQuery } from '../catalog.js';
import type { Services } from '../context.js';
import { callerOf } from '../tenancy/organizationStream.js';
import { readModelGrantNote, readModelGrantParam, readModelOrg } from '../audit/access.js';

export function paymentSettingsStream(orgId: string): string {
  return streamName(orgId, 'payment_settings', orgId);
}

/** The settings now (the defaults until an admin changes them); commands and queries alike. */
export async function loadPaymentSettings(services: Services, orgId: string): Promise<PaymentSettings> {
  return (await loadAggregate({ services }, paymentSettingsStream(orgId), paymentSettingsDecider)).state;
}

const hour = z.number().int().min(0).max(23);
const minutes = z.number().int().min(1).max(10_080);
const fraudPolicy = z.strictObject({
  reviewScore: z.number().int().min(1).max(SCORE_MAX).optional(),
  blockScore: z.number().int().min(1).max(SCORE_MAX).optional(),
  medianMultiple: z.number().int().min(2).max(1_000).optional(),
  velocityMaxCount: z.number().int().min(1).max(10_000).optional(),
  velocityWindowMinutes: minutes.optional(),
  newCounterpartyAmount: z
    .string()
    .regex(/^(0|[1-9]\d{0,19})(\.\d{1,18})?$/, 'must be a plain decimal string such as "50000"')
    .optional(),
  failuresMaxCount: z.number().int().min(1).max(1_000).optional(),
  failuresWindowMinutes: minutes.optional(),
  unusualHoursStart: hour.optional(),
  unusualHoursEnd: hour.optional(),
  utcOffsetMinutes: z
    .number()
    .int()
    .min(-12 * 60)
    .max(14 * 60)
    .optional(),
});
/** A ledger address, possibly with `{currency}`; the ledger checks the account when it posts. */
const mappedAddress = z
  .string()
  .max(200)
  .regex(/^[a-z][a-z0-9_-]*(:[a-z0-9_{}-]+)+$/, 'must be a colon-path address such as "assets:mpesa:float"');
const ledgerMapping = z.strictObject({
  mpesaFloat: mappedAddress.optional(),
  mpesaCollections: mappedAddress.optional(),
  mpesaPayouts: mappedAddress.optional(),
  cardSettlement: mappedAddress.optional(),
  cardSales: mappedAddress.optional(),
});

const settingsOutput = z.object({
  fraudPolicy: z.record(z.string(), z.unknown()),
  ledgerMapping: z.record(z.string(), z.string()),
  fraudRules: z.record(z.string(), z.number()),
});

function answer(settings: PaymentSettings): z.infer<typeof settingsOutput> {
  return {
    fraudPolicy: { ...settings.fraudPolicy },
    ledgerMapping: { ...settings.ledgerMapping },
    fraudRules: Object.fromEntries(FRAUD_RULE_NAMES.map((rule) => [rule, RULE_POINTS[rule]])),
  };
}

export const updatePaymentSettings = defineCommand({
  name: 'update_payment_settings',
  title: 'Change the fraud policy or the ledger mapping',
  description:
    'Changes the organization’s fraud policy (reviewScore holds a payment for review, blockScore refuses it; the thresholds where each rule fires) and which ledger accounts M-Pesa and card payments post to ({currency} in an address is replaced by the payment’s currency). Only the fields given change. Org admins only; affects every later payment.',
  input: z.strictObject({ fraudPolicy: fraudPolicy.optional(), ledgerMapping: ledgerMapping.optional() }),
  output: settingsOutput,
  scope: null,
  minRole: 'org_admin',
  audience: 'organization',
  annotations: { idempotentHint: true },
  rest: { method: 'PATCH', path: '/v1/payments/settings' },
  async run(input, context) {
    const principal = callerOf(context);
    const changes = {
      ...(input.fraudPolicy ? { fraudPolicy: dropUndefined(input.fraudPolicy) } : {}),
      ...(input.ledgerMapping ? { ledgerMapping: dropUndefined(input.ledgerMapping) } : {}),
    };
    const outcome = await executeOnStream(
      context,
      paymentSettingsStream(principal.orgId),
      paymentSettingsDecider,
      (state) => decidePaymentSettings(changes, state),
    );
    return { ...outcome, output: answer(outcome.output) };
  },
});

function dropUndefined<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

export const getPaymentSettings = defineQuery({
  name: 'get_payment_settings',
  title: 'The fraud policy and the ledger mapping',
  description:
    'The organization’s fraud policy (thresholds and the points each rule adds) and the ledger accounts its payments post to; the defaults until an admin changes them.' +
    readModelGrantNote('payments:read'),
  params: z.strictObject({ grantId: readModelGrantParam('payments:read') }),
  result: settingsOutput.extend({
    /**
     * Where to point the organization's Stripe webhooks (its URL carries a token); shown to
     * admins only, who configure Stripe, null for everyone else.
     */
    stripeWebhookUrl: z.string().nullable(),
  }),
  scope: 'payments:read',
  minRole: 'any',
  audience: 'organization',
  rest: { path: '/v1/payments/settings' },
  async run(params, context) {
    const { role } = context.principal;
    const orgId = await readModelOrg(
      context,
      params.grantId,
      'payments:read',
      'get_payment_settings',
      'payment settings',
    );
    // Only the organization's own admins: never an auditor reading under a grant.
    const admin = params.grantId === undefined && (role === 'org_admin' || role === SUPER_ADMIN);
    return {
      ...answer(await loadPaymentSettings(context.services, orgId)),
      stripeWebhookUrl: admin ? context.services.payments.callbacks.stripeWebhookUrl(orgId) : null,
    };
  },
});
