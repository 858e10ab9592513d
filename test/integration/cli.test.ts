/**
 * The two commands a new user runs, through the built CLI in a real child process:
 * `ledgerline serve` on the embedded default answers /health, says where it listens and where
 * its data lives, keeps the data across restarts, refuses a second process on the same data
 * folder, and shuts down on SIGTERM.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const START_TIMEOUT_MS = 30_000;

interface Started {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  readonly stderr: () => string;
}

function run(args: string[], env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, DATABASE_URL: '', EVENTSTORE_URL: '', LEDGERLINE_PASSWORD_COST: '10', ...env },
  });
}

function startServe(dataDir: string): Promise<Started> {
  const child = run(['serve', '--port', '0', '--data-dir', dataDir], {
    LOG_LEVEL: 'warn',
    LEDGERLINE_PASSWORD_COST: '10',
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start: ${stderr}`));
    }, START_TIMEOUT_MS);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1] && stderr.includes('read models:')) {
        clearTimeout(timer);
        resolve({ child, url: match[1], stderr: () => stderr });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${stderr}`));
    });
  });
}

function exited(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else
      child.on('exit', (code) => {
        resolve(code);
      });
  });
}

async function output(
  child: ChildProcessWithoutNullStreams,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await exited(child);
  return { code, stdout, stderr };
}

describe('ledgerline CLI on the embedded default', () => {
  let dataDir: string;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm test builds it first (npm run build)`);
    dataDir = await mkdtemp(join(tmpdir(), 'ledgerline-cli-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves /health and /ready, says where it listens and where the data lives, and stops on SIGTERM', async () => {
    const server = await startServe(dataDir);
    try {
      expect(server.stderr()).toContain(`PGlite at ${dataDir}`);
      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      expect(health.headers.get('x-request-id')).toMatch(/^req_/);
      const ready = await fetch(`${server.url}/ready`);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', eventStore: 'ok' } });
      const missing = await fetch(`${server.url}/nope`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await exited(server.child)).toBe(0);
    expect(existsSync(join(dataDir, 'ledgerline.pid'))).toBe(false);
  });

  it('prints the bootstrap keys on the first start only, and they work', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'ledgerline-boot-'));
    try {
      const first = await startServe(fresh);
      let adminKey = '';
      try {
        // The keys follow the listening line; give the bootstrap message a moment to be read.
        for (let i = 0; i < 100 && !first.stderr().includes('demo organization'); i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        adminKey = /platform admin API key:\s+(\S+)/.exec(first.stderr())?.[1] ?? '';
        expect(adminKey).toMatch(/^lk_live_key_/);
        const organizations = await fetch(`${first.url}/v1/organizations`, {
          headers: { authorization: `Bearer ${adminKey}` },
        });
        expect(organizations.status).toBe(200);
        const body = (await organizations.json()) as { items: { name: string }[] };
        expect(body.items.map((item) => item.name)).toContain('Demo organization');
      } finally {
        first.child.kill('SIGTERM');
        await exited(first.child);
      }
      const second = await startServe(fresh);
      try {
        expect(second.stderr()).not.toContain('API key');
      } finally {
        second.child.kill('SIGTERM');
        await exited(second.child);
      }
      const created = await output(
        run(['admin', 'create-org', '--name', 'Cli Org', '--admin-email', 'ops@cli.test'], {
          LEDGERLINE_DATA_DIR: fresh,
        }),
      );
      expect(created.code).toBe(0);
      const org = JSON.parse(created.stdout) as { orgId: string; apiKey: string };
      expect(org.apiKey).toMatch(/^lk_live_key_/);
      const key = await output(
        run(['admin', 'create-key', '--org', org.orgId, '--scopes', 'ledger:read,audit:read'], {
          LEDGERLINE_DATA_DIR: fresh,
        }),
      );
      expect(key.code).toBe(0);
      expect(JSON.parse(key.stdout)).toMatchObject({ scopes: ['ledger:read', 'audit:read'] });
      const third = await startServe(fresh);
      try {
        const mine = await fetch(`${third.url}/v1/organization`, {
          headers: { authorization: `Bearer ${org.apiKey}` },
        });
        expect(((await mine.json()) as { name: string }).name).toBe('Cli Org');
        const scoped = JSON.parse(key.stdout) as { apiKey: string };
        const stream = await fetch(`${third.url}/v1/audit/streams/${org.orgId}.organization-${org.orgId}`, {
          headers: { authorization: `Bearer ${scoped.apiKey}` },
        });
        const events = ((await stream.json()) as { events: { type: string; channel: { kind: string } }[] })
          .events;
        expect(events.map((event) => event.type)).toEqual([
          'OrganizationCreated',
          'MemberCreated',
          'ApiKeyCreated',
          'ApiKeyCreated',
        ]);
        expect(events.every((event) => event.channel.kind === 'cli')).toBe(true);
      } finally {
        third.child.kill('SIGTERM');
        await exited(third.child);
      }
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  it('refuses a second process on the same data folder, naming the first', async () => {
    const server = await startServe(dataDir);
    try {
      const second = await output(run(['serve', '--port', '0', '--data-dir', dataDir], {}));
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`in use by process ${server.child.pid}`);
    } finally {
      server.child.kill('SIGTERM');
      await exited(server.child);
    }
  });

  it('keeps its data: migrate finds the schema it left', async () => {
    const result = await output(run(['migrate'], { LEDGERLINE_DATA_DIR: dataDir }));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Nothing to apply on PGlite at .*; schema at version \d+/);
  });

  it('names a bad setting and exits without starting', async () => {
    const result = await output(run(['serve'], { PORT: 'eighty' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PORT: must be a port number');
    const usage = await output(run(['frobnicate'], {}));
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('unknown command "frobnicate"');
  });
});
