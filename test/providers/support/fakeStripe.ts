/**
 * A local Stripe speaking PROVIDERS.md §2: form-encoded bodies, bearer secret key, the error
 * envelope, `Idempotency-Key` replay (same key and parameters → the first answer; other
 * parameters → `idempotency_error`), test tokens (`tok_visa`, `tok_chargeDeclined`,
 * `tok_chargeDeclinedInsufficientFunds`), PaymentIntents with automatic or manual capture,
 * refunds bounded by what remains. Tests override paths to script failures.
 */
import type { ServerResponse } from 'node:http';
import { sendJson, startServer, type RecordedRequest, type TestServer } from './httpServer.js';

export const STRIPE_SECRET_KEY = 'sk_test_51LedgerlineTOPSECRETkey';

interface Intent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  status: string;
  capture_method: string;
  payment_method: string;
  metadata: Record<string, string>;
  refunded: number;
}

const CARDS: Record<string, { brand: string; last4: string; decline?: string }> = {
  tok_visa: { brand: 'visa', last4: '4242' },
  tok_mastercard: { brand: 'mastercard', last4: '4444' },
  tok_chargeDeclined: { brand: 'visa', last4: '0002', decline: 'generic_decline' },
  tok_chargeDeclinedInsufficientFunds: { brand: 'visa', last4: '9995', decline: 'insufficient_funds' },
};

export interface FakeStripe {
  readonly server: TestServer;
  calls(method: string, path: string): RecordedRequest[];
  override(path: string, handler: (request: RecordedRequest, response: ServerResponse) => unknown): void;
  readonly intentsCreated: () => number;
  /** Does the next request's work but never sends its answer. */
  dropNextAnswer(): void;
}

function stripeError(response: ServerResponse, status: number, error: Record<string, unknown>): void {
  sendJson(response, status, { error: { param: null, ...error } });
}

