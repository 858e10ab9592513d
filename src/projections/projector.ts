/**
 * The projector: one reader of the global event order feeding every projection. Each batch
 * updates the read models and every projection's checkpoint in ONE transaction, so a crash
 * never applies an event twice or skips one. The checkpoint rows are locked and compared with
 * what this projector last wrote, so a second projector process (or a rebuild running beside a
 * server) can never double-apply a batch: the loser rolls back and re-reads its checkpoints.
 */
import type { Database, SqlClient } from '../adapters/db/database.js';
import { comparePositions } from '../adapters/eventstore/position.js';
import { START, type EventStore, type Position, type RecordedEvent } from '../adapters/eventstore/port.js';
import type { Projection } from './projection.js';

/** Events per transaction: big enough to amortize the commit, small enough to keep lag low. */
export const PROJECTOR_BATCH_MAX = 2_000;
/** How long an idle projector waits before looking for new events. */
export const PROJECTOR_IDLE_MS = 25;
/** After a failed batch: wait, doubling up to the cap, then try again. */
export const PROJECTOR_RETRY_MS = 100;
export const PROJECTOR_RETRY_MAX_MS = 5_000;

export interface ProjectorOptions {
  readonly batchMax?: number;
  /** Told about every failed batch; the projector retries it. */
  readonly onError?: (error: unknown) => void;
  /** Told after every committed batch (progress bars). */
  readonly onBatch?: (events: number, position: Position) => void;
  /**
   * Handed every committed batch's events (caches that must forget what changed), with the
   * range they cover: every event after `from` up to and including `next`.
   */
  readonly onCommitted?: (
    events: readonly RecordedEvent[],
    range: { readonly from: Position; readonly next: Position },
  ) => void;
}

interface CheckpointRow {
  readonly name: string;
  readonly commit_position: string;
  readonly prepare_position: string;
}

class CheckpointMoved extends Error {
  override readonly name = 'CheckpointMoved';
}

