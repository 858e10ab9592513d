import { buildApp } from '../adapters/http/app.js';
import type { Config } from '../config.js';
import { say } from './output.js';
import { openRuntime } from './runtime.js';

/** Time allowed for in-flight requests to finish on shutdown. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function serve(config: Config): Promise<void> {
  const runtime = await openRuntime(config);
  const app = buildApp({ db: runtime.db, store: runtime.store, logLevel: config.logLevel });
  let address: string;
  try {
    address = await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await runtime.close();
    throw error;
  }
  say(`ledgerline listening on ${address}`);
  say(`  events:      ${runtime.store.description}`);
  say(`  read models: ${runtime.db.description}`);
  if (runtime.migrations.applied.length > 0)
    say(`  migrations:  applied ${runtime.migrations.applied.join(', ')}`);

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
      void app
        .close()
        .then(() => runtime.close())
        .finally(() => {
          resolve();
        });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
