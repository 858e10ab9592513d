/**
 * The HTTP skin: liveness and readiness, and the REST routes generated from the catalogs,
 * documented at /docs.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AnyCommand, AnyQuery } from '../../commands/catalog.js';
import type { Services } from '../../commands/context.js';
import type { Database } from '../db/database.js';
import type { EventStore } from '../eventstore/port.js';
import { registerCommand, registerQuery } from './catalogRoutes.js';
import { lazyChildLogger } from './lazyChildLogger.js';
import { errorHandler, notFoundHandler } from './errorHandler.js';
import { registerOpenApi } from './openapi.js';
import type { EventPublisher } from '../bus/publisher.js';
import { registerLiveFeed, type LiveFeedOptions } from './liveFeedRoutes.js';
import { registerMpesaCallbacks } from './mpesaCallbackRoute.js';
import { registerStripeWebhooks } from './stripeWebhookRoute.js';

export interface AppDependencies {
  readonly db: Database;
  readonly store: EventStore;
  readonly logger: FastifyBaseLogger;
  readonly services?: Services;
  readonly commands?: readonly AnyCommand[];
  readonly queries?: readonly AnyQuery[];
  /** The live event feed (`/v1/events`, `/v1/ws`). */
  readonly feed?: LiveFeedOptions;
  /** Reported by /ready: whether events reach the bus, and how far behind they are. */
  readonly publisher?: EventPublisher | null;
  /** More routes on the same app (the MCP transports). */
  readonly plugins?: readonly ((app: FastifyInstance) => void | Promise<void>)[];
}

/** Request bodies larger than this are refused before they are parsed. */
export const BODY_BYTES_MAX = 1024 * 1024;
/**
 * Path parameters longer than this are refused by the router (414) before any route runs. It
 * sits above every path parameter's own bound (a stream name is ≤ 256), so zod names the field.
 */
export const PATH_PARAM_LENGTH_MAX = 1024;

export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    genReqId: () => `req_${randomUUID().replaceAll('-', '')}`,
    childLoggerFactory: lazyChildLogger,
    requestIdHeader: false,
    bodyLimit: BODY_BYTES_MAX,
    routerOptions: { maxParamLength: PATH_PARAM_LENGTH_MAX },
    // The router's own refusals (a URL that does not decode, an overlong parameter) answer in
    // the same envelope, with the request id, as every other error.
    frameworkErrors: (error, request, reply) => {
      void reply.header('x-request-id', request.id);
      errorHandler(error, request, reply);
    },
  });
  // zod validates (and names the field); the JSON schemas on routes are documentation only.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  await registerOpenApi(app);

  app.get('/health', { schema: { hide: true } }, () => ({ status: 'ok' }));

  app.get('/ready', { schema: { hide: true } }, async (_request, reply) => {
    const checks: Record<string, string> = {};
    try {
      await deps.db.query('SELECT 1');
      checks['database'] = 'ok';
    } catch {
      checks['database'] = 'unreachable';
    }
    try {
      await deps.store.readAll({ maxCount: 1 });
      checks['eventStore'] = 'ok';
    } catch {
      checks['eventStore'] = 'unreachable';
    }
    const publishing = deps.publisher?.status();
    // The bus is reported, but does not make the node unready: NATS down never stops commands.
    if (publishing) checks['eventBus'] = publishing.bus === 'ok' ? 'ok' : 'unreachable';
    const ready = Object.entries(checks).every(([name, check]) => name === 'eventBus' || check === 'ok');
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      checks,
      ...(publishing
        ? { publisher: { publishedThrough: publishing.publishedThrough, lagMs: publishing.lagMs } }
        : {}),
    });
  });

  if (deps.services) {
    for (const command of deps.commands ?? []) registerCommand(app, deps.services, command);
    for (const query of deps.queries ?? []) registerQuery(app, deps.services, query);
    if (deps.feed) registerLiveFeed(app, deps.services, deps.feed);
    registerMpesaCallbacks(app, deps.services);
    await registerStripeWebhooks(app, deps.services);
  }
  for (const plugin of deps.plugins ?? []) await plugin(app);
  return app;
}
