/**
 * `readAll` on EventStoreDB.
 *
 * The v6 client cannot filter a read of `$all` (it always sends "no filter"), and reading
 * unfiltered to filter here would make one organization's read scan every other organization's
 * events. A filtered catch-up subscription can filter on the server, so a page is read through
 * one: subscribe from `from` (exclusive, like the port) with the filter, take events until the
 * page is full or the subscription has passed the position `$all` ended at when the read began,
 * then cancel it. "Passed the end" is known from an event or checkpoint at or beyond that
 * position, or from the server's caught-up signal, each once the buffer is drained, so the page
 * never misses an event below its `next`. When the page is not full, `next` is that end position
 * (a checkpoint even when no event matched). A read that takes longer than READ_ALL_TIME_MAX_MS
 * returns what it has, with `next` at the last point it covered and `isEnd` false.
 */
import { BACKWARDS, END, type EventStoreDBClient } from '@eventstore/db-client';
import { LedgerlineError } from '../../../domain/errors.js';
import { comparePositions, maxPosition } from '../position.js';
import { type EventFilter, type Position, type ReadAllPage, type RecordedEvent } from '../port.js';
import { allFilter } from './allFilter.js';
import { AllReader, type Pulled } from './allReader.js';
import { isUnavailable, toStoreError } from './clientErrors.js';
import { toRecordedEvent } from './eventRecords.js';
import { backoffMs, sleep, withRetry, type RetryPolicy } from './retry.js';

/** One page never takes longer than this; what was found by then is returned. */
export const READ_ALL_TIME_MAX_MS = 30_000;
/** Events buffered between the connection and the page being filled. */
const READ_ALL_BUFFER_EVENTS = 512;

export interface ReadAllRequest {
  readonly from: Position;
  readonly filter: EventFilter | undefined;
  readonly maxCount: number;
}

export async function readAllPage(
  client: EventStoreDBClient,
  request: ReadAllRequest,
  policy: RetryPolicy,
): Promise<ReadAllPage> {
  const { from, maxCount } = request;
  const end = await withRetry(policy, isUnavailable, () => lastPosition(client));
  if (end === null || comparePositions(end, from) <= 0) return { events: [], next: from, isEnd: true };
  const filter = allFilter(request.filter);
  const deadline = AbortSignal.timeout(READ_ALL_TIME_MAX_MS);
  const events: RecordedEvent[] = [];
  let cursor = from;
  let failures = 0;
  const page = (isEnd: boolean): ReadAllPage => ({
    events,
    next: isEnd ? maxPosition(cursor, end) : cursor,
    isEnd,
  });
  for (;;) {
    const reader = new AllReader(client, cursor, filter, Math.min(maxCount, READ_ALL_BUFFER_EVENTS));
    let pulled: Pulled;
    try {
      for (;;) {
        pulled = await reader.next(deadline);
        if (reader.confirmed) failures = 0;
        if (pulled.kind === 'ended') break;
        if (pulled.kind === 'idle') {
          if (reader.checkpoint !== null && comparePositions(reader.checkpoint, cursor) > 0) {
            cursor = reader.checkpoint;
          }
          if (comparePositions(cursor, end) >= 0 || reader.caughtUp) return page(true);
          if (deadline.aborted) return page(false);
          continue;
        }
        const { event } = pulled;
        if (comparePositions(event.position, cursor) <= 0) continue;
        // Appended after the read began: the next page (or a subscription) will have it.
        if (comparePositions(event.position, end) > 0) return page(true);
        cursor = event.position;
        if (filter.matches(event)) {
          events.push(toRecordedEvent(event));
          if (events.length >= maxCount) return page(comparePositions(cursor, end) >= 0);
        }
      }
    } finally {
      await reader.close();
    }
    const { error } = pulled;
    if (error !== null && !isUnavailable(error)) throw toStoreError(error, 'reading $all');
    failures += 1;
    if (failures >= policy.attemptsMax) {
      throw new LedgerlineError(
        'STORE_UNAVAILABLE',
        `EventStoreDB is unavailable: reading $all failed ${failures} times.`,
        { attempts: failures },
        { cause: error },
      );
    }
    if (deadline.aborted) return page(false);
    // Resumes after the last event taken: the page keeps what it has.
    await sleep(backoffMs(policy, failures), deadline);
  }
}

/** The position of the last event in `$all` now (any event, system ones too), or null if none. */
async function lastPosition(client: EventStoreDBClient): Promise<Position | null> {
  const read = client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 });
  let last: Position | null = null;
  // Read to its end (one event): leaving the loop early would leave the call open until dispose.
  for await (const resolved of read) {
    const position = resolved.event?.position;
    if (position !== undefined) last = { commit: position.commit, prepare: position.prepare };
  }
  return last;
}
