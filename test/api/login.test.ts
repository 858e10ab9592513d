/**
 * Logging in: failures are limited per account and per address (429 with Retry-After), a
 * success clears the count, and no credential ever reaches a log line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_FAILURES_PER_ACCOUNT_MAX } from '../../src/commands/loginLimiter.js';
import { startTestApp, type TestApp } from '../support/app.js';

describe('login on PGlite', () => {
  let app: TestApp;
  const lines: string[] = [];

  beforeAll(async () => {
    app = await startTestApp('pglite', {
      logLevel: 'info',
      logStream: { write: (line) => lines.push(line) },
    });
  });

  afterAll(async () => {
    await app.close();
  });

  async function organizationWithAdmin(email: string, password: string): Promise<string> {
    const created = await app.request('POST', '/v1/organizations', {
      token: app.adminKey,
      body: { name: `Org of ${email}`, admin: { email, name: 'Admin', password } },
    });
    expect(created.status).toBe(201);
    return created.body.orgId as string;
  }

  it('limits failed logins per account, answers 429 with Retry-After, and lets nobody in meanwhile', async () => {
    const password = 'the right password';
    await organizationWithAdmin('limited@login.test', password);
    for (let i = 0; i < LOGIN_FAILURES_PER_ACCOUNT_MAX; i += 1) {
      const wrong = await app.request('POST', '/v1/auth/login', {
        body: { email: 'limited@login.test', password: `wrong ${i}` },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.code).toBe('INVALID_CREDENTIALS');
      expect(wrong.headers.get('www-authenticate')).toContain('Bearer');
    }
    const limited = await app.request('POST', '/v1/auth/login', {
      body: { email: 'limited@login.test', password },
    });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('answers an unknown email exactly like a wrong password', async () => {
    await organizationWithAdmin('known@login.test', 'a password long enough');
    const unknown = await app.request('POST', '/v1/auth/login', {
      body: { email: 'nobody@login.test', password: 'whatever it is' },
    });
    const wrong = await app.request('POST', '/v1/auth/login', {
      body: { email: 'known@login.test', password: 'not the password' },
    });
    expect(unknown.status).toBe(wrong.status);
    expect({ ...unknown.body.error, requestId: null }).toEqual({ ...wrong.body.error, requestId: null });
  });

  it('lets in a member whose password holds U+0000 or an unpaired surrogate (taken before such input was refused)', async () => {
    const created = await app.request('POST', '/v1/organizations', {
      token: app.adminKey,
      body: {
        name: 'Org of odd',
        admin: { email: 'odd@login.test', name: 'Admin', password: 'long enough too' },
      },
    });
    expect(created.status).toBe(201);
    // The member's row exists once projected: wait for it (read-your-writes), then set the hash.
    const seen = await app.request(
      'GET',
      `/v1/organizations?consistentWith=${created.body.position as string}`,
      {
        token: app.adminKey,
      },
    );
    expect(seen.status).toBe(200);
    // Set as creating the member used to store it: only the hash of whatever was sent.
    const odd = 'odd password \u0000 with \ud800 in it';
    const hash = await app.server.runtime.services.passwords.hash(odd);
    const { rows } = await app.server.runtime.services.db.query(
      'UPDATE rm_members SET password_hash = $1 WHERE org_id = $2 AND email = $3 RETURNING member_id',
      [hash, created.body.orgId as string, 'odd@login.test'],
    );
    expect(rows).toHaveLength(1);
    const wrong = await app.request('POST', '/v1/auth/login', {
      body: { email: 'odd@login.test', password: 'odd password \u0000 but not it' },
    });
    expect(wrong.status, JSON.stringify(wrong.body)).toBe(401);
    const right = await app.request('POST', '/v1/auth/login', {
      body: { email: 'odd@login.test', password: odd },
    });
    expect(right.status, JSON.stringify(right.body)).toBe(200);
    expect(right.body.accessToken).toEqual(expect.any(String));
  });

  it('logs a request for another organization’s object, answered as missing', async () => {
    const orgA = await organizationWithAdmin('a-admin@isolation.test', 'password of admin a');
    const orgB = await organizationWithAdmin('b-admin@isolation.test', 'password of admin b');
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: 'a-admin@isolation.test', password: 'password of admin a' },
    });
    const foreign = await app.request('GET', `/v1/audit/streams/${orgB}.organization-${orgB}`, {
      token: login.body.accessToken as string,
    });
    expect(foreign.status).toBe(404);
    const attempts = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry['event'] === 'cross_organization_attempt');
    expect(attempts).toContainEqual(
      expect.objectContaining({ callerOrgId: orgA, targetOrgId: orgB, operation: 'audit_read_stream' }),
    );
  });

  it('never writes a password, a token or an API key into the logs', async () => {
    const password = 'secret password for logs';
    await organizationWithAdmin('logs@login.test', password);
    const login = await app.request('POST', '/v1/auth/login', {
      body: { email: 'logs@login.test', password },
    });
    expect(login.status).toBe(200);
    const key = await app.request('POST', '/v1/api-keys', {
      token: login.body.accessToken as string,
      body: { name: 'logged', scopes: ['ledger:read'] },
    });
    expect(key.status).toBe(201);
    await app.request('GET', '/v1/organization?consistentWith=0-0', { token: key.body.apiKey as string });
    await app.request('GET', '/v1/organization', { token: 'lk_live_garbage' });
    const logs = lines.join('');
    expect(logs).toContain('/v1/auth/login');
    for (const secret of [
      password,
      login.body.accessToken,
      login.body.refreshToken,
      key.body.apiKey,
      app.adminKey,
    ]) {
      expect(logs).not.toContain(secret);
    }
  });
});
