/**
 * The HTTP skin. For now: liveness and readiness; the catalogs' routes are generated into it
 * as they arrive.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { LogLevel } from '../../config.js';
import type { Database } from '../db/database.js';
import type { EventStore } from '../eventstore/port.js';
import { errorHandler } from './errorHandler.js';

export interface AppDependencies {
  readonly db: Database;
  readonly store: EventStore;
  readonly logLevel: LogLevel;
}

/** Header and body fields whose values never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
];

export function buildApp(deps: AppDependencies): FastifyInstance {
  const app = Fastify({
    logger: { level: deps.logLevel, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    genReqId: () => `req_${crypto.randomUUID().replaceAll('-', '')}`,
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: {
        code: 'NOT_FOUND',
        message: `No route ${request.method} ${request.url}.`,
        details: {},
        requestId: request.id,
      },
    }),
  );
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });

  app.get('/health', () => ({ status: 'ok' }));

  app.get('/ready', async (_request, reply) => {
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
    const ready = Object.values(checks).every((check) => check === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });

  return app;
}
