/**
 * Each request's child logger is made only when a line is written at an enabled level, and a
 * written line is what fastify's own child would have written: the request id, redaction.
 * Through a real fastify app and a real pino logger, as the server runs them.
 */
import Fastify from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/log.js';
import { lazyChildLogger } from '../../src/adapters/http/lazyChildLogger.js';

function capture(level: 'warn' | 'info'): { lines: Record<string, unknown>[]; logger: pino.Logger } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, {
    write: (line) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return { lines, logger };
}

describe('lazy per-request child logger', () => {
  const apps: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  async function appWith(logger: pino.Logger): Promise<ReturnType<typeof Fastify>> {
    const app = Fastify({
      loggerInstance: logger,
      genReqId: () => 'req_test',
      childLoggerFactory: lazyChildLogger,
      disableRequestLogging: true,
    });
    app.get('/quiet', (request) => {
      request.log.info({ apiKey: 'lk_live_secret' }, 'below the level');
      return { ok: true };
    });
    app.get('/loud', (request) => {
      request.log.warn({ apiKey: 'lk_live_secret', n: 1 }, 'at the level');
      request.log.child({ part: 'inner' }).error('from a grandchild');
      return { ok: true };
    });
    apps.push(app);
    await app.ready();
    return app;
  }

  it('makes no child for a request whose lines are all below the level', async () => {
    const { lines, logger } = capture('warn');
    const app = await appWith(logger);
    // Counted from here: fastify makes children of its own while it starts.
    let children = 0;
    const child = logger.child.bind(logger);
    logger.child = ((...args: Parameters<typeof child>) => {
      children += 1;
      return child(...args);
    }) as typeof logger.child;
    const answer = await app.inject({ method: 'GET', url: '/quiet' });
    expect(answer.statusCode).toBe(200);
    expect(children).toBe(0);
    expect(lines).toEqual([]);

    // The request's child, then its own child (pino's children inherit the counting `child`).
    await app.inject({ method: 'GET', url: '/loud' });
    expect(children).toBe(2);
  });

  it('writes an enabled line with the request id, redacted, and its children inherit both', async () => {
    const { lines, logger } = capture('warn');
    const app = await appWith(logger);
    await app.inject({ method: 'GET', url: '/loud' });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ reqId: 'req_test', apiKey: '[redacted]', n: 1, msg: 'at the level' });
    expect(lines[1]).toMatchObject({ reqId: 'req_test', part: 'inner', msg: 'from a grandchild' });
    expect(JSON.stringify(lines)).not.toContain('lk_live_secret');
  });

  it('reports the parent level until a child exists, and a route with its own level gets a real child', () => {
    const { logger } = capture('info');
    const lazy = lazyChildLogger(logger, { reqId: 'r1' }, {});
    expect(lazy.level).toBe('info');
    const own = lazyChildLogger(logger, { reqId: 'r2' }, { level: 'error' });
    expect(own.level).toBe('error');
  });
});
