/**
 * The event store on PostgreSQL (pg) and PGlite: one implementation over the Database
 * interface, the SQL of migration 0001. See that migration for how global order is kept.
 */
import { ConcurrencyError, LedgerlineError, ValidationError } from '../../../domain/errors.js';
import type { Database } from '../../db/database.js';
import { AppendSignal } from '../appendSignal.js';
import { ChainVerifier } from '../hashChain.js';
import { prepareAppend, type PreparedAppend } from '../newEvents.js';
import { AppendBatcher, type BatchItem } from './appendBatcher.js';
import { pollingSubscription } from '../pollingSubscription.js';
import {
  READ_PAGE_MAX,
  START,
  type AppendResult,
  type EventFilter,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type Position,
  type ReadAllOptions,
  type ReadAllPage,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
  type VerifyResult,
} from '../port.js';
import { RecentData } from './recentData.js';
import { EVENT_COLUMNS, eventColumns, toRecordedEvent, type EventRow } from './rows.js';

/** Pages read while verifying a stream. */
const VERIFY_PAGE_SIZE = 1_000;
/** PostgreSQL error codes and driver errors that mean "the server is not there". */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
]);

interface AppendRow {
  readonly r_index: number;
  readonly r_outcome: 'ok' | 'idempotent' | 'conflict' | 'duplicate_event_id';
  readonly r_revision: string;
  readonly r_commit: string | null;
  readonly r_position: string | null;
}

export interface SqlEventStoreOptions {
  readonly now?: () => Date;
}

export class SqlEventStore implements EventStore {
  private readonly signal = new AppendSignal();
  private readonly now: () => Date;
  private readonly batcher: AppendBatcher<AppendRow>;
  private readonly recent = new RecentData();

  constructor(
    private readonly db: Database,
    options: SqlEventStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.batcher = new AppendBatcher<AppendRow>({
      run: (items) => this.runBatch(items),
      isUnavailable: (error) => unavailableCode(error) !== null,
    });
  }

  get description(): string {
    return `event store on ${this.db.description}`;
  }

  /** Whether this store's events are the ll_events table of `db` (a rebuild can then read them in SQL). */
  storesEventsIn(db: Database): boolean {
    return this.db === db;
  }

  async append(
    stream: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    const prepared = prepareAppend(stream, events, expected, this.now);
    const row = await this.guard(() => this.batcher.submit(stream, appendPayload(prepared)));
    switch (row.r_outcome) {
      case 'ok':
      case 'idempotent':
        // Only what this append stored is remembered (a retry's events were stored before).
        if (row.r_outcome === 'ok') {
          for (const event of prepared.events) this.recent.remember(event.eventId, event.data, event.bytes);
        }
        return {
          nextExpectedRevision: BigInt(row.r_revision),
          position: { commit: BigInt(row.r_commit ?? '0'), prepare: BigInt(row.r_position ?? '0') },
        };
      case 'conflict': {
        const actual = BigInt(row.r_revision);
        throw new ConcurrencyError(stream, expected, actual < 0n ? 'no_stream' : actual);
      }
      case 'duplicate_event_id':
        throw new LedgerlineError(
          'DUPLICATE_EVENT_ID',
          `One of these event ids is already stored and this append is not a retry of that one.`,
          { stream },
        );
    }
  }

