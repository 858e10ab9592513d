import type { FastifyInstance } from 'fastify';
import { buildApp } from '../adapters/http/app.js';
import type { Config } from '../config.js';
import { say } from './output.js';
import { openRuntime, type Runtime } from './runtime.js';

/** Time allowed for in-flight requests to finish on shutdown. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningServer {
  readonly address: string;
  readonly runtime: Runtime;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** Opens the stores, applies migrations and listens; `close` undoes all of it. */
export async function startServer(config: Config): Promise<RunningServer> {
  const runtime = await openRuntime(config);
  const app = buildApp({ db: runtime.db, store: runtime.store, logLevel: config.logLevel });
  let address: string;
  try {
    address = await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close();
    await runtime.close();
    throw error;
  }
  return {
    address,
    runtime,
    app,
    async close() {
      await app.close();
      await runtime.close();
    },
  };
}

/** `ledgerline serve`: runs until SIGINT or SIGTERM, then shuts down gracefully. */
export async function serve(config: Config): Promise<void> {
  const server = await startServer(config);
  say(`ledgerline listening on ${server.address}`);
  say(`  events:      ${server.runtime.store.description}`);
  say(`  read models: ${server.runtime.db.description}`);
  const { applied } = server.runtime.migrations;
  if (applied.length > 0) say(`  migrations:  applied ${applied.join(', ')}`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      say(`ledgerline: ${signal} received, shutting down`);
      const force = setTimeout(() => {
        say('ledgerline: shutdown took too long, exiting');
        process.exit(1);
      }, SHUTDOWN_GRACE_MS);
      force.unref();
      void server.close().finally(() => {
        resolve();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
