/**
 * The vault's master key, which wraps every organization's data key: LEDGERLINE_MASTER_KEY
 * (base64 of 32 bytes), or for the embedded default a random key generated once into the data
 * folder with owner-only permissions (0600). Several API nodes must share one
 * LEDGERLINE_MASTER_KEY; losing it makes every stored credential unreadable.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config.js';
import { MASTER_KEY_BYTES } from './vaultCipher.js';

export const MASTER_KEY_FILE = 'vault-master.key';

export interface MasterKey {
  readonly key: Buffer;
  /** `LEDGERLINE_MASTER_KEY`, or the key file's path. */
  readonly source: string;
}

function decode(text: string, source: string): MasterKey {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== MASTER_KEY_BYTES) {
    throw new Error(`${source}: the vault master key must be ${MASTER_KEY_BYTES} bytes, base64-encoded`);
  }
  return { key, source };
}

export async function vaultMasterKey(config: Config): Promise<MasterKey> {
  if (config.masterKey !== null) return decode(config.masterKey, 'LEDGERLINE_MASTER_KEY');
  const path = join(config.dataDir, MASTER_KEY_FILE);
  try {
    return decode(await readFile(path, 'utf8'), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(config.dataDir, { recursive: true });
  const key = randomBytes(MASTER_KEY_BYTES);
  try {
    await writeFile(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return { key, source: path };
  } catch (error) {
    // Another process wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return decode(await readFile(path, 'utf8'), path);
    throw error;
  }
}
