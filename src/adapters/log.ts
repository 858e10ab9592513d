/**
 * One structured logger (pino, the logger fastify itself uses) shared by the HTTP server and
 * everything behind it. JSON lines on stdout; credentials are redacted wherever they could
 * appear, and request bodies are never logged at all.
 */
import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config.js';

export type { Logger };

/** Fields holding secrets, wherever they sit: at the top of a log object or one level down. */
const SECRET_FIELDS = [
  'password',
  'apiKey',
  'accessToken',
  'refreshToken',
  'secret',
  // Provider credentials, should one ever reach a log object.
  'consumerKey',
  'consumerSecret',
  'passkey',
  'securityCredential',
  'initiatorPassword',
  'secretKey',
  'webhookSigningSecret',
];

/** Fields whose values never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'req.headers["stripe-signature"]',
  // `*.field` matches one level down only: `log.warn({ apiKey })` needs the plain name too.
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
];

/** Callback URLs carry the organization's secret token as their last segment. */
const CALLBACK_TOKEN = /^(\/callbacks\/[^/]+\/[^/]+\/)[^/?]+/;

/** Query strings may carry cursors and positions, never secrets; still, log only their names. */
export function redactQuery(url: string): string {
  const [rawPath = '', query] = url.split('?');
  const path = rawPath.replace(CALLBACK_TOKEN, '$1[redacted]');
  if (query === undefined) return path;
  return `${path}?${query
    .split('&')
    .map((pair) => `${pair.split('=')[0] ?? ''}=…`)
    .join('&')}`;
}

export function createLogger(level: LogLevel, stream?: { write(line: string): void }): Logger {
  const options = {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Log a request's method, URL and id; never its headers or body, where credentials travel.
    serializers: {
      req: (request: { method: string; url: string; id: string }) => ({
        method: request.method,
        url: redactQuery(request.url),
        id: request.id,
      }),
    },
  };
  return stream ? pino(options, stream) : pino(options);
}
