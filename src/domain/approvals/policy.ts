/**
 * The approval policy (SPEC §6): which commands an AI agent may not run alone. Pure: the
 * command's kind and the money it would move come in, the reason a human must look (or null)
 * comes out.
 */
import { Decimal } from 'decimal.js';

/** How long an approval waits for a human when the policy does not say. */
export const APPROVAL_EXPIRY_SECONDS_DEFAULT = 24 * 60 * 60;
export const APPROVAL_EXPIRY_SECONDS_MIN = 1;
export const APPROVAL_EXPIRY_SECONDS_MAX = 30 * 24 * 60 * 60;

export interface ApprovalPolicy {
  /** Per asset: money-moving commands over MCP above this amount wait for a human. */
  readonly thresholds: Readonly<Record<string, string>>;
  /** Reversals and refunds always wait. */
  readonly reversals: boolean;
  /** Payouts always wait. */
  readonly payouts: boolean;
  /** Provider credential changes are refused over MCP (their secrets are never kept waiting). */
  readonly credentialChanges: boolean;
  readonly expiresAfterSeconds: number;
}

export const DEFAULT_APPROVAL_POLICY: ApprovalPolicy = {
  thresholds: {},
  reversals: false,
  payouts: false,
  credentialChanges: false,
  expiresAfterSeconds: APPROVAL_EXPIRY_SECONDS_DEFAULT,
};

/** What a command is, as far as the policy cares. */
export type ApprovalKind = 'transfer' | 'reversal' | 'payout' | 'credentials';

/** Money a command would move: an amount of one asset (null when it could not be told). */
export interface Movement {
  readonly asset: string | null;
  readonly amount: string;
}

export type PolicyVerdict =
  | { readonly kind: 'run' }
  | { readonly kind: 'approve'; readonly reason: string }
  | { readonly kind: 'refuse'; readonly reason: string };

/** The total per asset; movements whose asset is unknown are kept under null. */
function totals(movements: readonly Movement[]): Map<string | null, Decimal> {
  const sums = new Map<string | null, Decimal>();
  for (const movement of movements) {
    sums.set(movement.asset, (sums.get(movement.asset) ?? new Decimal(0)).plus(movement.amount));
  }
  return sums;
}

export function judge(
  policy: ApprovalPolicy,
  kind: ApprovalKind,
  movements: readonly Movement[],
): PolicyVerdict {
  if (kind === 'credentials') {
    return policy.credentialChanges
      ? {
          kind: 'refuse',
          reason:
            'The approval policy keeps credential changes away from agents: make this change over REST.',
        }
      : { kind: 'run' };
  }
  if (kind === 'reversal' && policy.reversals)
    return { kind: 'approve', reason: 'The approval policy has a human approve every reversal.' };
  if (kind === 'payout' && policy.payouts)
    return { kind: 'approve', reason: 'The approval policy has a human approve every payout.' };
  const thresholds = Object.entries(policy.thresholds);
  if (thresholds.length === 0) return { kind: 'run' };
  for (const [asset, total] of totals(movements)) {
    if (asset === null) {
      // The asset could not be told (an account not known yet): a threshold might apply, so ask.
      return {
        kind: 'approve',
        reason: `The amount ${total.toFixed()} is in an asset that could not be determined, and the approval policy sets thresholds.`,
      };
    }
    const threshold = policy.thresholds[asset];
    if (threshold !== undefined && total.greaterThan(threshold)) {
      return {
        kind: 'approve',
        reason: `${total.toFixed()} ${asset} is above the approval threshold of ${threshold} ${asset}.`,
      };
    }
  }
  return { kind: 'run' };
}
