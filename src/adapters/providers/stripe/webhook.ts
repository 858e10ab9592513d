/**
 * Stripe webhooks (PROVIDERS.md §2): the `Stripe-Signature` header `t=<unix>,v1=<hex>[,v1=…]`
 * over `t + "." + rawBody` with HMAC-SHA256 and the endpoint's `whsec_…` secret, compared in
 * constant time against every `v1`, refused when `t` is further than the tolerance from now.
 * Verify the raw bytes, before any JSON parsing. Then `readStripeEvent` reads the envelope.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isObject } from './wire.js';

/** Stripe's default: five minutes either way. */
export const STRIPE_SIGNATURE_TOLERANCE_S = 300;
/** A real header holds a timestamp and a few signatures; longer is refused unread. */
export const SIGNATURE_HEADER_LENGTH_MAX = 2_048;
/** Signatures per header (Stripe sends more than one while a secret is being rolled). */
export const SIGNATURES_MAX = 8;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

export type SignatureCheck =
  { readonly ok: true; readonly timestamp: number } | { readonly ok: false; readonly reason: string };

export interface StripeEvent {
  /** `evt_…`: dedupe on it. */
  readonly id: string;
  /** `payment_intent.succeeded`, `charge.refunded`, … (unknown types are passed on). */
  readonly type: string;
  readonly created: number;
  readonly livemode: boolean;
  /** `data.object`: read it with the wire readers (`readPaymentIntent`, `readRefund`). */
  readonly object: unknown;
}

export function signStripePayload(payload: string | Uint8Array, secret: string, timestamp: number): string {
  const signature = createHmac('sha256', secret)
    .update(`${timestamp}.`)
    .update(typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload)
    .digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

export function verifyStripeSignature(
  payload: string | Uint8Array,
  header: string | undefined,
  secret: string,
  nowSeconds: number,
  toleranceSeconds: number = STRIPE_SIGNATURE_TOLERANCE_S,
): SignatureCheck {
  if (header === undefined || header.length === 0)
    return { ok: false, reason: 'the Stripe-Signature header is missing' };
  if (header.length > SIGNATURE_HEADER_LENGTH_MAX)
    return { ok: false, reason: 'the Stripe-Signature header is too long' };
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === 'v1' && HEX_SHA256.test(value) && signatures.length < SIGNATURES_MAX) {
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamp === undefined) return { ok: false, reason: 'the Stripe-Signature header has no timestamp' };
  if (signatures.length === 0)
    return { ok: false, reason: 'the Stripe-Signature header has no v1 signature' };
  const expected = Buffer.from(signStripePayload(payload, secret, timestamp).split('v1=')[1] ?? '', 'hex');
  const matches = signatures.some((signature) => timingSafeEqual(signature, expected));
  if (!matches) return { ok: false, reason: 'no signature matches the payload' };
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) {
    return { ok: false, reason: `the signature's timestamp is more than ${toleranceSeconds} s from now` };
  }
  return { ok: true, timestamp };
}

/** Verifies, then reads the event envelope. */
export function readStripeEvent(
  payload: string | Uint8Array,
  header: string | undefined,
  secret: string,
  nowSeconds: number,
  toleranceSeconds: number = STRIPE_SIGNATURE_TOLERANCE_S,
): { readonly ok: true; readonly event: StripeEvent } | { readonly ok: false; readonly reason: string } {
  const check = verifyStripeSignature(payload, header, secret, nowSeconds, toleranceSeconds);
  if (!check.ok) return check;
  let body: unknown;
  try {
    body = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch {
    return { ok: false, reason: 'the payload is not JSON' };
  }
  if (!isObject(body)) return { ok: false, reason: 'the payload is not an object' };
  const { id, type, created, livemode, data } = body;
  if (typeof id !== 'string' || !id.startsWith('evt_')) return { ok: false, reason: 'id is not an event id' };
  if (typeof type !== 'string' || type.length === 0) return { ok: false, reason: 'type is missing' };
  if (!isObject(data) || !('object' in data)) return { ok: false, reason: 'data.object is missing' };
  return {
    ok: true,
    event: {
      id,
      type,
      created: typeof created === 'number' ? created : 0,
      livemode: livemode === true,
      object: data.object,
    },
  };
}
