/**
 * MCP tool-call latency (DESIGN.md, Performance), side by side with the same operation over
 * REST, against the bench's running server: a money-moving tool (`ledger_create_transfers`,
 * one transfer) and a read (`ledger_get_balance`), each from a few concurrent MCP sessions
 * over Streamable HTTP, then from as many REST clients. Both sides go through fetch (the MCP
 * SDK's transport uses it), so the difference is the protocol, not the HTTP client. Bounded in
 * count and time; loopback only.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { measure, type Measurement } from './measure.js';

/** Concurrent MCP sessions (one client each), and as many REST clients. */
export const MCP_SESSIONS = 8;
/** Calls per scenario, at most. */
export const MCP_CALLS = 2_000;
const SCENARIO_TIME_MAX_MS = 30_000;
const CLIENT_INFO = { name: 'ledgerline-bench', version: '1.0.0' };

export interface McpBenchResult {
  readonly transferMcp: Measurement;
  readonly transferRest: Measurement;
  readonly balanceMcp: Measurement;
  readonly balanceRest: Measurement;
}

interface Target {
  readonly url: string;
  readonly key: string;
  readonly debitAccount: string;
  readonly creditAccount: (index: number) => string;
}

async function connect(target: Target): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', target.url), {
    requestInit: { headers: { authorization: `Bearer ${target.key}` } },
  });
  const client = new Client(CLIENT_INFO);
  await client.connect(transport);
  return client;
}

function transfer(target: Target, id: string, index: number): Record<string, unknown> {
  return {
    transferId: id,
    debitAccount: target.debitAccount,
    creditAccount: target.creditAccount(index),
    amount: '1.00',
    code: 'payment',
  };
}

/** Calls a tool and fails the bench on a tool error: a refused call is not a measured one. */
async function call(client: Client, name: string, args: Record<string, unknown>): Promise<void> {
  const answer = await client.callTool({ name, arguments: args });
  if (answer.isError === true) throw new Error(`${name}: ${JSON.stringify(answer.content)}`);
}

type Rest = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: string }>;

function restClient(target: Target): Rest {
  const base = new URL(target.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname))
    throw new Error(`the bench measures loopback servers only, not ${base.hostname}`);
  return async (method, path, body) => {
    const answer = await fetch(new URL(path, base), {
      method,
      headers: {
        authorization: `Bearer ${target.key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: answer.status, body: await answer.text() };
  };
}

export async function mcpBench(target: Target): Promise<McpBenchResult> {
  const clients = await Promise.all(Array.from({ length: MCP_SESSIONS }, () => connect(target)));
  const rest = restClient(target);
  // Each worker keeps to its own session, as an agent does.
  const session = (index: number): Client => clients[index % MCP_SESSIONS] as Client;
  const balancePath = `/v1/ledger/accounts/${encodeURIComponent(target.creditAccount(0))}/balance`;
  try {
    const transferMcp = await measure({
      name: `MCP ledger_create_transfers, ${MCP_SESSIONS} sessions`,
      total: MCP_CALLS,
      concurrency: MCP_SESSIONS,
      eventsPerOperation: 1,
      timeMaxMs: SCENARIO_TIME_MAX_MS,
      operation: (i) =>
        call(session(i), 'ledger_create_transfers', { transfers: [transfer(target, `mcp_${i}`, i)] }),
    });
    const transferRest = await measure({
      name: `REST POST /v1/ledger/transfers, ${MCP_SESSIONS} clients`,
      total: MCP_CALLS,
      concurrency: MCP_SESSIONS,
      eventsPerOperation: 1,
      timeMaxMs: SCENARIO_TIME_MAX_MS,
      operation: async (i) => {
        const { status, body } = await rest('POST', '/v1/ledger/transfers', {
          transfers: [transfer(target, `rest_${i}`, i)],
        });
        if (status !== 200) throw new Error(`REST transfer ${i}: ${String(status)} ${body}`);
      },
    });
    const balanceMcp = await measure({
      name: `MCP ledger_get_balance, ${MCP_SESSIONS} sessions`,
      total: MCP_CALLS,
      concurrency: MCP_SESSIONS,
      eventsPerOperation: 1,
      timeMaxMs: SCENARIO_TIME_MAX_MS,
      operation: (i) => call(session(i), 'ledger_get_balance', { address: target.creditAccount(0) }),
    });
    const balanceRest = await measure({
      name: `REST GET …/balance, ${MCP_SESSIONS} clients`,
      total: MCP_CALLS,
      concurrency: MCP_SESSIONS,
      eventsPerOperation: 1,
      timeMaxMs: SCENARIO_TIME_MAX_MS,
      operation: async (i) => {
        const { status, body } = await rest('GET', balancePath);
        if (status !== 200) throw new Error(`REST balance ${i}: ${String(status)} ${body}`);
      },
    });
    return { transferMcp, transferRest, balanceMcp, balanceRest };
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}
