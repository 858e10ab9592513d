/**
 * What each plan allows (SPEC §5.6): requests per minute and per day (every command and query
 * an organization's credentials send, over REST and MCP alike) and commands per month. An
 * organization's settings override its plan's figure; null means no limit.
 */
import type { OrganizationSettings, Plan } from './events.js';

export interface Limits {
  readonly requestsPerMinute: number | null;
  readonly requestsPerDay: number | null;
  readonly commandsPerMonth: number | null;
}

export const PLAN_LIMITS: Readonly<Record<Plan, Limits>> = {
  free: { requestsPerMinute: 1_200, requestsPerDay: 100_000, commandsPerMonth: 100_000 },
  pro: { requestsPerMinute: 12_000, requestsPerDay: 5_000_000, commandsPerMonth: 5_000_000 },
  enterprise: { requestsPerMinute: null, requestsPerDay: null, commandsPerMonth: null },
};

/** The plan's limits with the organization's own settings where it set them. */
export function effectiveLimits(plan: Plan, settings: Partial<OrganizationSettings>): Limits {
  const base = PLAN_LIMITS[plan];
  return {
    requestsPerMinute: settings.rateLimitPerMinute ?? base.requestsPerMinute,
    requestsPerDay: settings.rateLimitPerDay ?? base.requestsPerDay,
    commandsPerMonth: settings.monthlyCommandQuota ?? base.commandsPerMonth,
  };
}
