/**
 * Group commit for appends. Appends that arrive while earlier ones are in flight wait in a
 * queue and go to the database together, as one transaction, one round trip. Each append in
 * a batch keeps its own outcome (a conflict in one does not fail the others) and is
 * acknowledged only after the transaction commits, so nothing acknowledged is lost. A lone
 * append is sent at once: batching costs no latency, it only removes commits under load.
 */
import { LedgerlineError } from '../../../domain/errors.js';

/** At most this many appends in one transaction. */
export const BATCH_APPENDS_MAX = 64;
/** At most this many payload bytes in one transaction. */
export const BATCH_BYTES_MAX = 4 * 1024 * 1024;
/** Transactions in flight at once: enough to overlap a commit with the next batch's work. */
export const BATCHES_IN_FLIGHT_MAX = 3;
/** Appends waiting beyond this are refused rather than queued without bound. */
export const QUEUE_APPENDS_MAX = 20_000;

export interface BatchItem<Result> {
  /** Sort key: batches lock streams in name order, so concurrent batches cannot deadlock. */
  readonly stream: string;
  readonly payload: string;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

export interface BatchRunner<Result> {
  /** Runs the items as one transaction and answers one result per item, in order. */
  run(items: readonly BatchItem<Result>[]): Promise<readonly Result[]>;
  /** True when an error says the database is unreachable, so retrying one by one is futile. */
  isUnavailable(error: unknown): boolean;
}

export class AppendBatcher<Result> {
  private readonly queue: BatchItem<Result>[] = [];
  private inFlight = 0;
  /** Streams written by a batch in flight, with how many of its appends. */
  private readonly busy = new Map<string, number>();

  constructor(private readonly runner: BatchRunner<Result>) {}

  submit(stream: string, payload: string): Promise<Result> {
    if (this.queue.length >= QUEUE_APPENDS_MAX) {
      return Promise.reject(
        new LedgerlineError(
          'STORE_UNAVAILABLE',
          `The event store has ${QUEUE_APPENDS_MAX} appends waiting; try again.`,
        ),
      );
    }
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ stream, payload, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < BATCHES_IN_FLIGHT_MAX && this.queue.length > 0) {
      const batch = this.takeBatch();
      if (batch.length === 0) return;
      this.inFlight += 1;
      for (const item of batch) this.busy.set(item.stream, (this.busy.get(item.stream) ?? 0) + 1);
      void this.send(batch).finally(() => {
        this.inFlight -= 1;
        for (const item of batch) {
          const left = (this.busy.get(item.stream) ?? 1) - 1;
          if (left === 0) this.busy.delete(item.stream);
          else this.busy.set(item.stream, left);
        }
        this.pump();
      });
    }
  }

  /**
   * The next batch: appends in arrival order, but none for a stream that a batch in flight
   * already writes. Two transactions for one stream would race for its lock in either order,
   * so a writer that sends its next append before the last one answered (the ledger's books
   * do) would see conflicts; held back, its appends go together in the next batch, in order.
   */
  private takeBatch(): BatchItem<Result>[] {
    const batch: BatchItem<Result>[] = [];
    const held = new Set<string>();
    let bytes = 0;
    for (let i = 0; i < this.queue.length && batch.length < BATCH_APPENDS_MAX;) {
      const next = this.queue[i];
      if (!next) break;
      if (this.busy.has(next.stream) || held.has(next.stream)) {
        held.add(next.stream);
        i += 1;
        continue;
      }
      if (batch.length > 0 && bytes + next.payload.length > BATCH_BYTES_MAX) break;
      this.queue.splice(i, 1);
      batch.push(next);
      bytes += next.payload.length;
    }
    // A stable sort keeps two appends to one stream in the order they were submitted.
    return batch.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
  }

  private async send(batch: readonly BatchItem<Result>[]): Promise<void> {
    try {
      const results = await this.runner.run(batch);
      batch.forEach((item, index) => {
        const result = results[index];
        if (result === undefined)
          item.reject(new LedgerlineError('INTERNAL', 'The batch answered too few results.'));
        else item.resolve(result);
      });
    } catch (error) {
      if (batch.length === 1 || this.runner.isUnavailable(error)) {
        for (const item of batch) item.reject(error);
        return;
      }
      // One append broke the whole transaction (say, an event id racing another batch): run
      // each alone so the others still land and only the culprit sees the error.
      for (const item of batch) await this.send([item]);
    }
  }
}
