/**
 * Hostile arguments on every tool (SPEC §3: a clear error naming the field, nothing written):
 * fast-check throws arbitrary JSON at each tool's input. A call either is refused as a tool
 * error with a registry code (never INTERNAL) and writes nothing, or its arguments really were
 * valid for the command. Arguments that are not an object at all are protocol errors. Never a
 * crash: the session answers a well-formed call afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { COMMANDS, QUERIES } from '../../src/commands/registry.js';
import { ERRORS } from '../../src/domain/errors.js';
import { buildMcpCatalog } from '../../src/mcp/catalog.js';
import { splitArguments } from '../../src/mcp/toolSpecs.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { connectInMemory, structured, type Connected } from './support.js';

const RUNS_PER_TOOL = 40;
const TOOLS = buildMcpCatalog(COMMANDS, QUERIES).tools;

/** Arguments shaped like each tool's own: its property names, with any JSON as values. */
function argumentsFor(properties: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const names = fc.oneof(
    fc.constantFrom(...properties, 'idempotency_key', '__proto__', 'orgId'),
    fc.string({ maxLength: 12 }),
  );
  return fc.dictionary(names, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
}

describe('bad arguments on every tool', () => {
  let app: TestApp;
  let admin: Connected;
  let platform: Connected;

  beforeAll(async () => {
    app = await startTestApp('pglite');
    admin = await connectInMemory(app, app.demoKey);
    platform = await connectInMemory(app, app.adminKey);
  });
  afterAll(async () => {
    await admin.close();
    await platform.close();
    await app.close();
  });

  for (const tool of TOOLS) {
    it(`${tool.name}: arbitrary JSON is a clear tool error, never a crash, never a write`, async () => {
      const client =
        tool.definition.kind === 'command' && tool.definition.command.audience === 'platform'
          ? platform.client
          : admin.client;
      const properties = Object.keys(tool.inputSchema['properties'] ?? {});
      await fc.assert(
        fc.asyncProperty(argumentsFor(properties), async (args) => {
          const before = await app.server.runtime.store.countEvents?.();
          const result = await client.callTool({ name: tool.name, arguments: args });
          const body = structured(result);
          if (result.isError === true) {
            expect(Object.keys(ERRORS), JSON.stringify(body)).toContain(body.error.code);
            expect(body.error.code, JSON.stringify(body)).not.toBe('INTERNAL');
            if (body.error.code === 'VALIDATION_FAILED')
              expect(body.error.details.field, JSON.stringify(body)).toBeTypeOf('string');
            expect(await app.server.runtime.store.countEvents?.(), JSON.stringify(args)).toBe(before);
            return;
          }
          // It ran: then its arguments were valid for the command.
          // The SDK reads arguments as a record by assignment, which drops a `__proto__` key.
          const received: Record<string, unknown> = {};
          for (const [key, value] of Object.entries(args)) received[key] = value;
          const { input } = splitArguments(received);
          const schema =
            tool.definition.kind === 'command' ? tool.definition.command.input : tool.definition.query.params;
          expect(schema.safeParse(input).success, JSON.stringify(args)).toBe(true);
        }),
        { numRuns: RUNS_PER_TOOL },
      );
    });
  }

  it('refuses what no event can store as sent, naming the field: never a 500, never silently dropped', async () => {
    const transfer = (extra: Record<string, unknown>) => ({
      transfers: [
        {
          transferId: 'mcp-unstorable',
          debitAccount: 'world:KES',
          creditAccount: 'assets:x:y',
          amount: '1.00',
          ...extra,
        },
      ],
    });
    const cases: [Record<string, unknown>, string][] = [
      // As over stdio, where the SDK's JSON.parse keeps "__proto__" as an own key (a record
      // would drop it without a word); over HTTP, fastify refuses such a body before MCP.
      [
        transfer({ metadata: JSON.parse('{"__proto__":"x","order":"o-1"}') as unknown }),
        'transfers[0].metadata',
      ],
      [transfer({ metadata: { order: 'a\u0000b' } }), 'transfers[0].metadata.order'],
      [transfer({ reference: 'a\ud800b' }), 'transfers[0].reference'],
    ];
    for (const [args, field] of cases) {
      const before = await app.server.runtime.store.countEvents?.();
      const result = await admin.client.callTool({ name: 'ledger_create_transfers', arguments: args });
      const body = structured(result);
      expect(result.isError, JSON.stringify(body)).toBe(true);
      expect(body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field } });
      expect(await app.server.runtime.store.countEvents?.()).toBe(before);
    }
  });

  it('answers arguments that are not an object with a protocol error, and keeps serving', async () => {
    for (const args of [[1, 2], 'text', 42, null, true]) {
      await expect(
        admin.client.request(
          { method: 'tools/call', params: { name: 'ledger_get_balance', arguments: args as never } },
          // The result schema does not matter: the call must fail.
          (await import('@modelcontextprotocol/sdk/types.js')).CallToolResultSchema,
        ),
      ).rejects.toBeInstanceOf(McpError);
    }
    const { tools } = await admin.client.listTools();
    expect(tools.length).toBeGreaterThan(0);
  });
});
