/**
 * A whole organization's hash chains, stream by stream in name order: each stream is verified
 * page by page by the store (`verifyStream`), and the streams themselves are listed a page at a
 * time, so memory stays flat however large the organization is. Stops at the first broken link.
 */
import type { BrokenLink, EventStore } from '../../adapters/eventstore/port.js';
import { LedgerlineError } from '../../domain/errors.js';
import { orgStreamPrefix } from '../../domain/streamName.js';

/** Stream names listed per page. */
export const VERIFY_STREAMS_PAGE = 500;

export interface OrganizationVerifyOptions {
  /** Continue after this stream (exclusive): the `nextStream` of an earlier, bounded run. */
  readonly afterStream?: string | null;
  /** Stop (with `nextStream`) once this many events were checked; unbounded when absent. */
  readonly eventsMax?: number;
  /** Told after every stream, with the running totals (progress bars). */
  readonly onProgress?: (progress: { streamsChecked: number; eventsChecked: number }) => void;
}

export interface OrganizationVerifyResult {
  readonly ok: boolean;
  readonly streamsChecked: number;
  readonly eventsChecked: number;
  readonly brokenLink: BrokenLink | null;
  /** Where a bounded run stopped: pass as afterStream to go on; null when the walk is complete. */
  readonly nextStream: string | null;
}

export async function verifyOrganization(
  store: EventStore,
  orgId: string,
  options: OrganizationVerifyOptions = {},
): Promise<OrganizationVerifyResult> {
  if (!store.listStreams)
    throw new LedgerlineError(
      'INVALID_STATE',
      'This event store cannot list an organization’s streams; verify one stream at a time.',
    );
  let after = options.afterStream ?? null;
  let streamsChecked = 0;
  let eventsChecked = 0;
  for (;;) {
    const streams = await store.listStreams(orgStreamPrefix(orgId), after, VERIFY_STREAMS_PAGE);
    for (const stream of streams) {
      const result = await store.verifyStream(stream);
      streamsChecked += 1;
      eventsChecked += result.eventsChecked;
      options.onProgress?.({ streamsChecked, eventsChecked });
      if (!result.ok)
        return { ok: false, streamsChecked, eventsChecked, brokenLink: result.brokenLink, nextStream: null };
      if (options.eventsMax !== undefined && eventsChecked >= options.eventsMax)
        return { ok: true, streamsChecked, eventsChecked, brokenLink: null, nextStream: stream };
    }
    const last = streams.at(-1);
    if (last === undefined || streams.length < VERIFY_STREAMS_PAGE)
      return { ok: true, streamsChecked, eventsChecked, brokenLink: null, nextStream: null };
    after = last;
  }
}