export class Projector {
  private readonly checkpoints = new Map<string, Position>();
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly waiters = new Set<() => void>();
  /** Reads started, and the last read that found nothing more: for waitForCaughtUp. */
  private readsStarted = 0;
  private caughtUpRead = 0;

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    readonly projections: readonly Projection[],
    private readonly options: ProjectorOptions = {},
  ) {
    const names = new Set(projections.map((projection) => projection.name));
    if (names.size !== projections.length) throw new Error('projection names must be unique');
  }

  /** The position every projection has passed (the least of their checkpoints). */
  get position(): Position {
    let least: Position | null = null;
    for (const position of this.checkpoints.values()) {
      if (least === null || comparePositions(position, least) < 0) least = position;
    }
    return least ?? START;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  /** Projects until caught up with everything committed now; for rebuilds and tests. */
  async catchUp(): Promise<number> {
    await this.loadCheckpoints();
    let total = 0;
    for (;;) {
      const { applied, isEnd } = await this.step();
      total += applied;
      if (isEnd) return total;
    }
  }

  /** Resolves once every projection has passed `position`, or false after `timeoutMs`. */
  async waitFor(position: Position, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (comparePositions(this.position, position) < 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.nextBatchOr(left);
    }
    return true;
  }

  /**
   * Resolves once the projections have passed every event committed before this call, or
   * false after `timeoutMs` (or when the projector is not running). Where the store can name
   * its newest event, that is the target; otherwise a read that started after this call and
   * found nothing left to project.
   */
  async waitForCaughtUp(timeoutMs: number): Promise<boolean> {
    if (!this.running) return false;
    if (this.store.headPosition) {
      const head = await this.store.headPosition();
      return head === null || this.waitFor(head, timeoutMs);
    }
    const target = this.readsStarted + 1;
    const deadline = Date.now() + timeoutMs;
    this.wake?.();
    while (this.caughtUpRead < target) {
      const left = deadline - Date.now();
      if (left <= 0 || !this.isRunning()) return false;
      await this.nextBatchOr(left);
    }
    return true;
  }

  /** Resolves after the next committed batch, or after `ms`. */
  private nextBatchOr(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** A method, because stop() flips the flag while a waiter is suspended. */
  private isRunning(): boolean {
    return this.running;
  }

  private async run(): Promise<void> {
    let backoff = PROJECTOR_RETRY_MS;
    let loaded = false;
    while (this.running) {
      try {
        if (!loaded) {
          await this.loadCheckpoints();
          loaded = true;
        }
        const { isEnd } = await this.step();
        backoff = PROJECTOR_RETRY_MS;
        if (isEnd) await this.idle(PROJECTOR_IDLE_MS);
      } catch (error) {
        loaded = false;
        if (!(error instanceof CheckpointMoved)) this.options.onError?.(error);
        await this.idle(backoff);
        backoff = Math.min(backoff * 2, PROJECTOR_RETRY_MAX_MS);
      }
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private async loadCheckpoints(): Promise<void> {
    const names = this.projections.map((projection) => projection.name);
    const { rows } = await this.db.query<CheckpointRow>(
      `SELECT name, commit_position::text, prepare_position::text FROM ll_projection_checkpoints WHERE name = ANY ($1::text[])`,
      [names],
    );
    const stored = new Map(rows.map((row) => [row.name, row]));
    this.checkpoints.clear();
    for (const name of names) {
      const row = stored.get(name);
      this.checkpoints.set(
        name,
        row ? { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) } : START,
      );
    }
  }

  /** Reads one batch after the least checkpoint and projects it in one transaction. */
  private async step(): Promise<{ applied: number; isEnd: boolean }> {
    const from = this.position;
    this.readsStarted += 1;
    const read = this.readsStarted;
    const page = await this.store.readAll({
      from,
      maxCount: this.options.batchMax ?? PROJECTOR_BATCH_MAX,
      // It folds events, so the data this process just appended need not be read back.
      recentFromMemory: true,
    });
    const next = page.next;
    // Nothing read and no checkpoint passed: nothing to write. (A filtered store may pass over
    // events that are not ledgerline's and answer a further checkpoint; that one is kept.)
    if (page.events.length === 0 && comparePositions(next, from) <= 0) {
      if (page.isEnd) this.caughtUp(read);
      return { applied: 0, isEnd: page.isEnd };
    }
    const expected = new Map(this.checkpoints);
    let applied = 0;
    const counts: number[] = [];
    await this.db.transaction(async (tx) => {
      // Read models are rebuilt from the events, and the checkpoint commits with them: a commit
      // lost in a crash is simply projected again, so this transaction need not wait for fsync.
      await tx.query('SET LOCAL synchronous_commit = off');
      await this.lockAndCompare(tx, expected);
      for (const projection of this.projections) {
        const after = expected.get(projection.name) ?? START;
        const wanted = new Set(projection.eventTypes);
        const events = page.events.filter(
          (event: RecordedEvent) => comparePositions(event.position, after) > 0 && wanted.has(event.type),
        );
        if (events.length > 0) await projection.apply(tx, events);
        applied += events.length;
        counts.push(events.length);
      }
      await moveCheckpoints(
        tx,
        this.projections.map((projection) => projection.name),
        next,
        counts,
      );
    });
    for (const projection of this.projections) this.checkpoints.set(projection.name, next);
    this.options.onBatch?.(page.events.length, next);
    this.options.onCommitted?.(page.events, { from, next });
    if (page.isEnd) this.caughtUp(read);
    else for (const wake of [...this.waiters]) wake();
    return { applied, isEnd: page.isEnd };
  }

  private caughtUp(read: number): void {
    this.caughtUpRead = Math.max(this.caughtUpRead, read);
    for (const wake of [...this.waiters]) wake();
  }

  private async lockAndCompare(tx: SqlClient, expected: ReadonlyMap<string, Position>): Promise<void> {
    const names = [...expected.keys()];
    // Rows must exist to be locked: a fresh projection starts at START. A projection past
    // START read its row; if that row is gone now (a rebuild), the count below says so.
    const fresh = names.filter((name) => comparePositions(expected.get(name) ?? START, START) === 0);
    if (fresh.length > 0) {
      await tx.query(
        `INSERT INTO ll_projection_checkpoints (name, commit_position, prepare_position)
         SELECT unnest($1::text[]), 0, 0 ON CONFLICT (name) DO NOTHING`,
        [fresh],
      );
    }
    const { rows } = await tx.query<CheckpointRow>(
      `SELECT name, commit_position::text, prepare_position::text FROM ll_projection_checkpoints
        WHERE name = ANY ($1::text[]) ORDER BY name FOR UPDATE`,
      [names],
    );
    if (rows.length !== names.length) throw new CheckpointMoved('a checkpoint was removed');
    for (const row of rows) {
      const mine = expected.get(row.name) ?? START;
      const stored = { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) };
      if (comparePositions(mine, stored) !== 0) throw new CheckpointMoved(`${row.name} moved`);
    }
  }
}

/** Every projection's checkpoint to `position`, with the events each applied: one statement. */
async function moveCheckpoints(
  tx: SqlClient,
  names: readonly string[],
  position: Position,
  events: readonly number[],
): Promise<void> {
  await tx.query(
    `UPDATE ll_projection_checkpoints c SET commit_position = $2, prepare_position = $3,
       events_projected = c.events_projected + u.events, updated_at = now()
       FROM unnest($1::text[], $4::bigint[]) AS u(name, events) WHERE c.name = u.name`,
    [names, position.commit.toString(), position.prepare.toString(), events],
  );
}
