/**
 * The event publisher: reads the global order after its own checkpoint, up to what the
 * projector has committed (so a subscriber that hears of an event can already read it in the
 * read models), and publishes it to the bus in order, a bounded batch at a time. The
 * checkpoint (a row in ll_publisher_checkpoints) moves only after the bus acknowledged the
 * whole batch, so an outage loses nothing: publishing resumes from the checkpoint, and what
 * was acknowledged but not checkpointed is dropped by JetStream's message-id dedupe (and
 * skipped outright when the bus names its newest event). Commands never wait for any of it.
 *
 * Several processes may run a publisher on one checkpoint: each moves it with a
 * compare-and-set, a loser re-reads it, and JetStream drops whatever both sent. The
 * in-process bus keeps its checkpoint in memory instead (every process has its own bus and
 * must hear every event itself), starting at what is committed when it starts.
 */
import type { Database } from '../db/database.js';
import { comparePositions, formatPosition } from '../eventstore/position.js';
import type { EventStore, Position, RecordedEvent } from '../eventstore/port.js';
import type { Logger } from '../log.js';
import { toBusEvent } from './busEvent.js';
import type { BusHealth, EventBus } from './port.js';

/**
 * Committed batches the projector handed over, waiting to be published without reading them
 * again (the in-process bus only); past this many the publisher forgets them and reads.
 */
export const OFFERED_BATCHES_MAX = 64;
/** Events per publish: large enough to amortize the acknowledgements, small enough to retry. */
export const PUBLISH_BATCH_MAX = 500;
/** How long an idle publisher waits before looking again (the projector also wakes it). */
export const PUBLISH_IDLE_MS = 50;
/** After a failed batch: wait, doubling up to the cap, then retry from the checkpoint. */
export const PUBLISH_RETRY_MS = 100;
export const PUBLISH_RETRY_MAX_MS = 5_000;

export interface PublisherOptions {
  /** The checkpoint row; null keeps the checkpoint in memory (the in-process bus). */
  readonly checkpointName: string | null;
  /** What the projections have committed: nothing after it is published yet. */
  readonly horizon: () => Promise<Position> | Position;
  readonly log: Pick<Logger, 'info' | 'warn'>;
  readonly batchMax?: number;
}

export interface PublisherStatus {
  readonly bus: BusHealth;
  /** The position everything up to which is published; null before the first load. */
  readonly publishedThrough: string | null;
  /** Milliseconds since the publisher was last caught up with the projections (0 when it is). */
  readonly lagMs: number;
}

class CheckpointMoved extends Error {
  override readonly name = 'CheckpointMoved';
}

