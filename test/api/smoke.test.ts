import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

describe('test app harness', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('pglite');
  });
  afterAll(async () => {
    await app.close();
  });

  it('serves the catalogs with the bootstrapped keys', async () => {
    const org = await app.request('GET', '/v1/organization', { token: app.demoKey });
    expect(org.status).toBe(200);
    expect(org.body.orgId).toBe(app.demoOrgId);
  });
});
