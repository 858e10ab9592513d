/**
 * `ledgerline mcp`: MCP over stdio for local clients. The API key comes from the environment
 * (LEDGERLINE_API_KEY). Either the process opens the configured stores itself, or, with
 * `--url`, it bridges stdio to a running server's /mcp. Nothing but protocol goes to stdout:
 * logs and messages go to stderr.
 */
import { randomUUID } from 'node:crypto';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { isJSONRPCRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { authenticate } from '../adapters/http/authenticate.js';
import { COMMANDS, QUERIES } from '../commands/registry.js';
import type { Services } from '../commands/context.js';
import type { Principal } from '../commands/principal.js';
import { LedgerlineError } from '../domain/errors.js';
import type { Config } from '../config.js';
import { openRuntime } from '../cli/runtime.js';
import { buildMcpCatalog } from './catalog.js';
import { createMcpSession } from './server.js';

export const API_KEY_VARIABLE = 'LEDGERLINE_API_KEY';

async function principalOf(services: Services, apiKey: string): Promise<Principal> {
  const principal = await authenticate(
    `Bearer ${apiKey}`,
    services,
    { kind: 'mcp' },
    `mcp_${randomUUID().replaceAll('-', '')}`,
  );
  if (!principal) throw new LedgerlineError('UNAUTHENTICATED', `Set ${API_KEY_VARIABLE} to an API key.`);
  return principal;
}

function until(transport: { onclose?: (() => void) | undefined }): Promise<void> {
  return new Promise((resolve) => {
    transport.onclose = resolve;
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/** Serves MCP on stdin/stdout from this process's own stores, until stdin closes. */
export async function serveStdio(config: Config, apiKey: string): Promise<void> {
  const runtime = await openRuntime(config, { logStream: process.stderr });
  try {
    const { services } = runtime;
    // Refuse a bad key at once, with a message on stderr, rather than on the first call.
    await principalOf(services, apiKey);
    const session = createMcpSession({
      services,
      catalog: buildMcpCatalog(COMMANDS, QUERIES),
      principalOf: () => principalOf(services, apiKey),
      clientAddress: 'stdio',
    });
    const transport = new StdioServerTransport();
    const closed = until(transport);
    await session.server.connect(transport);
    await closed;
    session.dispose();
    await session.server.close();
  } finally {
    await runtime.close();
  }
}

/** Relays stdin/stdout to a running server's /mcp (Streamable HTTP), with the key as bearer. */
export async function bridgeStdio(url: string, apiKey: string): Promise<void> {
  const remote = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${apiKey}` } },
  });
  const local = new StdioServerTransport();
  const closed = until(local);
  remote.onclose = () => {
    void local.close();
  };
  remote.onerror = (error) => {
    process.stderr.write(`ledgerline mcp: ${error.message}\n`);
  };
  remote.onmessage = (message: JSONRPCMessage) => {
    const result = 'result' in message ? (message.result as { protocolVersion?: unknown }) : undefined;
    if (typeof result?.protocolVersion === 'string') remote.setProtocolVersion(result.protocolVersion);
    void local.send(message);
  };
  local.onmessage = (message: JSONRPCMessage) => {
    remote.send(message).catch((error: unknown) => {
      const text = error instanceof Error ? error.message : String(error);
      process.stderr.write(`ledgerline mcp: ${text}\n`);
      if (isJSONRPCRequest(message)) {
        void local.send({
          jsonrpc: '2.0',
          id: message.id,
          error: { code: -32603, message: `Bridge: ${text}` },
        });
      }
    });
  };
  await remote.start();
  await local.start();
  await closed;
  await remote.terminateSession().catch(() => undefined);
  await remote.close();
}
