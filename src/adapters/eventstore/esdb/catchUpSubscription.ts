/**
 * `subscribe` on EventStoreDB: a server-side filtered catch-up subscription to `$all` that
 * survives dropped connections.
 *
 * The client never resubscribes by itself: a dropped connection ends the subscription with
 * UnavailableError. This loop then waits (exponential backoff, bounded by the retry policy) and
 * subscribes again from the last position it has handed over, which the server treats as
 * exclusive, so the next event delivered is the first one not yet delivered: nothing is lost and
 * nothing repeats. Checkpoints move that resume point past events the filter dropped, once every
 * event sent before them has been handed over (see allReader.ts).
 */
import type { EventStoreDBClient } from '@eventstore/db-client';
import { LedgerlineError } from '../../../domain/errors.js';
import { comparePositions } from '../position.js';
import { START, type RecordedEvent, type SubscribeOptions, type Subscription } from '../port.js';
import { allFilter } from './allFilter.js';
import { AllReader, type Pulled } from './allReader.js';
import { isUnavailable, toStoreError } from './clientErrors.js';
import { toRecordedEvent } from './eventRecords.js';
import { backoffMs, sleep, type RetryPolicy } from './retry.js';

/** Events buffered between the connection and the consumer before the server is held back. */
export const SUBSCRIPTION_BUFFER_EVENTS = 256;

export function catchUpSubscription(
  client: EventStoreDBClient,
  options: SubscribeOptions,
  policy: RetryPolicy,
  onClose: (subscription: Subscription) => void,
): Subscription {
  const abort = new AbortController();
  // A function, not a property read, because close() flips it while the generator is suspended.
  const closed = (): boolean => abort.signal.aborted;
  const filter = allFilter(options.filter);
  let position = options.from ?? START;
  let reader: AllReader | null = null;

  async function* run(): AsyncGenerator<RecordedEvent> {
    let failures = 0;
    while (!closed()) {
      const current = new AllReader(client, position, filter, SUBSCRIPTION_BUFFER_EVENTS);
      reader = current;
      let pulled: Pulled;
      try {
        for (;;) {
          pulled = await current.next(abort.signal);
          if (closed()) return;
          // Counted per outage: a connection the server confirmed starts the count again.
          if (current.confirmed) failures = 0;
          if (pulled.kind === 'ended') break;
          if (pulled.kind === 'idle') {
            if (current.checkpoint !== null && comparePositions(current.checkpoint, position) > 0) {
              position = current.checkpoint;
            }
            continue;
          }
          const { event } = pulled;
          // Never twice: resubscribing starts strictly after `position`, and this guard holds
          // even if a server sent something again.
          if (comparePositions(event.position, position) <= 0) continue;
          position = event.position;
          if (filter.matches(event)) yield toRecordedEvent(event);
        }
      } finally {
        reader = null;
        await current.close();
      }
      const { error } = pulled;
      if (error !== null && !isUnavailable(error)) throw toStoreError(error, 'subscribing to $all');
      failures += 1;
      if (failures >= policy.attemptsMax) {
        throw new LedgerlineError(
          'STORE_UNAVAILABLE',
          `EventStoreDB is unavailable: the subscription could not reconnect after ${failures} attempts.`,
          { attempts: failures },
          { cause: error },
        );
      }
      await sleep(backoffMs(policy, failures), abort.signal);
    }
  }

  const iterator = run();
  const subscription: Subscription = {
    [Symbol.asyncIterator]: () => iterator,
    close: async () => {
      abort.abort();
      await reader?.close();
      await iterator.return(undefined);
      onClose(subscription);
    },
  };
  return subscription;
}
