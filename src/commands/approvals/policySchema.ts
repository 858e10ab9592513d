/** The approval policy as organization settings take it (SPEC §6). */
import { z } from 'zod';
import {
  APPROVAL_EXPIRY_SECONDS_DEFAULT,
  APPROVAL_EXPIRY_SECONDS_MAX,
  APPROVAL_EXPIRY_SECONDS_MIN,
  DEFAULT_APPROVAL_POLICY,
  type ApprovalPolicy,
} from '../../domain/approvals/policy.js';
import { amount, asset } from '../ledger/schemas.js';

/** Assets a policy may name thresholds for, at most. */
export const POLICY_THRESHOLDS_MAX = 64;

export const approvalPolicySchema = z.strictObject({
  thresholds: z
    .record(asset, amount)
    .refine(
      (value) => Object.keys(value).length <= POLICY_THRESHOLDS_MAX,
      `at most ${POLICY_THRESHOLDS_MAX} assets`,
    )
    .default({}),
  reversals: z.boolean().default(false),
  payouts: z.boolean().default(false),
  credentialChanges: z.boolean().default(false),
  expiresAfterSeconds: z
    .number()
    .int()
    .min(APPROVAL_EXPIRY_SECONDS_MIN)
    .max(APPROVAL_EXPIRY_SECONDS_MAX)
    .default(APPROVAL_EXPIRY_SECONDS_DEFAULT),
});

/** The policy kept in settings, or the default (nothing waits) when there is none or it is unreadable. */
export function policyOf(settings: unknown): ApprovalPolicy {
  const raw = (settings as { approvalPolicy?: unknown } | null)?.approvalPolicy;
  if (raw === undefined || raw === null) return DEFAULT_APPROVAL_POLICY;
  const parsed = approvalPolicySchema.safeParse(raw);
  return parsed.success ? parsed.data : DEFAULT_APPROVAL_POLICY;
}
