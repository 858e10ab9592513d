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
import type { FeedSessionOptions } from '../../src/adapters/feed/session.js';
import { dropSchema, uniqueSchemaName } from './databases.js';
import { POSTGRES_URL } from './services.js';

export type Backend = 'pglite' | 'postgres';

export interface TestApp {
  readonly backend: Backend;
  readonly url: string;
  readonly server: RunningServer;
  /** Where the server keeps its files (PGlite, key files). */
  readonly dataDir: string;
  /** The PostgreSQL schema it keeps its tables in (null on PGlite). */
  readonly schema: string | null;
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

function keysOf(app: TestApp): {
  platform: { apiKey: string };
  demo: { orgId: string; apiKey: string };
} {
  return { platform: { apiKey: app.adminKey }, demo: { orgId: app.demoOrgId, apiKey: app.demoKey } };
}

/** Low scrypt cost keeps tests quick; the stored hash records its own parameters. */
const TEST_PASSWORD_COST = '10';

export interface TestAppOptions {
  readonly logLevel?: string;
  readonly logStream?: { write(line: string): void };
  /** More environment (NATS_URL and its stream, for one). */
  readonly env?: Readonly<Record<string, string>>;
  /** Live-feed tuning (a short heartbeat, a small buffer). */
  readonly feed?: FeedSessionOptions;
  /**
   * Per-organization rate limits and quota: off unless asked for, because most suites send far
   * more requests a minute than the demo organization's free plan allows (limits have suites
   * of their own).
   */
  readonly limits?: boolean;
  /** Another server on the same PostgreSQL schema as this app (multi-process tests). */
  readonly sameSchemaAs?: TestApp;
}

export async function startTestApp(backend: Backend, options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ledgerline-test-'));
  const shared = options.sameSchemaAs?.schema ?? null;
  const schema = shared ?? (backend === 'postgres' ? uniqueSchemaName('app') : null);
  const server = await startServer(
    loadConfig({
      PORT: '0',
      LOG_LEVEL: options.logLevel ?? 'silent',
      LEDGERLINE_DATA_DIR: dataDir,
      LEDGERLINE_PASSWORD_COST: TEST_PASSWORD_COST,
      // The M-Pesa simulator calls back at once: tests wait for states, never for clocks.
      LEDGERLINE_SIMULATOR_DELAY_MS: '0',
      ...(backend === 'postgres'
        ? { DATABASE_URL: POSTGRES_URL, LEDGERLINE_DATABASE_SCHEMA: schema ?? '' }
        : {}),
      LEDGERLINE_LIMITS: options.limits === true ? 'on' : 'off',
      ...(options.env ?? {}),
    }),
    {
      ...(options.logStream ? { logStream: options.logStream } : {}),
      ...(options.feed ? { feed: options.feed } : {}),
    },
  );
  const keys = server.bootstrapped ?? (options.sameSchemaAs ? keysOf(options.sameSchemaAs) : null);
  if (!keys) throw new Error('a fresh test app must bootstrap');
  const { platform, demo } = keys;
  const url = server.address;
  return {
    backend,
    url,
    server,
    dataDir,
    schema,
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
      // The first server of a shared schema drops it.
      if (schema && !shared) await dropSchema(schema);
    },
  };
}
