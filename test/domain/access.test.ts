/**
 * Roles and scopes against SPEC §1, written out from the specification's own words rather than
 * derived from the code's tables:
 *   viewer (read), user (operate: payments, trades), manager (also approvals, reversals, fraud
 *   review), org_admin (also members, keys, credentials, settings, subscription), auditor
 *   (read + audit tools, no commands); super_admin is the platform's role.
 */
import { describe, expect, it } from 'vitest';
import {
  MEMBER_ROLES,
  ROLE_SCOPES,
  roleAtLeast,
  SCOPES,
  scopesBeyondRole,
  type MinimumRole,
  type Role,
} from '../../src/domain/access.js';

const READS = [
  'ledger:read',
  'payments:read',
  'trades:read',
  'banking:read',
  'fraud:read',
  'billing:read',
] as const;
/** "operate: payments, trades" — moving money through the ledger and linked bank accounts included. */
const OPERATE = ['ledger:write', 'payments:write', 'trades:write', 'banking:write'] as const;
const REVIEW = ['fraud:review'] as const;
/** "members, keys, credentials, settings, subscription" */
const ADMINISTER = ['members:write', 'keys:write', 'credentials:write', 'billing:write'] as const;
const AUDIT = ['audit:read'] as const;

const SPEC_SCOPES: Record<Role, readonly string[]> = {
  viewer: [...READS],
  user: [...READS, ...OPERATE],
  manager: [...READS, ...OPERATE, ...REVIEW],
  org_admin: [...READS, ...OPERATE, ...REVIEW, ...ADMINISTER, ...AUDIT],
  auditor: [...READS, ...AUDIT],
  super_admin: [...SCOPES],
};

describe('the scopes each role carries (SPEC §1)', () => {
  it('knows exactly the sixteen scopes of the specification', () => {
    expect([...SCOPES].sort()).toEqual([...READS, ...OPERATE, ...REVIEW, ...ADMINISTER, ...AUDIT].sort());
  });

  it.each(Object.keys(SPEC_SCOPES) as Role[])('gives the %s role what the specification says', (role) => {
    expect([...ROLE_SCOPES[role]].sort()).toEqual([...SPEC_SCOPES[role]].sort());
  });

  it('never gives the auditor a write scope', () => {
    expect(ROLE_SCOPES.auditor.filter((scope) => !scope.endsWith(':read'))).toEqual([]);
  });

  it('gives each operating role everything the role below it has', () => {
    const ladder = ['viewer', 'user', 'manager', 'org_admin', 'super_admin'] as const;
    for (let i = 1; i < ladder.length; i += 1) {
      const lower = ladder[i - 1]!;
      const higher = ladder[i]!;
      expect(scopesBeyondRole(higher, ROLE_SCOPES[lower]), `${higher} ⊇ ${lower}`).toEqual([]);
    }
  });

  it('names exactly the scopes a role lacks', () => {
    expect(scopesBeyondRole('manager', ['ledger:read', 'keys:write', 'fraud:review', 'audit:read'])).toEqual([
      'keys:write',
      'audit:read',
    ]);
  });
});

describe('the role ladder', () => {
  const LADDER = ['viewer', 'user', 'manager', 'org_admin', 'super_admin'] as const;

  it.each(LADDER.flatMap((role, r) => LADDER.map((minimum, m) => [role, minimum, r >= m] as const)))(
    '%s meets the minimum %s: %s',
    (role, minimum, expected) => {
      expect(roleAtLeast(role, minimum)).toBe(expected);
    },
  );

  it.each(LADDER)('never lets the auditor pass a %s minimum (no commands)', (minimum) => {
    expect(roleAtLeast('auditor', minimum)).toBe(false);
  });

  it.each([...MEMBER_ROLES, 'super_admin'] as const)('lets %s pass the minimum "any"', (role) => {
    const any: MinimumRole = 'any';
    expect(roleAtLeast(role, any)).toBe(true);
  });
});
