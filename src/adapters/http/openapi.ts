import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** The OpenAPI document at /docs/json and interactive docs at /docs (SPEC §8). */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ledgerline',
        version: '0.1.0',
        description:
          'Multi-tenant, event-sourced ledger platform. Every route is generated from the command and query catalogs; operationId is the catalog name (the MCP tool name for commands).',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key (lk_live_…) or an access token from /v1/auth/login.',
          },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