export async function startFakeStripe(): Promise<FakeStripe> {
  const methods = new Map<string, { token: string }>();
  const intents = new Map<string, Intent>();
  const replays = new Map<string, { body: string; status: number; answer: unknown }>();
  const overrides = new Map<string, (request: RecordedRequest, response: ServerResponse) => unknown>();
  let counter = 0;
  let dropNext = false;

  const answer = (
    request: RecordedRequest,
    response: ServerResponse,
    status: number,
    body: unknown,
  ): void => {
    const key = request.headers['idempotency-key'];
    if (typeof key === 'string') replays.set(key, { body: request.body, status, answer: body });
    if (dropNext) {
      // The work is done and saved for replay; the answer is lost on the way back.
      dropNext = false;
      return;
    }
    sendJson(response, status, body);
  };

  const route = (request: RecordedRequest, response: ServerResponse): void => {
    if (request.headers.authorization !== `Bearer ${STRIPE_SECRET_KEY}`) {
      stripeError(response, 401, {
        type: 'invalid_request_error',
        message: `Invalid API Key provided: ${String(request.headers.authorization).replace('Bearer ', '')}`,
      });
      return;
    }
    const key = request.headers['idempotency-key'];
    if (request.method === 'POST' && typeof key === 'string') {
      const previous = replays.get(key);
      if (previous && previous.body !== request.body) {
        stripeError(response, 400, {
          type: 'idempotency_error',
          message:
            'Keys for idempotent requests can only be used with the same parameters they were first used with.',
        });
        return;
      }
      if (previous) {
        sendJson(response, previous.status, previous.answer);
        return;
      }
    }
    const form = new URLSearchParams(request.body);
    const path = request.path;
    const capture = /^\/v1\/payment_intents\/(pi_\w+)\/capture$/.exec(path);
    const read = /^\/v1\/payment_intents\/(pi_\w+)$/.exec(path);
    if (request.method === 'POST' && path === '/v1/payment_methods') {
      const token = form.get('card[token]') ?? '';
      const card = CARDS[token];
      if (form.get('type') !== 'card' || !card) {
        stripeError(response, 400, {
          type: 'invalid_request_error',
          code: 'resource_missing',
          message: `No such token: '${token}'`,
          param: 'card[token]',
        });
        return;
      }
      counter += 1;
      const id = `pm_${counter}`;
      methods.set(id, { token });
      answer(request, response, 200, {
        id,
        object: 'payment_method',
        type: 'card',
        card: {
          brand: card.brand,
          last4: card.last4,
          exp_month: 12,
          exp_year: 2034,
          funding: 'credit',
          country: 'US',
        },
      });
      return;
    }
    if (request.method === 'POST' && path === '/v1/payment_intents') {
      const method = methods.get(form.get('payment_method') ?? '');
      if (!method) {
        stripeError(response, 400, {
          type: 'invalid_request_error',
          code: 'resource_missing',
          param: 'payment_method',
          message: 'No such PaymentMethod',
        });
        return;
      }
      counter += 1;
      const amount = Number(form.get('amount'));
      const manual = form.get('capture_method') === 'manual';
      const metadata: Record<string, string> = {};
      for (const [name, value] of form) {
        const match = /^metadata\[(.+)\]$/.exec(name);
        if (match?.[1] !== undefined) metadata[match[1]] = value;
      }
      const intent: Intent = {
        id: `pi_${counter}`,
        object: 'payment_intent',
        amount,
        amount_capturable: 0,
        amount_received: 0,
        currency: form.get('currency') ?? '',
        status: 'requires_payment_method',
        capture_method: manual ? 'manual' : 'automatic',
        payment_method: form.get('payment_method') ?? '',
        metadata,
        refunded: 0,
      };
      intents.set(intent.id, intent);
      const decline = CARDS[method.token]?.decline;
      if (decline) {
        answer(request, response, 402, {
          error: {
            type: 'card_error',
            code: 'card_declined',
            decline_code: decline,
            message:
              decline === 'insufficient_funds'
                ? 'Your card has insufficient funds.'
                : 'Your card was declined.',
            param: null,
            payment_intent: { ...intent, last_payment_error: { type: 'card_error', code: 'card_declined' } },
          },
        });
        return;
      }
      if (manual) {
        intent.status = 'requires_capture';
        intent.amount_capturable = amount;
      } else {
        intent.status = 'succeeded';
        intent.amount_received = amount;
      }
      answer(request, response, 200, intent);
      return;
    }
    if (request.method === 'POST' && capture?.[1] !== undefined) {
      const intent = intents.get(capture[1]);
      if (intent?.status !== 'requires_capture') {
        stripeError(response, 400, {
          type: 'invalid_request_error',
          code: 'payment_intent_unexpected_state',
          message: 'This PaymentIntent could not be captured.',
        });
        return;
      }
      const amount = Number(form.get('amount_to_capture') ?? intent.amount_capturable);
      if (amount > intent.amount_capturable) {
        stripeError(response, 400, {
          type: 'invalid_request_error',
          code: 'amount_too_large',
          param: 'amount_to_capture',
          message: 'The amount to capture exceeds the capturable amount.',
        });
        return;
      }
      intent.status = 'succeeded';
      intent.amount_received = amount;
      intent.amount_capturable = 0;
      answer(request, response, 200, intent);
      return;
    }
    if (request.method === 'GET' && read?.[1] !== undefined) {
      const intent = intents.get(read[1]);
      if (!intent) {
        stripeError(response, 404, {
          type: 'invalid_request_error',
          code: 'resource_missing',
          message: 'No such payment_intent',
        });
        return;
      }
      sendJson(response, 200, intent);
      return;
    }
    if (request.method === 'POST' && path === '/v1/refunds') {
      const intent = intents.get(form.get('payment_intent') ?? '');
      if (!intent) {
        stripeError(response, 400, {
          type: 'invalid_request_error',
          code: 'resource_missing',
          param: 'payment_intent',
          message: 'No such payment_intent',
        });
        return;
      }
      const remaining = intent.amount_received - intent.refunded;
      const amount = Number(form.get('amount') ?? remaining);
      if (amount > remaining || remaining === 0) {
        stripeError(response, 400, {
          type: 'invalid_request_error',
          code: 'amount_too_large',
          param: 'amount',
          message: `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`,
        });
        return;
      }
      intent.refunded += amount;
      counter += 1;
      answer(request, response, 200, {
        id: `re_${counter}`,
        object: 'refund',
        amount,
        currency: intent.currency,
        status: 'succeeded',
        payment_intent: intent.id,
        reason: form.get('reason'),
      });
      return;
    }
    stripeError(response, 404, {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${request.method}: ${path})`,
    });
  };

  const server = await startServer((request, response) => {
    const scripted = overrides.get(request.path);
    if (scripted && scripted(request, response) !== false) return;
    route(request, response);
  });
  return {
    server,
    calls: (method, path) =>
      server.requests.filter((request) => request.method === method && request.path === path),
    override: (path, handler) => overrides.set(path, handler),
    intentsCreated: () => [...intents.values()].length,
    dropNextAnswer: () => {
      dropNext = true;
    },
  };
}