export class EventPublisher {
  private checkpoint: Position | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private outageSince: number | null = null;
  private caughtUpAt = Date.now();
  private caughtUp = false;
  private published = 0;

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly bus: EventBus,
    private readonly options: PublisherOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
    this.loop = null;
  }

  /** Look now: the projector committed a batch. */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * The projector committed these events, every one after `from` up to `next`. With its
   * checkpoint in memory (the in-process bus) the publisher publishes them as they are when
   * they start where it stands, instead of reading them back; otherwise, and after any gap,
   * it reads from the store as always. A shared checkpoint (NATS) always reads: its place may
   * have been moved by another process.
   */
  offer(events: readonly RecordedEvent[], range: { readonly from: Position; readonly next: Position }): void {
    if (this.options.checkpointName === null) {
      if (this.offered.length >= OFFERED_BATCHES_MAX) this.offered.length = 0;
      this.offered.push({ events, from: range.from, next: range.next });
    }
    this.wakeUp?.();
  }

  private readonly offered: {
    readonly events: readonly RecordedEvent[];
    readonly from: Position;
    readonly next: Position;
  }[] = [];

  /** An offered batch that starts exactly at `from`, dropping those already passed. */
  private takeOffered(
    from: Position,
  ): { readonly events: readonly RecordedEvent[]; readonly next: Position } | null {
    while (this.offered.length > 0) {
      const first = this.offered[0];
      if (!first || comparePositions(first.next, from) > 0) break;
      this.offered.shift();
    }
    const first = this.offered[0];
    if (!first || comparePositions(first.from, from) !== 0) return null;
    this.offered.shift();
    return first;
  }

  /** Events published by this process since it started. */
  get publishedCount(): number {
    return this.published;
  }

  status(): PublisherStatus {
    return {
      bus: this.outageSince === null ? this.bus.health() : 'unreachable',
      publishedThrough: this.checkpoint ? formatPosition(this.checkpoint) : null,
      lagMs: this.caughtUp ? 0 : Math.max(0, Date.now() - this.caughtUpAt),
    };
  }

  private async run(): Promise<void> {
    let backoff = PUBLISH_RETRY_MS;
    let resync = true;
    while (this.running) {
      try {
        if (this.checkpoint === null || resync) {
          this.checkpoint = await this.load();
        }
        const { published, more } = await this.step(resync);
        resync = false;
        backoff = PUBLISH_RETRY_MS;
        if (this.outageSince !== null) {
          this.options.log.info(
            { downMs: Date.now() - this.outageSince, published },
            'event publishing resumed: the bus is reachable again',
          );
          this.outageSince = null;
        }
        if (!more) await this.idle(PUBLISH_IDLE_MS);
      } catch (error) {
        resync = true;
        if (error instanceof CheckpointMoved) continue;
        if (this.outageSince === null) {
          this.outageSince = Date.now();
          // The message and code only: an error object could carry a connection URL.
          this.options.log.warn(
            { error: describe(error), bus: this.bus.description },
            'event publishing paused: the bus is unreachable; commands go on, and publishing resumes from its checkpoint',
          );
        }
        await this.idle(backoff);
        backoff = Math.min(backoff * 2, PUBLISH_RETRY_MAX_MS);
      }
    }
  }

  /** One bounded batch; `more` when the next one may be waiting already. */
  private async step(resync: boolean): Promise<{ published: number; more: boolean }> {
    const from = this.checkpoint ?? (await this.options.horizon());
    const horizon = await this.options.horizon();
    if (comparePositions(from, horizon) >= 0) {
      this.markCaughtUp(true);
      return { published: 0, more: false };
    }
    this.markCaughtUp(false);
    const offered = resync ? null : this.takeOffered(from);
    if (offered && comparePositions(offered.next, horizon) <= 0) {
      if (offered.events.length > 0 && !this.bus.reachesNobody?.())
        await this.bus.publish(offered.events.map(toBusEvent));
      this.checkpoint = offered.next;
      this.published += offered.events.length;
      return { published: offered.events.length, more: true };
    }
    // Nobody to hear it and nothing kept: move on without reading.
    if (this.bus.reachesNobody?.()) {
      this.checkpoint = horizon;
      return { published: 0, more: false };
    }
    const wanted = this.bus.wantedTypes?.() ?? null;
    const page = await this.store.readAll({
      from,
      maxCount: this.options.batchMax ?? PUBLISH_BATCH_MAX,
      ...(wanted ? { filter: { eventTypes: [...wanted] } } : {}),
    });
    let events: readonly RecordedEvent[] = page.events.filter(
      (event) => comparePositions(event.position, horizon) <= 0,
    );
    const whole = events.length === page.events.length && comparePositions(page.next, horizon) <= 0;
    const next = whole ? page.next : (events.at(-1)?.position ?? from);
    // A read of some types only: a page that ended, or passed the horizon, held every wanted
    // event up to the horizon (which the projections, and so this read, have passed), so the
    // place moves there and not just to the last wanted event, which may be far behind.
    const through = wanted && (page.isEnd || !whole) ? horizon : next;
    if (resync && this.bus.lastPublishedEventId && events.length > 0) {
      // After a restart or an outage: what the bus already holds was acknowledged but not
      // checkpointed; skip it rather than lean on the duplicate window alone.
      const last = await this.bus.lastPublishedEventId();
      const index = last === null ? -1 : events.findIndex((event) => event.eventId === last);
      if (index >= 0) events = events.slice(index + 1);
    }
    if (events.length > 0) await this.bus.publish(events.map(toBusEvent));
    await this.save(from, through, events.length);
    this.checkpoint = through;
    this.published += events.length;
    return { published: events.length, more: !page.isEnd || !whole };
  }

  private markCaughtUp(caughtUp: boolean): void {
    if (caughtUp || this.caughtUp) this.caughtUpAt = Date.now();
    this.caughtUp = caughtUp;
  }

  private async load(): Promise<Position> {
    const name = this.options.checkpointName;
    // In memory: keep our place; at first, start at what is committed now.
    if (name === null) return this.checkpoint ?? (await this.options.horizon());
    const { rows } = await this.db.query<{ commit_position: string; prepare_position: string }>(
      'SELECT commit_position::text, prepare_position::text FROM ll_publisher_checkpoints WHERE name = $1',
      [name],
    );
    const row = rows[0];
    if (row) return { commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) };
    // A new bus starts with what is committed from now on: history stays in the event store,
    // where the live feeds replay it from.
    const start = await this.options.horizon();
    await this.db.query(
      `INSERT INTO ll_publisher_checkpoints (name, commit_position, prepare_position)
       VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
      [name, start.commit.toString(), start.prepare.toString()],
    );
    return this.load();
  }

  private async save(from: Position, next: Position, events: number): Promise<void> {
    const name = this.options.checkpointName;
    if (name === null || comparePositions(next, from) === 0) return;
    const { rowCount } = await this.db.query(
      `UPDATE ll_publisher_checkpoints
          SET commit_position = $4, prepare_position = $5,
              events_published = events_published + $6, updated_at = now()
        WHERE name = $1 AND commit_position = $2 AND prepare_position = $3`,
      [
        name,
        from.commit.toString(),
        from.prepare.toString(),
        next.commit.toString(),
        next.prepare.toString(),
        events,
      ],
    );
    if (rowCount !== 1) throw new CheckpointMoved(`${name} moved`);
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
    });
  }
}

function describe(error: unknown): { message: string; code?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  const code = (error as { code?: unknown }).code;
  return { message: `${error.message}${cause}`, ...(typeof code === 'string' ? { code } : {}) };
}
