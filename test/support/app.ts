/**
 * A whole ledgerline server for HTTP tests: real fastify on a loopback port, on PGlite (in a
 * temporary folder) or on real PostgreSQL (in a schema of its own), bootstrapped, with the
 * platform admin's and the demo organization's keys at hand.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { dropSchema, uniqueSchemaName } from './databases.js';
import { POSTGRES_URL } from './services.js';

export type Backend = 'pglite' | 'postgres';

export interface TestApp {
  readonly backend: Backend;
  readonly url: string;
  readonly server: RunningServer;
  /** The platform super admin's API key. */
  readonly adminKey: string;
  /** The demo organization and its admin's API key. */
  readonly demoOrgId: string;
  readonly demoKey: string;
  /** JSON request helper: answers status, headers and parsed body. */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  readonly token?: string;
  readonly body?: unknown;
  /** Sent as is, for malformed-body tests. */
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
}

export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers freely
  readonly body: any;
}

/** Low scrypt cost keeps tests quick; the stored hash records its own parameters. */
const TEST_PASSWORD_COST = '10';

export async function startTestApp(
  backend: Backend,
  options: { logLevel?: string; logStream?: { write(line: string): void } } = {},
): Promise<TestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ledgerline-test-'));
  const schema = backend === 'postgres' ? uniqueSchemaName('app') : null;
  const server = await startServer(
    loadConfig({
      PORT: '0',
      LOG_LEVEL: options.logLevel ?? 'silent',
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_PASSWORD_COST: TEST_PASSWORD_COST,
      ...(backend === 'postgres'
        ? { DATABASE_URL: POSTGRES_URL, LEDGERLINE_DATABASE_SCHEMA: schema ?? '' }
        : {}),
    }),
    options.logStream ? { logStream: options.logStream } : {},
  );
  if (!server.bootstrapped) throw new Error('a fresh test app must bootstrap');
  const { platform, demo } = server.bootstrapped;
  const url = server.address;
  return {
    backend,
    url,
    server,
    adminKey: platform.apiKey,
    demoOrgId: demo.orgId,
    demoKey: demo.apiKey,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...(options.headers ?? {}) };
      if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
      let body: string | undefined;
      if (options.rawBody !== undefined) body = options.rawBody;
      else if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {
        // Not JSON: keep the text.
      }
      return { status: response.status, headers: response.headers, body: parsed };
    },
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
      if (schema) await dropSchema(schema);
    },
  };
}
