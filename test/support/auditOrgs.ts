/**
 * Organizations for audit tests, made over HTTP as users would: an organization with its
 * admin, members of any role (logged in), and API keys.
 */
import { expect } from 'vitest';
import type { TestApp } from './app.js';

export const TEST_PASSWORD = 'correct horse battery staple';

export interface TestOrg {
  readonly orgId: string;
  /** The org admin's access token. */
  readonly adminToken: string;
}

let counter = 0;

function unique(label: string): string {
  counter += 1;
  return `${label}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** How many times a read waits (2 s each, server-side) for the projections to reach a write. */
const CATCH_UP_ATTEMPTS_MAX = 30;

/** Waits until the read models have passed `position` (consistentWith answers 409 until then). */
export async function caughtUp(app: TestApp, token: string, path: string, position: string): Promise<void> {
  for (let attempt = 0; attempt < CATCH_UP_ATTEMPTS_MAX; attempt += 1) {
    const answer = await app.request('GET', `${path}?consistentWith=${position}`, { token });
    if (answer.status !== 409) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return;
    }
  }
  throw new Error(`the read models did not reach ${position}`);
}

export async function login(app: TestApp, email: string): Promise<string> {
  const answer = await app.request('POST', '/v1/auth/login', { body: { email, password: TEST_PASSWORD } });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.accessToken as string;
}

export async function createOrg(app: TestApp, label: string): Promise<TestOrg> {
  const email = `${unique(label)}@admin.test`;
  const created = await app.request('POST', '/v1/organizations', {
    token: app.adminKey,
    body: { name: label, plan: 'pro', admin: { email, name: `${label} admin`, password: TEST_PASSWORD } },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  // A login only finds the admin once projected; under load that can take a while.
  await caughtUp(app, app.adminKey, '/v1/organizations', created.body.position as string);
  return { orgId: created.body.orgId as string, adminToken: await login(app, email) };
}

/** A member of `org` with `role`, logged in: answers the access token. */
export async function memberToken(app: TestApp, org: TestOrg, role: string): Promise<string> {
  const email = `${unique(role)}@member.test`;
  const made = await app.request('POST', '/v1/members', {
    token: org.adminToken,
    body: { email, name: role, role, password: TEST_PASSWORD },
  });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  await caughtUp(app, org.adminToken, '/v1/members', made.body.position as string);
  return login(app, email);
}

export async function apiKey(app: TestApp, token: string, scopes: readonly string[]): Promise<string> {
  const made = await app.request('POST', '/v1/api-keys', { token, body: { name: 'audit test key', scopes } });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  return made.body.apiKey as string;
}

export async function grant(
  app: TestApp,
  granter: TestOrg,
  granteeOrgId: string,
  options: { scopes?: readonly string[]; expiresAt?: string } = {},
): Promise<string> {
  const answer = await app.request('POST', '/v1/audit/grants', {
    token: granter.adminToken,
    body: {
      granteeOrgId,
      scopes: options.scopes ?? ['audit:read', 'ledger:read'],
      expiresAt: options.expiresAt ?? new Date(Date.now() + 86_400_000).toISOString(),
    },
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body.grantId as string;
}

/**
 * A fresh server's bootstrap keys work once projected; under load that takes longer than a
 * request waits for them. Polls (bounded) until the platform admin's key is accepted.
 */
export async function bootstrapProjected(app: TestApp): Promise<void> {
  for (let attempt = 0; attempt < CATCH_UP_ATTEMPTS_MAX; attempt += 1) {
    const answer = await app.request('GET', '/v1/organizations', { token: app.adminKey });
    if (answer.status === 200) return;
    expect(answer.status, JSON.stringify(answer.body)).toBe(401);
  }
  throw new Error('the bootstrap keys were never projected');
}
