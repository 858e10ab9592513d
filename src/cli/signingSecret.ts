/**
 * The access-token signing secret: LEDGERLINE_JWT_SECRET, or for a single node a random key
 * generated once into the data folder with owner-only permissions. Several API nodes must
 * share LEDGERLINE_JWT_SECRET.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.js';

const KEY_FILE = 'jwt-signing.key';
const KEY_BYTES = 48;

export async function signingSecret(config: Config): Promise<Uint8Array> {
  if (config.jwtSecret !== null) return new TextEncoder().encode(config.jwtSecret);
  const path = join(config.dataDir, KEY_FILE);
  try {
    return Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(config.dataDir, { recursive: true });
  const key = randomBytes(KEY_BYTES);
  try {
    await writeFile(path, key.toString('base64'), { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    // Another process wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      return Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
    throw error;
  }
}
