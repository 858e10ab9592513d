import type { RecordedEvent, Subscription } from '../../src/adapters/eventstore/port.js';

/** Generous: only a broken subscription ever waits this long. */
export const COLLECT_TIMEOUT_MS = 20_000;

/** Takes exactly `count` events from a subscription, failing if they do not come. */
export async function take(
  subscription: Subscription,
  count: number,
  timeoutMs = COLLECT_TIMEOUT_MS,
): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  if (count === 0) return events;
  const iterator = subscription[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`subscription delivered ${events.length} of ${count} events within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    while (events.length < count) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) throw new Error(`subscription ended after ${events.length} of ${count} events`);
      events.push(next.value);
    }
    return events;
  } finally {
    clearTimeout(timer);
  }
}
