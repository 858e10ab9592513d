// Injected append failures. Each append call that reaches its end (all events received) consumes
// one pending fault, whatever its outcome would have been.

/**
 * - `afterWrite`: the events are stored (subscriptions see them), then the call fails with
 *   UNAVAILABLE, so the client sees a lost answer. A retry with the same event ids and the same
 *   exact expected revision must come back as an idempotent success.
 * - `beforeWrite`: the call fails with UNAVAILABLE and nothing is stored.
 */
export type AppendFaultTiming = 'afterWrite' | 'beforeWrite';

/** Bound on queued faults, so a runaway test loop fails loudly instead of growing a queue. */
const PENDING_FAULTS_MAX = 10_000;

export class AppendFaults {
  private pending: AppendFaultTiming[] = [];

  failNext(count: number, timing: AppendFaultTiming): void {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`failNextAppends: count must be an integer >= 0, got ${count}`);
    if (this.pending.length + count > PENDING_FAULTS_MAX) {
      throw new RangeError(`failNextAppends: more than ${PENDING_FAULTS_MAX} pending faults`);
    }
    for (let i = 0; i < count; i++) this.pending.push(timing);
  }

  /** The fault for the append call finishing now, if one is pending. */
  take(): AppendFaultTiming | undefined {
    return this.pending.shift();
  }

  clear(): void {
    this.pending = [];
  }

  get pendingCount(): number {
    return this.pending.length;
  }
}
