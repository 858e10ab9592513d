/**
 * Correlating M-Pesa's asynchronous answers with what started them. Each provider reference
 * (an STK push's CheckoutRequestID, a payout's OriginatorConversationID, …) has a small stream
 * `{orgId}.mpesa_ref-{ref}`: the request side appends a link (which payment, for what), the
 * callback side appends the raw callback, and each then reads the stream back. Whichever
 * writes second sees both, so a callback that arrives before the push's own HTTP answer is
 * still applied, and nothing is looked up in a read model that may lag. A callback at one
 * organization's URL can only reach that organization's streams.
 */
import type { EventMetadata } from '../../adapters/eventstore/port.js';
import { streamName } from '../../domain/streamName.js';
import type { Services } from '../context.js';

export type MpesaPurpose =
  'collection' | 'payout' | 'reversal' | 'payout_status' | 'reversal_status' | 'balance';

export interface MpesaLink {
  readonly ref: string;
  readonly purpose: MpesaPurpose;
  readonly paymentId: string | null;
  readonly reversalId: string | null;
}

/** Callbacks kept per reference, at most; a provider repeating itself beyond this is ignored. */
export const CALLBACKS_PER_REF_MAX = 20;
const REF_LENGTH_MAX = 120;

export function refStream(orgId: string, ref: string): string {
  const safe = ref.replace(/[^A-Za-z0-9_:.@-]/g, '_').slice(0, REF_LENGTH_MAX);
  return streamName(orgId, 'mpesa_ref', safe || '_');
}

interface RefContents {
  readonly link: MpesaLink | null;
  readonly callbacks: readonly object[];
}

async function read(services: Services, orgId: string, ref: string): Promise<RefContents> {
  const events = await services.store.readStream(refStream(orgId, ref), {
    maxCount: CALLBACKS_PER_REF_MAX + 5,
  });
  let link: MpesaLink | null = null;
  const callbacks: object[] = [];
  for (const event of events) {
    const data = event.data as Record<string, unknown>;
    if (event.type === 'MpesaRequestLinked') link = data as unknown as MpesaLink;
    if (event.type === 'MpesaCallbackReceived') callbacks.push(data['body'] as object);
  }
  return { link, callbacks };
}

/** Records what a reference belongs to; answers the callbacks that already arrived for it. */
export async function linkRef(
  services: Services,
  orgId: string,
  link: MpesaLink,
  metadata: EventMetadata,
): Promise<readonly object[]> {
  await services.store.append(
    refStream(orgId, link.ref),
    [{ type: 'MpesaRequestLinked', data: { ...link }, metadata, occurredAt: services.clock() }],
    'any',
  );
  return (await read(services, orgId, link.ref)).callbacks;
}

/** Keeps a raw callback for audit; answers what its reference belongs to, if known yet. */
export async function recordCallback(
  services: Services,
  orgId: string,
  ref: string,
  body: object,
  metadata: EventMetadata,
): Promise<MpesaLink | null> {
  const before = await read(services, orgId, ref);
  if (before.callbacks.length >= CALLBACKS_PER_REF_MAX) return before.link;
  await services.store.append(
    refStream(orgId, ref),
    [
      {
        type: 'MpesaCallbackReceived',
        data: { ref, body: body as never },
        metadata,
        occurredAt: services.clock(),
      },
    ],
    'any',
  );
  return (await read(services, orgId, ref)).link;
}
