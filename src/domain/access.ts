/**
 * Who may do what (SPEC §1). Pure: roles, scopes, and the checks every command and query
 * runs through.
 */
export const MEMBER_ROLES = ['viewer', 'user', 'manager', 'org_admin', 'auditor'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];
export const SUPER_ADMIN = 'super_admin';
export type Role = MemberRole | typeof SUPER_ADMIN;

export const SCOPES = [
  'ledger:read',
  'ledger:write',
  'payments:read',
  'payments:write',
  'trades:read',
  'trades:write',
  'banking:read',
  'banking:write',
  'fraud:read',
  'fraud:review',
  'billing:read',
  'billing:write',
  'credentials:write',
  'members:write',
  'audit:read',
  'keys:write',
] as const;
export type Scope = (typeof SCOPES)[number];

const READ_SCOPES: readonly Scope[] = SCOPES.filter((scope) => scope.endsWith(':read'));

/** The scopes each role carries; a key never holds more than its creator's role allows. */
export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  viewer: READ_SCOPES.filter((scope) => scope !== 'audit:read'),
  user: [
    ...READ_SCOPES.filter((scope) => scope !== 'audit:read'),
    'ledger:write',
    'payments:write',
    'trades:write',
    'banking:write',
  ],
  manager: [
    ...READ_SCOPES.filter((scope) => scope !== 'audit:read'),
    'ledger:write',
    'payments:write',
    'trades:write',
    'banking:write',
    'fraud:review',
  ],
  // An org admin reads its own organization's audit trail; only the auditor role is read-only.
  org_admin: SCOPES,
  auditor: READ_SCOPES,
  super_admin: SCOPES,
};

/**
 * The rank of the operating roles. The auditor reads everything an org admin reads plus the
 * audit tools, but operates nothing, so it has no rank: a command never accepts it.
 */
const RANK: Readonly<Record<Exclude<Role, 'auditor'>, number>> = {
  viewer: 0,
  user: 1,
  manager: 2,
  org_admin: 3,
  super_admin: 4,
};

/** The least role a command or query demands. */
export type MinimumRole = Exclude<Role, 'auditor'> | 'any';

export function roleAtLeast(role: Role, minimum: MinimumRole): boolean {
  if (minimum === 'any') return true;
  if (role === 'auditor') return false;
  return RANK[role] >= RANK[minimum];
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Each role's scopes as a set, made once: authentication asks on every request. */
const ALLOWED: ReadonlyMap<Role, ReadonlySet<Scope>> = new Map(
  (Object.keys(ROLE_SCOPES) as Role[]).map((role) => [role, new Set(ROLE_SCOPES[role])]),
);

export function scopesAllowedFor(role: Role): ReadonlySet<Scope> {
  return ALLOWED.get(role) ?? new Set();
}

/** Scopes in `wanted` that `role` does not carry: empty when a key may hold them. */
export function scopesBeyondRole(role: Role, wanted: readonly Scope[]): Scope[] {
  const allowed = scopesAllowedFor(role);
  return wanted.filter((scope) => !allowed.has(scope));
}
