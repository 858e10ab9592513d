import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, isLedgerlineError, type ErrorCode } from '../../domain/errors.js';

const FRAMEWORK_CODES: Readonly<Record<number, ErrorCode>> = {
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/**
 * Maps every failure to the registry's envelope `{ error: { code, message, details, requestId } }`:
 * LedgerlineErrors keep their code and status; fastify's own 4xx (bad JSON, wrong content
 * type, body too large) become VALIDATION_FAILED with their status; anything else is a 500
 * that says nothing about its internals.
 */
export function errorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (isLedgerlineError(error)) {
    if (error.code === 'UNAUTHENTICATED' || error.code === 'INVALID_CREDENTIALS') {
      void reply.header('www-authenticate', `Bearer realm="ledgerline", error="invalid_token"`);
    }
    const retryAfter = error.details['retryAfterSeconds'];
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    return reply.code(error.status).send({
      error: { code: error.code, message: error.message, details: error.details, requestId: request.id },
    });
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // fastify's own refusals, each under the registry code that has its status.
    const code = FRAMEWORK_CODES[status] ?? 'VALIDATION_FAILED';
    return reply.code(ERRORS[code].status).send({
      error: { code, message: error.message, details: {}, requestId: request.id },
    });
  }
  request.log.error({ err: error }, 'unhandled error');
  return reply.code(500).send({
    error: { code: 'INTERNAL', message: 'An internal error occurred.', details: {}, requestId: request.id },
  });
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send({
    error: {
      code: 'NOT_FOUND',
      message: `No route ${request.method} ${request.url.split('?')[0] ?? ''}.`,
      details: {},
      requestId: request.id,
    },
  });
}
