/** Finite reads of one stream through the client, with a missing stream read as empty. */
import {
  BACKWARDS,
  END,
  FORWARDS,
  START,
  type EventStoreDBClient,
  type ReadRevision,
} from '@eventstore/db-client';
import { isStreamNotFound } from './clientErrors.js';
import type { EsdbRecordedEvent } from './eventRecords.js';

export interface RawReadOptions {
  readonly from: bigint | 'start' | 'end';
  readonly direction: 'forwards' | 'backwards';
  readonly maxCount: number;
}

/**
 * At most `maxCount` events: the server ends the read there, which bounds the loop. The loop
 * always runs to that end, because leaving it early would leave the gRPC call open until the
 * client is disposed. `StreamNotFoundError` arrives as a stream error, so `for await` throws it.
 */
export async function readStreamEvents(
  client: EventStoreDBClient,
  stream: string,
  options: RawReadOptions,
): Promise<EsdbRecordedEvent[]> {
  const fromRevision: ReadRevision =
    options.from === 'start' ? START : options.from === 'end' ? END : options.from;
  const events: EsdbRecordedEvent[] = [];
  try {
    const read = client.readStream(stream, {
      fromRevision,
      direction: options.direction === 'forwards' ? FORWARDS : BACKWARDS,
      maxCount: options.maxCount,
    });
    for await (const resolved of read) {
      if (resolved.event !== undefined) events.push(resolved.event);
    }
  } catch (error) {
    if (isStreamNotFound(error)) return [];
    throw error;
  }
  return events;
}
