import type { FastifyInstance } from 'fastify';
import { buildApp } from '../adapters/http/app.js';
import { closeServer } from '../adapters/http/closeServer.js';
import { COMMANDS, QUERIES } from '../commands/registry.js';
import type { Config } from '../config.js';
import { startExpirySweeper } from '../commands/ledger/expirySweeper.js';
import { CARD_RESOLVER_DEFAULTS, startCardResolver } from '../commands/payments/cardResolver.js';
import { RESOLVER_DEFAULTS, startMpesaResolver } from '../commands/payments/mpesaResolver.js';
import { RESUMER_DEFAULTS, startPayoutResumer } from '../commands/payments/payoutResumer.js';
import { bootstrap } from './admin.js';
import type { FeedSessionOptions } from '../adapters/feed/session.js';
import { say } from './output.js';
import { openRuntime, type Runtime } from './runtime.js';
import { startApprovalSweeper } from '../commands/approvals/sweeper.js';
import { buildMcpCatalog } from '../mcp/catalog.js';
import { MCP_PATH, registerMcpRoutes } from '../mcp/http.js';
import { originPolicy } from '../mcp/originGuard.js';
import { busChanges } from '../mcp/changes.js';

/** Time allowed for in-flight requests to finish on shutdown. */
const SHUTDOWN_GRACE_MS = 10_000;
/**
 * How long a first start waits for the read models to hold the keys it prints: a key shown to
 * the user must work on the first request, and credentials are read from the read models.
 */
const BOOTSTRAP_PROJECTION_WAIT_MS = 30_000;

export interface RunningServer {
  readonly address: string;
  readonly runtime: Runtime;
  readonly app: FastifyInstance;
  /** What the first start created (keys shown once), or null. */
  readonly bootstrapped: Awaited<ReturnType<typeof bootstrap>>;
  close(): Promise<void>;
}

/** Opens the stores, applies migrations, bootstraps an empty store, and listens. */
export async function startServer(
  config: Config,
  options: {
    logStream?: { write(line: string): void };
    /** Live-feed tuning (tests shorten the heartbeat and the buffer). */
    feed?: FeedSessionOptions;
  } = {},
): Promise<RunningServer> {
  const runtime = await openRuntime(config, {
    startPublisher: true,
    ...(options.logStream ? { logStream: options.logStream } : {}),
  });
  let app: FastifyInstance | null = null;
  try {
    const bootstrapped = await bootstrap(runtime.services);
    if (bootstrapped && runtime.projector) {
      const caughtUp = await runtime.services.consistency.waitForCaughtUp(BOOTSTRAP_PROJECTION_WAIT_MS);
      if (!caughtUp)
        runtime.services.log.warn('the read models are behind; the printed keys work once they catch up');
    }
    const rest = config.mode !== 'mcp';
    const mcp = config.mode !== 'rest';
    const services = runtime.services;
    app = await buildApp({
      db: runtime.db,
      store: runtime.store,
      logger: services.log,
      services,
      commands: rest ? COMMANDS : [],
      queries: rest ? QUERIES : [],
      plugins: mcp
        ? [
            (fastify) => {
              registerMcpRoutes(fastify, {
                services,
                catalog: buildMcpCatalog(COMMANDS, QUERIES),
                origins: originPolicy(config.host, config.mcpAllowedOrigins, config.mcpAllowedHosts),
                changes: busChanges(runtime.bus),
              });
            },
          ]
        : [],
      ...(rest ? { feed: { hub: runtime.feed, ...(options.feed ?? {}) } } : {}),
      // /ready reports the bus when it is NATS (the in-process bus cannot be down).
      publisher: config.natsUrl === null ? null : runtime.publisher,
    });
    const address = await app.listen({ port: config.port, host: config.host });
    // Providers call back at the configured public URL, else at the address just bound.
    runtime.services.payments.callbacks.setPublicUrl(address);
    const listening = app;
    const sweeper = startExpirySweeper(runtime.services);
    const resolver = startMpesaResolver(runtime.services, {
      intervalMs: config.mpesaResolver.intervalMs ?? RESOLVER_DEFAULTS.intervalMs,
      graceMs: config.mpesaResolver.graceMs ?? RESOLVER_DEFAULTS.graceMs,
      batchMax: RESOLVER_DEFAULTS.batchMax,
      attemptsMax: config.mpesaResolver.attemptsMax ?? RESOLVER_DEFAULTS.attemptsMax,
    });
    const cardResolver = startCardResolver(runtime.services, {
      intervalMs: config.cardResolver.intervalMs ?? CARD_RESOLVER_DEFAULTS.intervalMs,
      graceMs: config.cardResolver.graceMs ?? CARD_RESOLVER_DEFAULTS.graceMs,
      batchMax: CARD_RESOLVER_DEFAULTS.batchMax,
      attemptsMax: config.cardResolver.attemptsMax ?? CARD_RESOLVER_DEFAULTS.attemptsMax,
    });
    const resumer = startPayoutResumer(runtime.services, {
      ...RESUMER_DEFAULTS,
      intervalMs: config.payoutResumer.intervalMs ?? RESUMER_DEFAULTS.intervalMs,
      graceMs: config.payoutResumer.graceMs ?? RESUMER_DEFAULTS.graceMs,
      // Never resumed past the reservation's lifetime: the reservations made for it are gone.
      maxAgeMs:
        config.payoutReservationSeconds === null
          ? RESUMER_DEFAULTS.maxAgeMs
          : config.payoutReservationSeconds * 1000,
    });
    const approvals = startApprovalSweeper(runtime.services);
    return {
      address,
      runtime,
      app: listening,
      bootstrapped,
      async close() {
        await closeServer(listening);
        await sweeper.stop();
        await resolver.stop();
        await cardResolver.stop();
        await resumer.stop();
        await approvals.stop();
        await runtime.close();
      },
    };
  } catch (error) {
    await app?.close();
    await runtime.close();
    throw error;
  }
}

/** `ledgerline serve`: runs until SIGINT or SIGTERM, then shuts down gracefully. */
export async function serve(config: Config): Promise<void> {
  const server = await startServer(config);
  say(`ledgerline listening on ${server.address}`);
  say(`  events:      ${server.runtime.store.description}`);
  say(`  read models: ${server.runtime.db.description}`);
  say(`  event bus:   ${server.runtime.bus.description}`);
  if (config.mode !== 'mcp') say(`  API docs:    ${server.address}/docs`);
  if (config.mode !== 'rest') {
    say(`  MCP:         ${server.address}${MCP_PATH} (Streamable HTTP; legacy SSE at /sse)`);
  }
  say(`  mode:        ${config.mode}`);
  const { applied } = server.runtime.migrations;
  if (applied.length > 0) say(`  migrations:  applied ${applied.join(', ')}`);
  if (server.bootstrapped) {
    const { platform, demo } = server.bootstrapped;
    say('');
    say('First start: created the platform admin and a demo organization. These keys are shown once:');
    say(`  platform admin API key:          ${platform.apiKey}`);
    say(`  demo organization (${demo.orgId}) admin API key: ${demo.apiKey}`);
    if (config.mode !== 'rest') {
      say('');
      say('Connect an MCP client (README "MCP"):');
      say(`  HTTP:  ${server.address}${MCP_PATH}  with header  Authorization: Bearer ${demo.apiKey}`);
      say(`  stdio: LEDGERLINE_API_KEY=${demo.apiKey} ledgerline mcp --url ${server.address}${MCP_PATH}`);
    }
    say('');
  }

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
