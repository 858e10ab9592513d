/**
 * `ledgerline audit …` on the embedded default (PGlite in a data folder, no server running), as
 * the platform operator: verify, replay (clean, then a corrupted and a deleted read-model row,
 * each reported exactly, and the scratch schema gone afterwards), export and verify-export, and
 * a grant given, listed and revoked from the command line.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openPglite } from '../../src/adapters/db/pgliteDatabase.js';
import { runAudit } from '../../src/cli/audit.js';
import { loadConfig, type Config } from '../../src/config.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { bootstrapProjected, caughtUp, createOrg, type TestOrg } from '../support/auditOrgs.js';

interface CliRun {
  readonly code: number;
  readonly lines: Record<string, unknown>[];
}

async function cli(
  config: Config,
  sub: string,
  flags: Record<string, string>,
  arg?: string,
): Promise<CliRun> {
  let stdout = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await runAudit(sub, arg, flags, config, {});
    const lines = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { code, lines };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

async function sql(dataDir: string, text: string, params: unknown[]): Promise<void> {
  const db = await openPglite({ dataDir });
  try {
    await db.query(text, params);
  } finally {
    await db.close();
  }
}

describe('ledgerline audit on the embedded default (PGlite)', () => {
  let app: TestApp;
  let owner: TestOrg;
  let other: TestOrg;
  let config: Config;

  beforeAll(async () => {
    app = await startTestApp('pglite');
    await bootstrapProjected(app);
    owner = await createOrg(app, 'owner');
    other = await createOrg(app, 'other');
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
            amount: '40.00',
          },
        ],
      },
    });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    await caughtUp(app, owner.adminToken, '/v1/ledger/accounts', moved.body.position as string);
    // The data folder is the CLI's now: one process at a time.
    await app.server.close();
    config = loadConfig({ LEDGERLINE_DATA_DIR: app.dataDir, LOG_LEVEL: 'silent' });
  }, 120_000);

  afterAll(async () => {
    await rm(app.dataDir, { recursive: true, force: true });
  });

  it('verifies the organization', async () => {
    const verified = await cli(config, 'verify', { org: owner.orgId });
    expect(verified.code).toBe(0);
    expect(verified.lines[0]).toMatchObject({ orgId: owner.orgId, ok: true, brokenLink: null });
  });

  it('replays cleanly, then reports a corrupted and a deleted row exactly, and leaves no scratch schema', async () => {
    const clean = await cli(config, 'replay', { org: owner.orgId });
    expect(clean.code).toBe(0);
    expect(clean.lines.at(-1)).toMatchObject({ summary: { ok: true, differingRows: 0 } });

    await sql(
      app.dataDir,
      `UPDATE rm_ledger_accounts SET debits_posted = 41 WHERE org_id = $1 AND address = $2`,
      [owner.orgId, 'assets:cash'],
    );
    await sql(app.dataDir, `DELETE FROM rm_ledger_transfers WHERE org_id = $1 AND transfer_id = $2`, [
      owner.orgId,
      't1',
    ]);
    const replayed = await cli(config, 'replay', { org: owner.orgId, projection: 'ledger' });
    expect(replayed.code).toBe(1);
    const differences = replayed.lines.flatMap((line) =>
      line['difference'] ? [line['difference']] : [],
    ) as {
      table: string;
      key: Record<string, unknown>;
      column: string | null;
      live: unknown;
      rebuilt: unknown;
    }[];
    expect(differences.map(({ table, key, column, live }) => ({ table, key, column, live }))).toEqual([
      {
        table: 'rm_ledger_accounts',
        key: { org_id: owner.orgId, address: 'assets:cash' },
        column: 'debits_posted',
        live: 41,
      },
      {
        table: 'rm_ledger_transfers',
        key: { org_id: owner.orgId, transfer_id: 't1' },
        column: null,
        live: null,
      },
    ]);
    expect(differences[0]?.rebuilt).toBe(40);
    expect(differences[1]?.rebuilt).toMatchObject({ transfer_id: 't1', amount: 40 });

    const db = await openPglite({ dataDir: app.dataDir });
    try {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM information_schema.schemata WHERE schema_name LIKE 'll_replay_%'`,
      );
      expect(rows[0]?.n).toBe('0');
    } finally {
      await db.close();
    }
  });

  it('exports and verifies the export with the data folder’s key', async () => {
    const file = join(app.dataDir, 'owner-export.jsonl');
    const exported = await cli(config, 'export', { org: owner.orgId, out: file });
    expect(exported.code).toBe(0);
    expect((await readFile(file, 'utf8')).trimEnd().split('\n').length).toBeGreaterThan(4);
    expect(await readdir(app.dataDir)).toEqual(
      expect.arrayContaining(['audit-signing-key.pem', 'audit-signing-key.pub.pem']),
    );
    const checked = await cli(config, 'verify-export', {}, file);
    expect(checked.code).toBe(0);
    expect(checked.lines[0]).toMatchObject({ ok: true });
  });

  it('gives, lists and revokes a grant', async () => {
    const given = await cli(config, 'grant', {
      org: owner.orgId,
      'auditor-org': other.orgId,
      scopes: 'audit:read,ledger:read',
      expires: new Date(Date.now() + 86_400_000).toISOString(),
      reason: 'annual audit',
    });
    expect(given.code).toBe(0);
    const grantId = given.lines[0]?.['grantId'] as string;
    expect(grantId).toMatch(/^grt_/);
    const listed = await cli(config, 'grants', { org: owner.orgId });
    expect(listed.lines).toEqual([
      expect.objectContaining({ grantId, status: 'active', granteeOrgId: other.orgId }),
    ]);
    const held = await cli(config, 'grants', { org: other.orgId, as: 'grantee' });
    expect(held.lines.map((line) => line['grantId'])).toEqual([grantId]);
    const revoked = await cli(config, 'revoke', { org: owner.orgId, grant: grantId });
    expect(revoked.lines[0]).toMatchObject({ grantId, status: 'revoked' });
    const after = await cli(config, 'grants', { org: owner.orgId });
    expect(after.lines).toEqual([expect.objectContaining({ grantId, status: 'revoked' })]);
  });
});
