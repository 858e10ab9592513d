/**
 * The HTTP edges of MCP: the bearer credential (401 with a WWW-Authenticate challenge), Origin
 * and Host checks (403), sessions bound to the credential that opened them, resumable streams
 * (Last-Event-ID replays what a client missed), the legacy SSE endpoints, and the serve modes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { startServer } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { CLIENT_INFO } from './support.js';

const ACCEPT = 'application/json, text/event-stream';

function initialize(id = 1): Record<string, unknown> {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO },
  };
}

interface SseEvent {
  readonly id: string | null;
  readonly data: string;
}

function sseEvents(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const id =
        lines
          .find((line) => line.startsWith('id:'))
          ?.slice(3)
          .trim() ?? null;
      const data = lines
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        .join('\n');
      return { id, data };
    });
}

describe('MCP over HTTP', () => {
  let app: TestApp;

  async function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${app.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
      body: JSON.stringify(body),
    });
  }

  async function open(key: string): Promise<string> {
    const response = await post(initialize(), { authorization: `Bearer ${key}` });
    expect(response.status).toBe(200);
    await response.text();
    const session = response.headers.get('mcp-session-id');
    expect(session).toBeTruthy();
    const ready = await post(
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      {
        authorization: `Bearer ${key}`,
        'mcp-session-id': session!,
        'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
      },
    );
    expect(ready.status).toBe(202);
    return session!;
  }

  beforeAll(async () => {
    app = await startTestApp('pglite');
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers no credential with 401 and a Bearer challenge, and a bad one with invalid_token', async () => {
    const none = await post(initialize());
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm="ledgerline"/);
    const bad = await post(initialize(), { authorization: 'Bearer lk_live_nope' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const sse = await fetch(`${app.url}/sse`);
    expect(sse.status).toBe(401);
    expect(sse.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('refuses a foreign Origin and a foreign Host with 403, even with a good key', async () => {
    const origin = await post(initialize(), {
      authorization: `Bearer ${app.demoKey}`,
      origin: 'https://evil.example',
    });
    expect(origin.status).toBe(403);
    const local = await post(initialize(), {
      authorization: `Bearer ${app.demoKey}`,
      origin: 'http://localhost:5173',
    });
    expect(local.status).toBe(200);
    await local.text();
    // fetch will not forge Host: talk HTTP by hand.
    const { request } = await import('node:http');
    const url = new URL(`${app.url}/mcp`);
    const status = await new Promise<number>((resolve, reject) => {
      const outgoing = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/mcp',
          method: 'POST',
          headers: {
            host: 'rebound.evil.example',
            'content-type': 'application/json',
            accept: ACCEPT,
            authorization: `Bearer ${app.demoKey}`,
          },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(JSON.stringify(initialize()));
    });
    expect(status).toBe(403);
  });

  it('binds a session to the credential that opened it, and needs initialize first', async () => {
    const session = await open(app.demoKey);
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    const theirs = await post(list, {
      authorization: `Bearer ${app.adminKey}`,
      'mcp-session-id': session,
      'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
    });
    expect(theirs.status).toBe(404);
    const none = await post(list, { authorization: `Bearer ${app.demoKey}` });
    expect(none.status).toBe(400);
    const mine = await post(list, {
      authorization: `Bearer ${app.demoKey}`,
      'mcp-session-id': session,
      'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
    });
    expect(mine.status).toBe(200);
    expect(await mine.text()).toContain('ledger_create_transfers');
    const closed = await fetch(`${app.url}/mcp`, {
      method: 'DELETE',
      headers: {
        authorization: `Bearer ${app.demoKey}`,
        'mcp-session-id': session,
        'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
      },
    });
    expect(closed.status).toBe(200);
    const gone = await post(list, {
      authorization: `Bearer ${app.demoKey}`,
      'mcp-session-id': session,
      'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
    });
    expect(gone.status).toBe(404);
  });

  it('replays what a client missed when it comes back with Last-Event-ID', async () => {
    const session = await open(app.demoKey);
    const headers = {
      authorization: `Bearer ${app.demoKey}`,
      'mcp-session-id': session,
      'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
    };
    const answered = await post({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} }, headers);
    const events = sseEvents(await answered.text());
    const withIds = events.filter((event) => event.id !== null);
    expect(withIds.length).toBeGreaterThanOrEqual(1);
    const response = events.find((event) => event.data.includes('"id":7'));
    expect(response?.id).toBeTruthy();
    // Resume from before the answer (the stream's first event id): the answer comes again.
    const first = withIds[0]!;
    // The stream opens with a priming event (an id and no message), so there is a place before the answer.
    expect(first.id).not.toBe(response!.id);
    const resumed = await fetch(`${app.url}/mcp`, {
      method: 'GET',
      headers: { ...headers, accept: 'text/event-stream', 'last-event-id': first.id! },
    });
    expect(resumed.status).toBe(200);
    const reader = resumed.body!.getReader();
    let text = '';
    for (let reads = 0; reads < 100 && !text.includes('"id":7'); reads += 1) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).toContain('"id":7');
    expect(text).toContain(`id: ${response!.id!}`);
  });

  it('answers an unknown legacy SSE session with 404', async () => {
    const response = await fetch(`${app.url}/messages?sessionId=nope`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.demoKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(response.status).toBe(404);
  });
});

describe('serve modes', () => {
  for (const mode of ['rest', 'mcp'] as const) {
    it(`--mode ${mode} serves ${mode === 'rest' ? 'REST and no MCP' : 'MCP and no REST'}`, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'ledgerline-mode-'));
      const server = await startServer(
        loadConfig({
          PORT: '0',
          LOG_LEVEL: 'silent',
          LEDGERLINE_DATA_DIR: dataDir,
          LEDGERLINE_PASSWORD_COST: '10',
          LEDGERLINE_MODE: mode,
        }),
      );
      try {
        const key = server.bootstrapped!.demo.apiKey;
        const rest = await fetch(`${server.address}/v1/organization`, {
          headers: { authorization: `Bearer ${key}` },
        });
        const mcp = await fetch(`${server.address}/mcp`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: ACCEPT },
          body: JSON.stringify(initialize()),
        });
        await mcp.text();
        expect(rest.status).toBe(mode === 'rest' ? 200 : 404);
        expect(mcp.status).toBe(mode === 'mcp' ? 200 : 404);
      } finally {
        await server.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  }
});
