/**
 * `ledgerline mcp` over stdio, spawned as a real process from the built CLI with the SDK's own
 * stdio client: on its own stores (the embedded default), and as a bridge to a running server's
 * /mcp. stdout carries nothing but protocol (the client fails on any other line); a missing key
 * is a usage error on stderr.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { CLIENT_INFO, structured } from './support.js';

const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const BASE_ENV = { DATABASE_URL: '', EVENTSTORE_URL: '', LEDGERLINE_PASSWORD_COST: '10', LOG_LEVEL: 'info' };

function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...BASE_ENV, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end();
    child.on('error', reject);
    child.on('exit', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

async function stdioClient(
  args: string[],
  env: Record<string, string>,
): Promise<{ client: Client; errors: Error[]; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, ...args],
    env: { ...(process.env as Record<string, string>), ...BASE_ENV, ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client(CLIENT_INFO);
  const errors: Error[] = [];
  client.onerror = (error) => errors.push(error);
  await client.connect(transport);
  return { client, errors, stderr: () => stderr };
}

describe('ledgerline mcp (stdio)', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ledgerline-stdio-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses to start without LEDGERLINE_API_KEY, saying so on stderr and nothing on stdout', async () => {
    const result = await run(['mcp', '--data-dir', dataDir], { LEDGERLINE_API_KEY: '' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('LEDGERLINE_API_KEY');
    expect(result.stdout).toBe('');
  });

  it('serves tools and resources from its own stores', { timeout: 180_000 }, async () => {
    const made = await run(['admin', 'create-org', '--name', 'Stdio Co', '--data-dir', dataDir], {});
    expect(made.code, made.stderr).toBe(0);
    const { apiKey } = JSON.parse(made.stdout) as { apiKey: string };
    const { client, errors, stderr } = await stdioClient(['mcp', '--data-dir', dataDir], {
      LEDGERLINE_API_KEY: apiKey,
    });
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('ledger_open_account');
      const opened = await client.callTool({
        name: 'ledger_open_account',
        arguments: { address: 'assets:stdio:cash', asset: 'KES', type: 'asset' },
      });
      expect(structured(opened), JSON.stringify(opened)).toMatchObject({ address: 'assets:stdio:cash' });
      const balance = await client.readResource({ uri: 'ledger://accounts/assets:stdio:cash/balance' });
      expect(JSON.parse((balance.contents[0] as { text: string }).text).asset).toBe('KES');
      expect(errors, stderr()).toEqual([]);
    } finally {
      await client.close();
    }
  });

  describe('bridging to a running server', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp('pglite');
    });
    afterAll(async () => {
      await app.close();
    });

    it('relays every message to the server’s /mcp with the key as bearer', { timeout: 180_000 }, async () => {
      const { client, errors, stderr } = await stdioClient(['mcp', '--url', `${app.url}/mcp`], {
        LEDGERLINE_API_KEY: app.demoKey,
      });
      try {
        const { tools } = await client.listTools();
        expect(tools.map((tool) => tool.name)).toContain('ledger_create_transfers');
        const opened = await client.callTool({
          name: 'ledger_open_account',
          arguments: { address: 'assets:bridge:cash', asset: 'KES', type: 'asset' },
        });
        expect(structured(opened), JSON.stringify(opened)).toMatchObject({ address: 'assets:bridge:cash' });
        const failed = await client.callTool({
          name: 'ledger_void_pending',
          arguments: { transferId: 'nope' },
        });
        expect(structured(failed).error.code).toBe('NOT_FOUND');
        expect(errors, stderr()).toEqual([]);
      } finally {
        await client.close();
      }
    });
  });
});
