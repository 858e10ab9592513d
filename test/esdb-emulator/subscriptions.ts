// Catch-up subscriptions (`ReadReq` with `subscription`), to `$all` or to one stream.
//
// One loop serves both phases: it walks the log from a cursor, a page at a time; when the cursor
// reaches the end it sends `caught_up` once and waits for the next append. Because catch-up and
// live read the same array, there is no hand-over gap and no duplicate, and because writes wait
// for HTTP/2 flow control, a slow client slows the loop instead of filling a buffer (so the
// emulator never "falls behind" and never sends `fell_behind`; KurrentDB does not send it either).
import { randomUUID } from 'node:crypto';
import type { UuidFormat } from './convert.js';
import { caughtUpResponse, checkpointResponse, confirmationResponse, eventResponse } from './convert.js';
import type { AllFilter } from './filters.js';
import { READ_PAGE_EVENTS } from './limits.js';
import type { ReadFrom } from './reads.js';
import type { ResponseWriter } from './responseWriter.js';
import type { EventLog, RecordedEvent } from './store.js';

/**
 * `$all` subscription. START delivers from the first event; END delivers only events appended
 * after the subscription was confirmed; a position is exclusive (the first event delivered is the
 * first one strictly after it), which is what makes "resume from the last position seen" exact.
 *
 * Checkpoints (only with a filter, as on a real server): after every
 * `filter.checkpointIntervalEvents` events considered, matching or not, a checkpoint at the
 * position of the last considered event; and one more when catch-up reaches the end of the log
 * (unless the subscription started at END or nothing was considered), just before `caught_up`.
 * Every event at or before a checkpoint has been considered, so resubscribing from it loses
 * nothing. The counter restarts when the subscription goes live, as the server's does.
 */
export async function subscribeToAll(
  log: EventLog,
  filter: AllFilter | undefined,
  from: ReadFrom,
  uuidFormat: UuidFormat,
  writer: ResponseWriter,
): Promise<void> {
  let cursor: number;
  let lastConsidered: bigint | undefined;
  switch (from.kind) {
    case 'start':
      cursor = 0;
      break;
    case 'end':
      cursor = log.length;
      break;
    case 'at':
      cursor = log.indexAfter(from.value);
      lastConsidered = from.value;
      break;
  }
  const checkpointAtCatchUpEnd = filter !== undefined && from.kind !== 'end';
  let sinceCheckpoint = 0;
  let lastCheckpoint: bigint | undefined;
  let live = false;
  // Like the server, never repeat a checkpoint: the interval and the end of catch-up can land on
  // the same position.
  const sendCheckpoint = async (position: bigint): Promise<boolean> => {
    if (lastCheckpoint !== undefined && position <= lastCheckpoint) return true;
    lastCheckpoint = position;
    return writer.send(checkpointResponse(position));
  };

  if (!(await writer.send(confirmationResponse(randomUUID())))) return;
  while (!writer.closed.aborted) {
    const end = Math.min(log.length, cursor + READ_PAGE_EVENTS);
    if (cursor < end) {
      for (; cursor < end; cursor++) {
        const event = log.at(cursor);
        if (event === undefined) continue;
        lastConsidered = event.position;
        const sent = !log.isRemoved(event) && (filter?.matches(event) ?? true);
        if (sent && !(await writer.send(eventResponse(event, uuidFormat)))) return;
        if (filter === undefined) continue;
        sinceCheckpoint++;
        if (sinceCheckpoint >= filter.checkpointIntervalEvents) {
          sinceCheckpoint = 0;
          if (!(await sendCheckpoint(event.position))) return;
        }
      }
      continue;
    }
    if (!live) {
      live = true;
      if (checkpointAtCatchUpEnd && lastConsidered !== undefined) {
        if (!(await sendCheckpoint(lastConsidered))) return;
      }
      sinceCheckpoint = 0;
      if (!(await writer.send(caughtUpResponse()))) return;
    }
    // The loop is bounded by the call: it runs until the client cancels, the connection drops or
    // the emulator stops, all of which abort `writer.closed` and wake this wait.
    await log.waitForEventsBeyond(cursor, writer.closed);
  }
}

/**
 * Stream subscription. START delivers from revision 0; END only events appended after the
 * subscription was confirmed; a revision is exclusive (delivery starts at revision + 1). A stream
 * that does not exist yet is not an error: the subscription waits for its first event.
 */
export async function subscribeToStream(
  log: EventLog,
  streamId: string,
  from: ReadFrom,
  uuidFormat: UuidFormat,
  writer: ResponseWriter,
): Promise<void> {
  let nextRevision: number;
  switch (from.kind) {
    case 'start':
      nextRevision = 0;
      break;
    case 'end':
      nextRevision = log.stream(streamId)?.length ?? 0;
      break;
    case 'at':
      nextRevision = Number(from.value) + 1;
      break;
  }
  let live = false;

  if (!(await writer.send(confirmationResponse(randomUUID())))) return;
  while (!writer.closed.aborted) {
    // Taken before any await: an append that lands while this pass is sending still wakes the
    // wait below, so it cannot be missed.
    const logLengthSeen = log.length;
    const stream: readonly RecordedEvent[] = log.stream(streamId) ?? [];
    const page = stream.slice(nextRevision, nextRevision + READ_PAGE_EVENTS);
    for (const event of page) {
      if (!log.isRemoved(event) && !(await writer.send(eventResponse(event, uuidFormat)))) return;
      nextRevision++;
    }
    if (page.length > 0) continue;
    if (!live) {
      live = true;
      if (!(await writer.send(caughtUpResponse()))) return;
    }
    // Wakes on any append; the loop re-reads the stream and sleeps again if it did not grow.
    // Bounded by the call, as for `$all`.
    await log.waitForEventsBeyond(logLengthSeen, writer.closed);
  }
}
