// Finite reads (`ReadReq` with a count): one stream, or `$all`, forwards or backwards.
// Each read works on the log as it stood when the call arrived: events appended while a large
// read is being sent are not included, which also bounds every loop here by the log length.
import type { UuidFormat } from './convert.js';
import { eventResponse, streamNotFoundResponse } from './convert.js';
import type { AllFilter } from './filters.js';
import { READ_PAGE_EVENTS } from './limits.js';
import type { ResponseWriter } from './responseWriter.js';
import type { EventLog, RecordedEvent } from './store.js';

export type Direction = 'forwards' | 'backwards';

/** Where a read starts: the client's START / END, or a stream revision / `$all` position. */
export type ReadFrom =
  { readonly kind: 'start' } | { readonly kind: 'end' } | { readonly kind: 'at'; readonly value: bigint };

export interface ReadRequest {
  readonly direction: Direction;
  readonly from: ReadFrom;
  /** Maximum number of events to send (the client sends Number.MAX_SAFE_INTEGER by default). */
  readonly count: bigint;
  readonly uuidFormat: UuidFormat;
}

/**
 * Stream reads, from a revision inclusive in both directions. A stream without events answers
 * `stream_not_found` (the client's `StreamNotFoundError`), as the server does. Reading backwards
 * from a revision past the end starts at the last event; forwards from END yields nothing.
 */
export async function readStream(
  log: EventLog,
  streamId: string,
  request: ReadRequest,
  writer: ResponseWriter,
): Promise<void> {
  const stream = log.stream(streamId);
  if (stream === undefined || stream.length === 0) {
    await writer.send(streamNotFoundResponse(streamId));
    writer.end();
    return;
  }
  const lastIndex = stream.length - 1;
  const forwards = request.direction === 'forwards';
  let index: number;
  switch (request.from.kind) {
    case 'start':
      // START is revision 0 in both directions: backwards from it yields just the first event.
      index = 0;
      break;
    case 'end':
      index = forwards ? stream.length : lastIndex;
      break;
    case 'at':
      index = forwards
        ? Number(request.from.value > BigInt(stream.length) ? BigInt(stream.length) : request.from.value)
        : Number(request.from.value > BigInt(lastIndex) ? BigInt(lastIndex) : request.from.value);
      break;
  }
  const step = forwards ? 1 : -1;
  const inRange = (i: number): boolean => i >= 0 && i <= lastIndex;
  await sendEvents(
    writer,
    request,
    (remaining) => {
      const page: RecordedEvent[] = [];
      while (page.length < remaining && inRange(index)) {
        const event = stream[index];
        if (event !== undefined && !log.isRemoved(event)) page.push(event);
        index += step;
      }
      return page;
    },
    () => inRange(index),
    stepsMaxFor(stream.length),
  );
}

/**
 * `$all` reads. Forwards from a position is inclusive (the event at that position comes first).
 * Backwards from a position returns the events before it: the transaction file is read backwards
 * from that offset, as the server does. Filters apply to both directions; `count` counts only
 * matching events.
 */
export async function readAll(
  log: EventLog,
  filter: AllFilter,
  request: ReadRequest,
  writer: ResponseWriter,
): Promise<void> {
  const snapshotLength = log.length;
  const forwards = request.direction === 'forwards';
  let index: number;
  switch (request.from.kind) {
    case 'start':
      index = forwards ? 0 : -1;
      break;
    case 'end':
      index = forwards ? snapshotLength : snapshotLength - 1;
      break;
    case 'at':
      index = forwards ? log.indexAtOrAfter(request.from.value) : log.indexAtOrAfter(request.from.value) - 1;
      break;
  }
  const step = forwards ? 1 : -1;
  await sendEvents(
    writer,
    request,
    (remaining) => {
      const page: RecordedEvent[] = [];
      // Scan at most one page of the log per step, matching or not, so a selective filter over a
      // long log still yields to the event loop between pages.
      for (let scanned = 0; scanned < READ_PAGE_EVENTS && page.length < remaining; scanned++) {
        if (index < 0 || index >= snapshotLength) break;
        const event = log.at(index);
        index += step;
        if (event !== undefined && !log.isRemoved(event) && filter.matches(event)) page.push(event);
      }
      return page;
    },
    () => index >= 0 && index < snapshotLength,
    stepsMaxFor(snapshotLength),
  );
}

/** Every page step consumes up to a page of the source, so this many steps always exhaust it. */
function stepsMaxFor(sourceLength: number): number {
  return Math.ceil(sourceLength / READ_PAGE_EVENTS) + 1;
}

/**
 * Sends pages until `count` events went out, the source is exhausted, or the call ended.
 * `nextPage(remaining)` returns at most `remaining` (and at most one page of) events; an empty
 * page with `hasMore()` false ends the read.
 */
async function sendEvents(
  writer: ResponseWriter,
  request: ReadRequest,
  nextPage: (remaining: number) => RecordedEvent[],
  hasMore: () => boolean,
  stepsMax: number,
): Promise<void> {
  let sent = 0n;
  for (let step = 0; step < stepsMax; step++) {
    const remaining = request.count - sent;
    if (remaining <= 0n) break;
    const page = nextPage(remaining < BigInt(READ_PAGE_EVENTS) ? Number(remaining) : READ_PAGE_EVENTS);
    for (const event of page) {
      if (!(await writer.send(eventResponse(event, request.uuidFormat)))) return;
      sent += 1n;
    }
    if (page.length === 0 && !hasMore()) break;
  }
  writer.end();
}
