/**
 * MCP clients for tests: the SDK's own Client over the in-memory transport (wired to a real
 * server's services), over Streamable HTTP and over the legacy SSE transport.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { authenticate } from '../../src/adapters/http/authenticate.js';
import { COMMANDS, QUERIES } from '../../src/commands/registry.js';
import { LedgerlineError } from '../../src/domain/errors.js';
import { buildMcpCatalog } from '../../src/mcp/catalog.js';
import type { ChangeSource } from '../../src/mcp/changes.js';
import { createMcpSession, type McpSession } from '../../src/mcp/server.js';
import type { TestApp } from '../support/app.js';

export const CLIENT_INFO = { name: 'ledgerline-test-agent', version: '9.8.7' };

export interface Connected {
  readonly client: Client;
  readonly session?: McpSession;
  close(): Promise<void>;
}

export async function connectInMemory(
  app: TestApp,
  apiKey: string,
  options: { readonly changes?: ChangeSource } = {},
): Promise<Connected> {
  const services = app.server.runtime.services;
  const session = createMcpSession({
    ...(options.changes ? { changes: options.changes } : {}),
    services,
    catalog: buildMcpCatalog(COMMANDS, QUERIES),
    principalOf: async () => {
      const principal = await authenticate(`Bearer ${apiKey}`, services, { kind: 'mcp' }, 'test');
      if (!principal) throw new LedgerlineError('UNAUTHENTICATED');
      return principal;
    },
    clientAddress: 'in-memory',
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await session.server.connect(serverSide);
  const client = new Client(CLIENT_INFO);
  await client.connect(clientSide);
  return {
    client,
    session,
    async close() {
      await client.close();
      session.dispose();
    },
  };
}

export async function connectHttp(app: TestApp, apiKey: string): Promise<Connected> {
  const transport = new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${apiKey}` } },
  });
  const client = new Client(CLIENT_INFO);
  await client.connect(transport);
  return {
    client,
    async close() {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

export async function connectSse(app: TestApp, apiKey: string): Promise<Connected> {
  const authorization = `Bearer ${apiKey}`;
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- the legacy transport is tested on purpose
  const transport = new SSEClientTransport(new URL(`${app.url}/sse`), {
    requestInit: { headers: { authorization } },
    eventSourceInit: {
      fetch: (url, init) =>
        fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), authorization } }),
    },
  });
  const client = new Client(CLIENT_INFO);
  await client.connect(transport);
  return {
    client,
    async close() {
      await client.close();
    },
  };
}

/** The structured answer of a tool call, whether it succeeded or not. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers freely
export function structured(result: unknown): any {
  return (result as { structuredContent?: unknown }).structuredContent;
}
