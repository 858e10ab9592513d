/**
 * The node flags a server runs with are said once (src/cli/serverFlags.ts): `npm start` must
 * pass them, and node must accept them (a mistyped flag stops node before it runs anything).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../../src/cli/serverFlags.js';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('server node flags', () => {
  it('npm start runs the server with every one of them', () => {
    const start = packageJson.scripts['start'] ?? '';
    expect(start).toMatch(/^node .* dist\/cli\/main\.js serve$/);
    for (const flag of SERVER_NODE_FLAGS) expect(start.split(' ')).toContain(flag);
  });

  it('node accepts them and runs with them', () => {
    const seen = execFileSync(
      process.execPath,
      [...SERVER_NODE_FLAGS, '-e', 'process.stdout.write(JSON.stringify(process.execArgv))'],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(seen)).toEqual(expect.arrayContaining([...SERVER_NODE_FLAGS]));
  });
});
