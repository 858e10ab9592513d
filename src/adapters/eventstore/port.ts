/**
 * The event store port, in ledgerline's own terms. Every adapter (PostgreSQL, PGlite,
 * EventStoreDB) implements exactly this, and one conformance suite holds them to it.
 */
import type { JsonValue } from '../../domain/canonicalJson.js';

/**
 * A place in the global order of all events. Two bigints, because EventStoreDB's `$all`
 * positions are `{commit, prepare}`; the PostgreSQL adapters use `{transaction id, sequence}`.
 * Compare with `comparePositions`, carry on the wire with `formatPosition`.
 */
export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

/** Before every event: reading or subscribing from here starts at the first event. */
export const START: Position = Object.freeze({ commit: 0n, prepare: 0n });

/** The revision a stream must be at for an append to succeed. */
export type ExpectedRevision = bigint | 'no_stream' | 'any';

export type ActorKind = 'member' | 'api_key' | 'system' | 'provider';
export type ChannelKind = 'rest' | 'mcp' | 'cli' | 'callback' | 'system';

export interface Actor {
  readonly kind: ActorKind;
  readonly id: string;
  readonly role?: string | null;
}

export interface Channel {
  readonly kind: ChannelKind;
  /** For MCP: the client's name and version from its `initialize`. */
  readonly clientName?: string | null;
  readonly clientVersion?: string | null;
}

/** Who and what caused an event (SPEC §2). */
export interface EventMetadata {
  readonly actor: Actor;
  readonly channel: Channel;
  /** Defaults to the first event id of the append (the append is then the root cause). */
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly requestId?: string | null;
  readonly idempotencyKey?: string | null;
}

/** An event as a writer proposes it. */
export interface NewEvent {
  /** A UUID; generated when absent. Retrying with the same ids makes an append idempotent. */
  readonly eventId?: string;
  readonly type: string;
  readonly schemaVersion?: number;
  readonly data: JsonValue;
  readonly metadata: EventMetadata;
  /** The writer's clock; the store's clock when absent. */
  readonly occurredAt?: Date;
}

/** An event as it is stored: the full envelope of SPEC §2. */
export interface RecordedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: JsonValue;
  readonly streamName: string;
  readonly orgId: string;
  readonly revision: bigint;
  readonly position: Position;
  readonly occurredAt: Date;
  readonly actor: Required<Actor>;
  readonly channel: Required<Channel>;
  readonly correlationId: string;
  readonly causationId: string;
  readonly requestId: string | null;
  readonly idempotencyKey: string | null;
  /** Hex SHA-256 of the previous event in the stream (64 zeros for the first). */
  readonly prevHash: string;
  /** Hex SHA-256 chaining this event to `prevHash`; see hashChain.ts. */
  readonly hash: string;
}

export interface AppendResult {
  /** The revision of the last event written; pass it as the next expected revision. */
  readonly nextExpectedRevision: bigint;
  /** The global position of the last event written. */
  readonly position: Position;
}

export type Direction = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  /** Inclusive. Defaults to 'start' forwards and 'end' backwards. */
  readonly from?: bigint | 'start' | 'end';
  readonly direction?: Direction;
  /** At most READ_PAGE_MAX. */
  readonly maxCount?: number;
}

export interface EventFilter {
  /** Only streams whose name starts with this (an organization is `${orgId}.`). */
  readonly streamPrefix?: string;
  /** Only these event types. */
  readonly eventTypes?: readonly string[];
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. Defaults to START. */
  readonly from?: Position;
  readonly filter?: EventFilter;
  /** At most READ_PAGE_MAX. */
  readonly maxCount?: number;
  /**
   * The data of large events this process appended may come from memory instead of being read
   * back: the same JSON values, without the store encoding and this process decoding a few
   * hundred kilobytes per ledger batch. For readers that fold events (the projector); readers
   * that show or verify what is stored (exports, audits) leave it off. Stores without such a
   * memory ignore it.
   */
  readonly recentFromMemory?: boolean;
}

export interface ReadAllPage {
  readonly events: readonly RecordedEvent[];
  /** Where the next page starts (exclusive); a checkpoint even when no event matched. */
  readonly next: Position;
  /** True when the read reached the end of what is committed now. */
  readonly isEnd: boolean;
}

export interface SubscribeOptions {
  /** Exclusive: delivers events strictly after this position. Defaults to START. */
  readonly from?: Position;
  readonly filter?: EventFilter;
}

/** Catch-up then live, every committed event once, in global order. */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  /** Ends the iteration; pending reads are abandoned. */
  close(): Promise<void>;
}

export type VerifyResult =
  | { readonly ok: true; readonly stream: string; readonly eventsChecked: number }
  | {
      readonly ok: false;
      readonly stream: string;
      readonly eventsChecked: number;
      readonly brokenLink: BrokenLink;
    };

export interface BrokenLink {
  readonly stream: string;
  /** The revision at which the chain first fails. */
  readonly revision: bigint;
  readonly reason: 'content_changed' | 'chain_broken' | 'revision_gap' | 'head_mismatch';
  readonly expectedHash: string;
  readonly foundHash: string;
}

export interface EventStore {
  /** A label for logs and the console: where the events live. */
  readonly description: string;
  append(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /** A missing stream reads as empty. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<readonly RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<ReadAllPage>;
  subscribe(options?: SubscribeOptions): Subscription;
  /**
   * The position of the newest committed event (null when there is none), where the store can
   * tell: what "caught up with everything committed now" means for read-your-writes.
   */
  headPosition?(): Promise<Position | null>;
  /**
   * How many events are stored (only those of streams starting with `filter.streamPrefix`,
   * when given), where the store can tell cheaply (progress bars).
   */
  countEvents?(filter?: Pick<EventFilter, 'streamPrefix'>): Promise<number>;
  /**
   * One organization's stream names in name order, after `after` (exclusive), at most `limit`
   * (≤ READ_PAGE_MAX), where the store can list them: a whole-organization verify pages
   * through them. `orgPrefix` is `{orgId}.`.
   */
  listStreams?(orgPrefix: string, after: string | null, limit: number): Promise<readonly string[]>;
  /** Recomputes the stream's hash chain and names the first broken link. */
  verifyStream(stream: string): Promise<VerifyResult>;
  close(): Promise<void>;
}

/** Bounds on one read: a page never holds more than this many events. */
export const READ_PAGE_MAX = 4096;
