/**
 * REST generated from the catalogs: one route per command (its method and path) and one GET
 * per query. Validation is zod's (a 400 naming the field); the JSON schemas given to fastify
 * only document the routes for OpenAPI.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AnyCommand, AnyQuery } from '../../commands/catalog.js';
import type { Services } from '../../commands/context.js';
import { executeCommand, runQuery } from '../../commands/pipeline.js';
import type { Principal } from '../../commands/principal.js';
import { IDEMPOTENCY_KEY_LENGTH_MAX } from '../../commands/idempotency.js';
import { LedgerlineError, ValidationError } from '../../domain/errors.js';
import { parsePosition } from '../eventstore/position.js';
import { authenticate } from './authenticate.js';
import { inputSchema, outputSchema, pathParamNames, splitPathParams } from './jsonSchema.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]+$/;
const ANSWER_META = {
  revision: { type: ['string', 'null'], description: 'The stream revision after the command.' },
  position: {
    type: ['string', 'null'],
    description:
      'The global position of the last event written; pass it as consistentWith to read your write.',
  },
};

function tagOf(path: string): string {
  return path.split('/')[2] ?? 'other';
}

async function principalOf(request: FastifyRequest, services: Services): Promise<Principal | null> {
  return authenticate(request.headers.authorization, services, { kind: 'rest' }, request.id);
}

function idempotencyKeyOf(request: FastifyRequest): string | null {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return null;
  if (
    typeof header !== 'string' ||
    header.length > IDEMPOTENCY_KEY_LENGTH_MAX ||
    !IDEMPOTENCY_KEY.test(header)
  ) {
    throw new ValidationError(
      'Idempotency-Key',
      `must be 1 to ${IDEMPOTENCY_KEY_LENGTH_MAX} printable ASCII characters`,
    );
  }
  return header;
}

function mergePathParams(body: unknown, params: Record<string, string>): Record<string, unknown> {
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
    throw new ValidationError('body', 'must be a JSON object');
  }
  const merged: Record<string, unknown> = { ...((body ?? {}) as Record<string, unknown>) };
  for (const [name, value] of Object.entries(params)) {
    if (name in merged) throw new ValidationError(name, 'is given by the path; leave it out of the body');
    merged[name] = value;
  }
  return merged;
}

export function registerCommand(app: FastifyInstance, services: Services, command: AnyCommand): void {
  const names = pathParamNames(command.rest.path);
  const { params, rest } = splitPathParams(inputSchema(command.input), names);
  const output = outputSchema(command.output);
  app.route({
    method: command.rest.method,
    url: command.rest.path,
    schema: {
      operationId: command.name,
      summary: command.title,
      description: command.description,
      tags: [tagOf(command.rest.path)],
      ...(params ? { params } : {}),
      body: rest,
      ...(command.audience === 'public' ? {} : { security: [{ bearer: [] }] }),
      headers:
        command.audience === 'public'
          ? {}
          : {
              type: 'object',
              properties: { 'idempotency-key': { type: 'string', maxLength: IDEMPOTENCY_KEY_LENGTH_MAX } },
            },
      response: {
        [command.rest.status ?? 200]: {
          ...output,
          properties: { ...(output['properties'] ?? {}), ...ANSWER_META },
        },
      },
    },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const input = mergePathParams(request.body, request.params as Record<string, string>);
      const principal = command.audience === 'public' ? null : await principalOf(request, services);
      const answer = await executeCommand(command, input, {
        principal,
        services,
        now: services.clock(),
        requestId: request.id,
        idempotencyKey: idempotencyKeyOf(request),
        clientAddress: request.ip,
        channel: { kind: 'rest' },
      });
      if (answer.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(answer.status).send(answer.body);
    },
  });
}

export function registerQuery(app: FastifyInstance, services: Services, query: AnyQuery): void {
  const names = pathParamNames(query.rest.path);
  const { params, rest } = splitPathParams(inputSchema(query.params), names);
  const querystring = {
    ...rest,
    properties: {
      ...(rest['properties'] ?? {}),
      consistentWith: {
        type: 'string',
        description: 'Wait (at most 2 s) until the read models have passed this position.',
      },
    },
  };
  app.route({
    method: 'GET',
    url: query.rest.path,
    schema: {
      operationId: query.name,
      summary: query.title,
      description: query.description,
      tags: [tagOf(query.rest.path)],
      ...(params ? { params } : {}),
      querystring,
      security: [{ bearer: [] }],
      response: { 200: outputSchema(query.result) },
    },
    handler: async (request: FastifyRequest) => {
      const { consistentWith, ...queryParams } = (request.query ?? {}) as Record<string, unknown>;
      if (consistentWith !== undefined && typeof consistentWith !== 'string') {
        throw new ValidationError('consistentWith', 'must be given once');
      }
      const position = consistentWith === undefined ? null : parsePosition(consistentWith, 'consistentWith');
      const merged = mergePathParams(queryParams, request.params as Record<string, string>);
      const principal = await principalOf(request, services);
      if (!principal)
        throw new LedgerlineError(
          'UNAUTHENTICATED',
          'Send Authorization: Bearer with an API key or access token.',
        );
      return runQuery(query, merged, principal, { services, now: services.clock() }, position);
    },
  });
}
