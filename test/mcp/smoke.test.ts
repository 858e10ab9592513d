import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { connectInMemory, structured } from './support.js';

describe('MCP smoke', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('pglite');
  });
  afterAll(async () => {
    await app.close();
  });

  it('lists tools and opens an account', async () => {
    const { client, close } = await connectInMemory(app, app.demoKey);
    const { tools } = await client.listTools();
    console.log(tools.map((tool) => tool.name).join(' '));
    const opened = await client.callTool({
      name: 'ledger_open_account',
      arguments: { address: 'assets:cash:main', asset: 'KES', type: 'asset' },
    });
    console.log(JSON.stringify(opened));
    const balance = await client.readResource({ uri: 'ledger://accounts/assets:cash:main/balance' });
    console.log(JSON.stringify(balance));
    const bad = await client.callTool({ name: 'ledger_open_account', arguments: { address: 5 } });
    console.log(JSON.stringify(bad));
    expect(structured(opened).address).toBe('assets:cash:main');
    const list = await client.listResources();
    console.log(JSON.stringify(list));
    await close();
  });
});
