import { AppendSignal } from './appendSignal.js';
import {
  START,
  type ReadAllOptions,
  type ReadAllPage,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
} from './port.js';

/** How long a caught-up subscriber waits before looking for other processes' appends. */
export const POLL_INTERVAL_MS = 100;
/** Events fetched per read while catching up. */
export const SUBSCRIPTION_PAGE_SIZE = 1_000;

/**
 * A catch-up subscription built on readAll: pages through history, then waits for the
 * append signal (or the poll interval) and reads on. readAll's order is stable, so every
 * committed event is delivered once and in order.
 */
export function pollingSubscription(
  readAll: (options: ReadAllOptions) => Promise<ReadAllPage>,
  signal: AppendSignal,
  options: SubscribeOptions = {},
): Subscription {
  const abort = new AbortController();
  let position = options.from ?? START;
  // A function, not a property read, because close() flips it while the generator is suspended.
  const closed = (): boolean => abort.signal.aborted;

  async function* run(): AsyncGenerator<RecordedEvent> {
    while (!closed()) {
      const page = await readAll({
        from: position,
        maxCount: SUBSCRIPTION_PAGE_SIZE,
        ...(options.filter ? { filter: options.filter } : {}),
      });
      for (const event of page.events) {
        if (closed()) return;
        position = event.position;
        yield event;
      }
      position = page.next;
      if (page.isEnd) await signal.wait(POLL_INTERVAL_MS, abort.signal);
    }
  }

  const iterator = run();
  return {
    [Symbol.asyncIterator]: () => iterator,
    close: async () => {
      abort.abort();
      await iterator.return(undefined);
    },
  };
}
