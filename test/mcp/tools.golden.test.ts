/**
 * The public tool surface, pinned: names, titles, annotations and both JSON schemas of every
 * tool the catalogs generate are compared with test/mcp/golden/tools.json, so any change to
 * what agents see is deliberate. After a deliberate change, regenerate the file with
 * `UPDATE_GOLDEN=1 npx vitest run test/mcp/tools.golden.test.ts` and review the diff.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, QUERIES } from '../../src/commands/registry.js';
import { buildMcpCatalog } from '../../src/mcp/catalog.js';

const GOLDEN = join(import.meta.dirname, 'golden/tools.json');

function surface(): unknown {
  return buildMcpCatalog(COMMANDS, QUERIES).tools.map((tool) => ({
    name: tool.name,
    title: tool.title,
    annotations: tool.annotations,
    inputSchema: tool.inputSchema,
    outputSchema: tool.outputSchema,
  }));
}

describe('tools/list golden file', () => {
  it('matches test/mcp/golden/tools.json (regenerate deliberately with UPDATE_GOLDEN=1)', async () => {
    const now = `${JSON.stringify(surface(), null, 2)}\n`;
    if (process.env['UPDATE_GOLDEN'] === '1') await writeFile(GOLDEN, now);
    const golden = await readFile(GOLDEN, 'utf8');
    expect(JSON.parse(now)).toEqual(JSON.parse(golden));
  });

  it('never offers approve_request, reject_request or the settings (the approval policy) as a tool', () => {
    const names = buildMcpCatalog(COMMANDS, QUERIES).tools.map((tool) => tool.name);
    expect(names).not.toContain('approve_request');
    expect(names).not.toContain('reject_request');
    expect(names).not.toContain('update_organization_settings');
  });

  it('has honest annotations: money-moving tools are destructive, reads read-only, changes idempotent with a key', () => {
    for (const tool of buildMcpCatalog(COMMANDS, QUERIES).tools) {
      const definition = tool.definition;
      if (definition.kind === 'query') {
        expect(tool.annotations.readOnlyHint, tool.name).toBe(true);
        expect(tool.annotations.destructiveHint, tool.name).toBe(false);
        continue;
      }
      expect(tool.annotations.readOnlyHint, tool.name).toBe(false);
      if (definition.command.movesMoney) expect(tool.annotations.destructiveHint, tool.name).toBe(true);
      expect(tool.annotations.openWorldHint, tool.name).toBe(
        definition.command.callsProvider ?? definition.command.annotations.openWorldHint ?? false,
      );
      if (definition.command.audience !== 'public') {
        expect(tool.annotations.idempotentHint, tool.name).toBe(true);
        expect(tool.inputSchema['properties'], tool.name).toHaveProperty('idempotency_key');
      }
      const input = JSON.stringify(tool.inputSchema);
      // The organization comes from the credential: no organization tool takes one (platform
      // tools name the organization they act on; logging in may name the one to log in to).
      if (definition.command.audience === 'organization') expect(input, tool.name).not.toMatch(/"orgId"/);
    }
  });
});
