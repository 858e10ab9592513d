/**
 * The master key: LEDGERLINE_MASTER_KEY when set, otherwise a key file generated once in the
 * data folder with owner-only permissions (0600), read back on the next start. A bad value
 * stops the process naming the variable and never repeating the value.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { MASTER_KEY_FILE, vaultMasterKey } from '../../src/adapters/crypto/vaultMasterKey.js';
import { ValidationError } from '../../src/domain/errors.js';

const folders: string[] = [];
async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ledgerline-vault-'));
  folders.push(dir);
  return dir;
}

afterEach(async () => {
  for (const dir of folders.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('the vault master key', () => {
  it('is generated once into the data folder, mode 0600, and read back the same', async () => {
    const dataDir = join(await folder(), 'nested');
    const config = loadConfig({ LEDGERLINE_DATA_DIR: dataDir });
    const first = await vaultMasterKey(config);
    const path = join(dataDir, MASTER_KEY_FILE);
    expect(first.source).toBe(path);
    expect(first.key).toHaveLength(32);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const second = await vaultMasterKey(config);
    expect(second.key.equals(first.key)).toBe(true);
    expect((await readFile(path, 'utf8')).trim()).toBe(first.key.toString('base64'));
  });

  it('two processes starting at once settle on one key', async () => {
    const config = loadConfig({ LEDGERLINE_DATA_DIR: await folder() });
    const keys = await Promise.all(Array.from({ length: 8 }, () => vaultMasterKey(config)));
    for (const { key } of keys) expect(key.equals(keys[0]!.key)).toBe(true);
  });

  it('comes from LEDGERLINE_MASTER_KEY when set, and then no file is written', async () => {
    const dataDir = await folder();
    const text = randomBytes(32).toString('base64');
    const master = await vaultMasterKey(
      loadConfig({ LEDGERLINE_DATA_DIR: dataDir, LEDGERLINE_MASTER_KEY: text }),
    );
    expect(master.source).toBe('LEDGERLINE_MASTER_KEY');
    expect(master.key.toString('base64')).toBe(text);
    await expect(stat(join(dataDir, MASTER_KEY_FILE))).rejects.toThrow(/ENOENT/);
  });

  it.each([
    ['too short', randomBytes(16).toString('base64')],
    ['too long', randomBytes(33).toString('base64')],
    ['not base64', `${'!'.repeat(43)}=`],
  ])('refuses a LEDGERLINE_MASTER_KEY that is %s, naming it and not repeating it', (_what, value) => {
    let error: unknown;
    try {
      loadConfig({ LEDGERLINE_MASTER_KEY: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('LEDGERLINE_MASTER_KEY');
    expect((error as Error).message).not.toContain(value);
  });

  it('refuses a key file that does not hold 32 bytes', async () => {
    const dataDir = await folder();
    await writeFile(join(dataDir, MASTER_KEY_FILE), 'c2hvcnQ=\n', { mode: 0o600 });
    await expect(vaultMasterKey(loadConfig({ LEDGERLINE_DATA_DIR: dataDir }))).rejects.toThrow(/32 bytes/);
  });
});