  private async runBatch(items: readonly BatchItem<AppendRow>[]): Promise<readonly AppendRow[]> {
    const { rows } = await this.db.query<AppendRow>(
      `SELECT r_index, r_outcome, r_revision::text AS r_revision, r_commit, r_position::text AS r_position
         FROM ll_append_batch($1::jsonb)`,
      [`[${items.map((item) => item.payload).join(',')}]`],
    );
    const byIndex: AppendRow[] = [];
    for (const row of rows) byIndex[row.r_index] = row;
    if (rows.some((row) => row.r_outcome === 'ok')) this.signal.notify();
    return byIndex;
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<readonly RecordedEvent[]> {
    const direction = options.direction ?? 'forwards';
    const maxCount = checkMaxCount(options.maxCount);
    const from = options.from ?? (direction === 'forwards' ? 'start' : 'end');
    if (typeof from === 'bigint' && from < 0n) throw new ValidationError('from', 'must not be negative');
    const params: unknown[] = [stream, maxCount];
    let bound = '';
    if (typeof from === 'bigint') {
      params.push(from.toString());
      bound =
        direction === 'forwards' ? 'AND stream_revision >= $3::bigint' : 'AND stream_revision <= $3::bigint';
    } else if (
      (from === 'end' && direction === 'forwards') ||
      (from === 'start' && direction === 'backwards')
    ) {
      // Reading forwards from the end (or backwards from the start) reaches nothing but the edge.
      bound = direction === 'forwards' ? 'AND false' : 'AND stream_revision <= 0';
    }
    const order = direction === 'forwards' ? 'ASC' : 'DESC';
    const { rows } = await this.guard(() =>
      this.db.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM ll_events WHERE stream_name = $1 ${bound}
         ORDER BY stream_revision ${order} LIMIT $2`,
        params,
      ),
    );
    return rows.map(toRecordedEvent);
  }

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllPage> {
    const from = options.from ?? START;
    const maxCount = checkMaxCount(options.maxCount);
    const params: unknown[] = [from.commit.toString(), from.prepare.toString(), maxCount];
    const where = [
      '(transaction_id, global_position) > ($1::xid8, $2::bigint)',
      // Only transactions that can no longer change what lies below them (see migration 0001).
      'transaction_id < pg_snapshot_xmin(pg_current_snapshot())',
    ];
    const prefix = options.filter?.streamPrefix;
    if (prefix !== undefined && prefix !== '') {
      const dot = prefix.indexOf('.');
      if (dot > 0) {
        // The part before the first dot is the organization: use its index.
        params.push(prefix.slice(0, dot));
        where.push(`org_id = $${params.length}`);
      }
      params.push(prefix);
      where.push(`starts_with(stream_name, $${params.length})`);
    }
    const types = options.filter?.eventTypes;
    if (types !== undefined) {
      params.push(types);
      where.push(`event_type = ANY ($${params.length}::text[])`);
    }
    // Events whose data this process remembers come without it (see recentData.ts).
    const remembered =
      options.recentFromMemory === true && this.recent.size > 0 ? this.recent.snapshot() : null;
    let columns = EVENT_COLUMNS;
    if (remembered) {
      params.push([...remembered.keys()]);
      const known = `event_id = ANY ($${params.length}::uuid[])`;
      columns = `${eventColumns(`CASE WHEN ${known} THEN NULL ELSE data END`)}, ${known} AS remembered`;
    }
    const { rows } = await this.guard(() =>
      this.db.query<EventRow & { remembered?: boolean }>(
        `SELECT ${columns} FROM ll_events WHERE ${where.join(' AND ')}
         ORDER BY transaction_id, global_position LIMIT $3`,
        params,
      ),
    );
    const events = rows.map((row) => {
      const data = row.remembered === true ? remembered?.get(row.event_id) : undefined;
      return toRecordedEvent(data === undefined ? row : { ...row, data });
    });
    const last = events.at(-1);
    return { events, next: last ? last.position : from, isEnd: events.length < maxCount };
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    return pollingSubscription((read) => this.readAll(read), this.signal, options);
  }

  async headPosition(): Promise<Position | null> {
    // Committed and visible now, even above the snapshot's xmin: a reader waits for it.
    const { rows } = await this.guard(() =>
      this.db.query<{ commit: string; prepare: string }>(
        `SELECT transaction_id::text AS commit, global_position::text AS prepare FROM ll_events
          ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
      ),
    );
    const row = rows[0];
    return row ? { commit: BigInt(row.commit), prepare: BigInt(row.prepare) } : null;
  }

