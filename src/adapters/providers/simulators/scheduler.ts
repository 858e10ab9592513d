/**
 * When the simulators' asynchronous work happens. The real scheduler uses timers; tests use
 * the manual one and decide when "later" is, so no test depends on how long anything takes.
 */

export interface Scheduler {
  /** Runs `task` after `delayMs`; the returned function cancels it if it has not run. */
  schedule(delayMs: number, task: () => void): () => void;
}

export const timerScheduler: Scheduler = {
  schedule(delayMs, task) {
    const timer = setTimeout(task, delayMs);
    return () => {
      clearTimeout(timer);
    };
  },
};

/** A scheduler driven by the test: tasks run only when `advance` or `runAll` says so. */
export class ManualScheduler implements Scheduler {
  private nowMs = 0;
  private sequence = 0;
  private readonly tasks = new Map<number, { readonly dueMs: number; readonly task: () => void }>();

  schedule(delayMs: number, task: () => void): () => void {
    const id = this.sequence;
    this.sequence += 1;
    this.tasks.set(id, { dueMs: this.nowMs + Math.max(0, delayMs), task });
    return () => {
      this.tasks.delete(id);
    };
  }

  /** Tasks scheduled and not yet run. */
  get size(): number {
    return this.tasks.size;
  }

  /** Moves the clock on by `ms`, running every task that falls due, earliest first. */
  advance(ms: number): number {
    this.nowMs += ms;
    return this.runDue();
  }

  /** Runs every scheduled task (and any they schedule that is already due), earliest first. */
  runAll(): number {
    const latest = Math.max(this.nowMs, ...[...this.tasks.values()].map((entry) => entry.dueMs));
    this.nowMs = latest;
    return this.runDue();
  }

  private runDue(): number {
    let ran = 0;
    // Bounded by the tasks present: a task that schedules another due now runs in the next call.
    const due = [...this.tasks.entries()]
      .filter(([, entry]) => entry.dueMs <= this.nowMs)
      .sort(([a, x], [b, y]) => x.dueMs - y.dueMs || a - b);
    for (const [id, entry] of due) {
      if (!this.tasks.delete(id)) continue;
      entry.task();
      ran += 1;
    }
    return ran;
  }
}
