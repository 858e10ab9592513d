/**
 * Delivers simulator callbacks: JSON POSTs over real HTTP to the URL the caller gave, each
 * scheduled on the injected scheduler, at most `pendingMax` scheduled or in flight at once.
 * One attempt per delivery, like Safaricom; the outcome goes to `onDelivery` (never the URL,
 * which carries the organization's secret token).
 */
import { sendHttp, type FetchFunction } from '../http.js';
import type { Scheduler } from './scheduler.js';

/** What happened to one callback POST. */
export interface CallbackDelivery {
  /** `stk`, `b2c`, `reversal`, `transaction_status`, `account_balance`, or a card event. */
  readonly kind: string;
  /** The id the callback is about (CheckoutRequestID, OriginatorConversationID). */
  readonly id: string;
  /** The HTTP status the receiver answered, when it answered. */
  readonly status?: number;
  readonly error?: string;
}

export interface CallbackJob {
  readonly kind: string;
  readonly id: string;
  readonly url: string;
  /** Built when the callback fires, so it reflects the simulator's state at that moment. */
  readonly body: () => unknown;
  /** How many times the same body is posted (duplicates, like a provider that retries). */
  readonly copies: number;
}

export class CallbackSender {
  private pendingCount = 0;
  private readonly cancels = new Map<number, () => void>();
  private sequence = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly scheduler: Scheduler,
    private readonly fetchFunction: FetchFunction,
    private readonly timeoutMs: number,
    readonly pendingMax: number,
    private readonly onDelivery: (delivery: CallbackDelivery) => void,
  ) {}

  /** Callbacks scheduled or in flight. */
  get pending(): number {
    return this.pendingCount;
  }

  /** Whether `count` more callbacks fit under the bound. */
  hasRoom(count: number): boolean {
    return this.pendingCount + count <= this.pendingMax;
  }

  /** Schedules a job `delayMs` from now. The caller checked `hasRoom`. */
  schedule(delayMs: number, job: CallbackJob): void {
    this.pendingCount += 1;
    const id = this.sequence;
    this.sequence += 1;
    const cancel = this.scheduler.schedule(delayMs, () => {
      this.cancels.delete(id);
      void this.run(job);
    });
    this.cancels.set(id, cancel);
  }

  /** Delivers a job now and resolves once every copy has been answered (or failed). */
  async deliverNow(job: CallbackJob): Promise<void> {
    this.pendingCount += 1;
    await this.run(job);
  }

  /** Resolves when nothing is scheduled or in flight. */
  idle(): Promise<void> {
    if (this.pendingCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Cancels every scheduled callback and waits for those in flight. */
  async close(): Promise<void> {
    for (const cancel of this.cancels.values()) {
      cancel();
      this.settle();
    }
    this.cancels.clear();
    await this.idle();
  }

  /** Never rejects: it runs detached from any request, where a rejection would go unhandled. */
  private async run(job: CallbackJob): Promise<void> {
    try {
      const body = JSON.stringify(job.body());
      for (let copy = 0; copy < job.copies; copy += 1) {
        const outcome = await sendHttp(this.fetchFunction, {
          method: 'POST',
          url: job.url,
          headers: { 'content-type': 'application/json' },
          body,
          timeoutMs: this.timeoutMs,
        });
        this.report(
          outcome.kind === 'answered'
            ? { kind: job.kind, id: job.id, status: outcome.status }
            : { kind: job.kind, id: job.id, error: outcome.message },
        );
      }
    } catch (error) {
      this.report({
        kind: job.kind,
        id: job.id,
        error: `the simulator could not build the callback (${error instanceof Error ? error.name : 'error'})`,
      });
    } finally {
      this.settle();
    }
  }

  private report(delivery: CallbackDelivery): void {
    try {
      this.onDelivery(delivery);
    } catch {
      // An observer's failure must not stop deliveries.
    }
  }

  private settle(): void {
    this.pendingCount -= 1;
    if (this.pendingCount > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
