/**
 * The "done when" for audit, on real PostgreSQL: an auditor organization holding a
 * grant verifies, replays and exports another organization over REST and over the CLI (with
 * its API key in LEDGERLINE_API_KEY), every read lands in the granting organization's access
 * log, and a tampered event row or a corrupted read-model row is found exactly.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AUDIT_PUBLIC_KEY_FILE, verifyingKey } from '../../src/adapters/crypto/auditSigningKey.js';
import { runAudit } from '../../src/cli/audit.js';
import { verifyExport } from '../../src/commands/audit/exportFile.js';
import { loadConfig, type Config } from '../../src/config.js';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  apiKey,
  bootstrapProjected,
  caughtUp,
  createOrg,
  grant,
  memberToken,
  type TestOrg,
} from '../support/auditOrgs.js';
import { POSTGRES_URL, probePostgres, serviceGate } from '../support/services.js';

const probe = await probePostgres();
const run = serviceGate('audit across organizations (PostgreSQL)', probe);

interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly lines: Record<string, unknown>[];
}

/** Runs `ledgerline audit …` in this process, capturing what it prints. */
async function cli(
  config: Config,
  sub: string,
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv,
  arg?: string,
): Promise<CliRun> {
  let stdout = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await runAudit(sub, arg, flags, config, env);
    return {
      code,
      stdout,
      lines: stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe.runIf(run)('an auditor organization reads another over REST and the CLI (PostgreSQL)', () => {
  let app: TestApp;
  let owner: TestOrg;
  let auditors: TestOrg;
  let auditor: string;
  let auditorKey: string;
  let grantId: string;
  let config: Config;
  let workDir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    app = await startTestApp('postgres');
    await bootstrapProjected(app);
    workDir = await mkdtemp(join(tmpdir(), 'ledgerline-audit-cli-'));
    owner = await createOrg(app, 'owner');
    auditors = await createOrg(app, 'auditors');
    auditor = await memberToken(app, auditors, 'auditor');
    auditorKey = await apiKey(app, auditors.adminToken, ['audit:read']);
    for (const address of ['assets:cash', 'customers:c1:wallet']) {
      const opened = await app.request('POST', '/v1/ledger/accounts', {
        token: owner.adminToken,
        body: { address, asset: 'KES', type: address.startsWith('assets') ? 'asset' : 'liability' },
      });
      expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    }
    const moved = await app.request('POST', '/v1/ledger/transfers', {
      token: owner.adminToken,
      body: {
        transfers: [
          {
            transferId: 't1',
            debitAccount: 'assets:cash',
            creditAccount: 'customers:c1:wallet',
            amount: '100.00',
          },
          {
            transferId: 't2',
            debitAccount: 'assets:cash',
            creditAccount: 'customers:c1:wallet',
            amount: '25.50',
          },
        ],
      },
    });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    await caughtUp(app, owner.adminToken, '/v1/ledger/accounts', moved.body.position as string);
    grantId = await grant(app, owner, auditors.orgId);
    config = loadConfig({
      DATABASE_URL: POSTGRES_URL,
      LEDGERLINE_DATABASE_SCHEMA: app.schema ?? '',
      LEDGERLINE_DATA_DIR: app.dataDir,
      LOG_LEVEL: 'silent',
    });
    env = { LEDGERLINE_API_KEY: auditorKey };
  }, 120_000);

  afterAll(async () => {
    await app.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('verifies the other organization over REST and the CLI, and the CLI answers 404 without a grant', async () => {
    const rest = await app.request('GET', `/v1/audit/verify?grantId=${grantId}`, { token: auditor });
    expect(rest.status, JSON.stringify(rest.body)).toBe(200);
    expect(rest.body).toMatchObject({ orgId: owner.orgId, ok: true });

    const verified = await cli(config, 'verify', { org: owner.orgId }, env);
    expect(verified.code).toBe(0);
    expect(verified.lines[0]).toMatchObject({ orgId: owner.orgId, ok: true });
    expect(verified.lines[0]?.['eventsChecked']).toBeGreaterThanOrEqual(rest.body.eventsChecked as number);

    // The owner's own key without audit:read reads nothing of the trail, as over REST.
    const ledgerOnly = await apiKey(app, owner.adminToken, ['ledger:read']);
    await expect(
      cli(config, 'verify', { org: owner.orgId }, { LEDGERLINE_API_KEY: ledgerOnly }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN', details: { requiredScope: 'audit:read' } });

    const stranger = await createOrg(app, 'stranger');
    const strangerKey = await apiKey(app, stranger.adminToken, ['audit:read']);
    await expect(
      cli(config, 'verify', { org: owner.orgId }, { LEDGERLINE_API_KEY: strangerKey }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('exports over REST and the CLI; both verify with the public key alone', async () => {
    const publicKey = verifyingKey(await readFile(join(app.dataDir, AUDIT_PUBLIC_KEY_FILE), 'utf8'));
    const rest = await app.request('GET', `/v1/audit/export?grantId=${grantId}`, { token: auditor });
    expect(rest.status, JSON.stringify(rest.body)).toBe(200);
    expect(rest.body.manifest).toMatchObject({ orgId: owner.orgId, keyId: publicKey.keyId });
    const restCheck = await verifyExport([Buffer.from(rest.body.file as string)], publicKey);
    expect(restCheck.problems).toEqual([]);

    const file = join(workDir, 'owner.jsonl');
    const exported = await cli(config, 'export', { org: owner.orgId, out: file }, env);
    expect(exported.code).toBe(0);
    const checked = await cli(
      config,
      'verify-export',
      { 'public-key': join(app.dataDir, AUDIT_PUBLIC_KEY_FILE) },
      {},
      file,
    );
    expect(checked.code).toBe(0);
    expect(checked.lines[0]).toMatchObject({ ok: true, problems: [] });

    const text = await readFile(file, 'utf8');
    const tampered = join(workDir, 'tampered.jsonl');
    await writeFile(tampered, text.replace('"100.00"', '"900.00"'));
    const refused = await cli(config, 'verify-export', {}, {}, tampered);
    expect(refused.code).toBe(1);
    expect(refused.lines[0]?.['ok']).toBe(false);
  });

  it('replays the other organization’s read models and reports exactly the corrupted row', async () => {
    const clean = await cli(config, 'replay', { org: owner.orgId }, env);
    expect(clean.code, clean.stdout).toBe(0);
    await app.server.runtime.db.query(
      `UPDATE rm_ledger_accounts SET credits_posted = credits_posted + 1 WHERE org_id = $1 AND address = $2`,
      [owner.orgId, 'customers:c1:wallet'],
    );
    const replayed = await cli(config, 'replay', { org: owner.orgId }, env);
    expect(replayed.code).toBe(1);
    const differences = replayed.lines.flatMap((line) => (line['difference'] ? [line['difference']] : []));
    expect(differences).toEqual([
      {
        table: 'rm_ledger_accounts',
        key: { org_id: owner.orgId, address: 'customers:c1:wallet' },
        column: 'credits_posted',
        live: 126.5,
        rebuilt: 125.5,
      },
    ]);
    expect(replayed.lines.at(-1)).toMatchObject({ summary: { ok: false, differingRows: 1 } });
    await app.server.runtime.db.query(
      `UPDATE rm_ledger_accounts SET credits_posted = credits_posted - 1 WHERE org_id = $1 AND address = $2`,
      [owner.orgId, 'customers:c1:wallet'],
    );
  });

  it('finds an event row edited in SQL, at its stream and revision, over REST and the CLI', async () => {
    const stream = `${owner.orgId}.ledger-main`;
    await app.server.runtime.db.query(
      `UPDATE ll_events SET data = data || '{"note":"edited"}'::jsonb WHERE stream_name = $1 AND stream_revision = 2`,
      [stream],
    );
    const rest = await app.request('GET', `/v1/audit/verify?grantId=${grantId}`, { token: auditor });
    expect(rest.body).toMatchObject({
      ok: false,
      brokenLink: { stream, revision: '2', reason: 'content_changed' },
    });
    const verified = await cli(config, 'verify', { org: owner.orgId }, env);
    expect(verified.code).toBe(1);
    expect(verified.lines[0]).toMatchObject({ ok: false, brokenLink: { stream, revision: '2' } });
  });

  it('lists every read made under the grant in the owner’s access log, REST and CLI alike', async () => {
    const operator = await cli(config, 'access-log', { org: owner.orgId, grant: grantId }, {});
    expect(operator.code).toBe(0);
    const operations = operator.lines.map((line) => line['operation']);
    expect(operations).toEqual(
      expect.arrayContaining(['audit_verify_stream', 'audit_export', 'audit_replay']),
    );
    expect(operator.lines.filter((line) => line['operation'] === 'audit_replay')).toHaveLength(2);
    expect(new Set(operator.lines.map((line) => (line['actor'] as { kind: string }).kind))).toEqual(
      new Set(['member', 'api_key']),
    );
  });
});