  async countEvents(filter: Pick<EventFilter, 'streamPrefix'> = {}): Promise<number> {
    const prefix = filter.streamPrefix;
    if (prefix === undefined || prefix === '') {
      const { rows } = await this.guard(() =>
        this.db.query<{ n: string }>('SELECT count(*)::text AS n FROM ll_events'),
      );
      return Number(rows[0]?.n ?? 0);
    }
    const { rows } = await this.guard(() =>
      this.db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ll_events WHERE org_id = split_part($1, '.', 1) AND starts_with(stream_name, $1)`,
        [prefix],
      ),
    );
    return Number(rows[0]?.n ?? 0);
  }

  async listStreams(orgPrefix: string, after: string | null, limit: number): Promise<readonly string[]> {
    const max = checkMaxCount(limit);
    const org = orgPrefix.endsWith('.') ? orgPrefix.slice(0, -1) : orgPrefix;
    if (org === '' || org.includes('.')) throw new ValidationError('orgPrefix', 'must be "{orgId}."');
    // The expression index of migration 0004 serves exactly this: one organization, by name.
    const { rows } = await this.guard(() =>
      this.db.query<{ stream_name: string }>(
        `SELECT stream_name FROM ll_streams
          WHERE split_part(stream_name, '.', 1) = $1 AND ($2::text IS NULL OR stream_name > $2::text)
          ORDER BY split_part(stream_name, '.', 1), stream_name LIMIT $3`,
        [org, after, max],
      ),
    );
    return rows.map((row) => row.stream_name);
  }

  async verifyStream(stream: string): Promise<VerifyResult> {
    const verifier = new ChainVerifier(stream);
    let from = 0n;
    for (;;) {
      const page = await this.readStream(stream, { from, maxCount: VERIFY_PAGE_SIZE });
      let intact = true;
      for (const event of page) {
        intact = verifier.check(event);
        if (!intact) break;
      }
      const last = page.at(-1);
      if (!intact || !last || page.length < VERIFY_PAGE_SIZE) break;
      from = last.revision + 1n;
    }
    const { rows } = await this.guard(() =>
      this.db.query<{ revision: string; hash: string }>(
        `SELECT revision::text AS revision, encode(last_hash, 'hex') AS hash
           FROM ll_streams WHERE stream_name = $1`,
        [stream],
      ),
    );
    const head = rows[0];
    const broken = verifier.finish(head ? { revision: BigInt(head.revision), hash: head.hash } : null);
    return broken
      ? { ok: false, stream, eventsChecked: verifier.eventsChecked, brokenLink: broken }
      : { ok: true, stream, eventsChecked: verifier.eventsChecked };
  }

  async close(): Promise<void> {
    // The database belongs to whoever opened it; subscribers end when they are closed.
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const code = unavailableCode(error);
      if (code !== null)
        throw new LedgerlineError('STORE_UNAVAILABLE', undefined, { code }, { cause: error });
      const { code: sqlState, constraint } = error as { code?: unknown; constraint?: unknown };
      if (sqlState === '23505' && constraint === 'll_events_event_id') {
        throw new LedgerlineError(
          'DUPLICATE_EVENT_ID',
          'One of these event ids is already stored and this append is not a retry of that one.',
          {},
          { cause: error },
        );
      }
      throw error;
    }
  }
}

function unavailableCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNAVAILABLE_CODES.has(code) ? code : null;
}

/** One append as ll_append_batch reads it, built from the canonical encodings already made. */
function appendPayload(prepared: PreparedAppend): string {
  const expected =
    prepared.expected === 'any' ? -2 : prepared.expected === 'no_stream' ? -1 : prepared.expected;
  const events = prepared.events.map(
    (event) =>
      `{"eventId":"${event.eventId}","type":${JSON.stringify(event.type)},"schemaVersion":${event.schemaVersion},` +
      `"data":${event.dataJson},"metadata":${event.metadataJson},"occurredAt":"${event.occurredAt}",` +
      `"contentHash":"${event.contentHash}"}`,
  );
  return `{"stream":${JSON.stringify(prepared.stream)},"org":${JSON.stringify(prepared.scope)},"expected":${expected},"events":[${events.join(',')}]}`;
}

function checkMaxCount(maxCount: number | undefined): number {
  if (maxCount === undefined) return READ_PAGE_MAX;
  if (!Number.isSafeInteger(maxCount) || maxCount < 1 || maxCount > READ_PAGE_MAX) {
    throw new ValidationError('maxCount', `must be an integer from 1 to ${READ_PAGE_MAX}`);
  }
  return maxCount;
}
