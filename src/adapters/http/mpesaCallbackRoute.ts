/**
 * `/callbacks/mpesa/{orgId}/{secretToken}` (SPEC §5.1): where M-Pesa (or its simulator) posts
 * results. The token proves the URL was handed out by this platform for that organization;
 * a wrong token is answered as a missing route and logged, never explained. A callback with a
 * right token is always acknowledged the way Daraja expects, whatever it says — Daraja retries
 * what it sees refused, and a malformed or unknown callback must change nothing.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../commands/context.js';
import { handleMpesaCallback } from '../../commands/payments/mpesaFlows.js';
import { isOrgId } from '../../domain/streamName.js';
import { LedgerlineError } from '../../domain/errors.js';

/** Daraja's callbacks are a few kilobytes; anything much larger is not one. */
export const CALLBACK_BODY_BYTES_MAX = 64 * 1024;

export function registerMpesaCallbacks(app: FastifyInstance, services: Services): void {
  app.post<{
    Params: { orgId: string; token: string };
    Querystring: { payment?: unknown; reversal?: unknown };
  }>(
    '/callbacks/mpesa/:orgId/:token',
    { schema: { hide: true }, bodyLimit: CALLBACK_BODY_BYTES_MAX },
    async (request, reply) => {
      const { orgId, token } = request.params;
      if (!isOrgId(orgId) || !services.payments.callbacks.verifyMpesaToken(orgId, token)) {
        request.log.warn(
          { orgId: isOrgId(orgId) ? orgId : null },
          'M-Pesa callback with a wrong token refused',
        );
        throw new LedgerlineError('NOT_FOUND', 'No such route.');
      }
      // The payment the platform named in the URL it handed out (see mpesaCallbackUrl).
      const { payment, reversal } = request.query;
      const named =
        typeof payment === 'string'
          ? { paymentId: payment, reversalId: typeof reversal === 'string' ? reversal : null }
          : null;
      const verdict = await handleMpesaCallback(services, orgId, request.body, request.id, named);
      return reply
        .code(200)
        .send({ ResultCode: 0, ResultDesc: verdict === 'malformed' ? 'Ignored' : 'Accepted' });
    },
  );
}
