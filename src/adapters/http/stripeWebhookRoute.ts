/**
 * `/webhooks/stripe/{orgId}/{secretToken}`: where an organization's Stripe account posts
 * events. Like the M-Pesa callback route, the token proves the URL was handed out for that
 * organization (a wrong one is answered as a missing route and logged). Unlike M-Pesa, Stripe
 * signs its events: the body is kept as raw bytes (this route's own content-type parser, in an
 * encapsulated plugin, so no other route changes) and verified before anything is read. A bad
 * signature is answered 400 with nothing written — Stripe retries, and shows the failure to the
 * organization; everything verified is acknowledged with 200, applied or not.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../commands/context.js';
import { handleStripeWebhook } from '../../commands/payments/stripeWebhook.js';
import { LedgerlineError } from '../../domain/errors.js';
import { isOrgId } from '../../domain/streamName.js';

/** Stripe's events are a few kilobytes; a large PaymentIntent stays well under this. */
export const WEBHOOK_BODY_BYTES_MAX = 256 * 1024;

export async function registerStripeWebhooks(app: FastifyInstance, services: Services): Promise<void> {
  await app.register((scope, _options, done) => {
    // Raw bytes for the signature, whatever the declared type; only inside this plugin.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_BYTES_MAX },
      (_request, body, parsed) => {
        parsed(null, body);
      },
    );
    scope.post<{ Params: { orgId: string; token: string } }>(
      '/webhooks/stripe/:orgId/:token',
      { schema: { hide: true }, bodyLimit: WEBHOOK_BODY_BYTES_MAX },
      async (request, reply) => {
        const { orgId, token } = request.params;
        if (!isOrgId(orgId) || !services.payments.callbacks.verifyStripeToken(orgId, token)) {
          request.log.warn(
            { orgId: isOrgId(orgId) ? orgId : null },
            'Stripe webhook with a wrong token refused',
          );
          throw new LedgerlineError('NOT_FOUND', 'No such route.');
        }
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const header = request.headers['stripe-signature'];
        const outcome = await handleStripeWebhook(
          services,
          orgId,
          raw,
          typeof header === 'string' ? header : undefined,
          request.id,
        );
        if (outcome.verdict === 'refused') {
          request.log.warn({ orgId, reason: outcome.reason }, 'Stripe webhook refused');
          throw new LedgerlineError('VALIDATION_FAILED', 'The webhook signature does not verify.');
        }
        if (outcome.verdict !== 'applied') {
          request.log.info(
            { orgId, verdict: outcome.verdict, reason: outcome.reason },
            'Stripe webhook kept without effect',
          );
        }
        return reply.code(200).send({ received: true });
      },
    );
    done();
  });
}
