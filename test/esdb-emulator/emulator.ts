/**
 * # EventStoreDB gRPC emulator (tests only)
 *
 * An in-memory gRPC server that answers the part of EventStoreDB's `Streams` service that
 * `@eventstore/db-client` v6 uses for appends, reads and catch-up subscriptions, so the
 * EventStoreDB adapter can be tested where no EventStoreDB server can run. It is built on the
 * service definitions shipped inside the client package (`generated/streams_grpc_pb.js`).
 *
 * ```ts
 * const emulator = await startEsdbEmulator();
 * const client = EventStoreDBClient.connectionString(emulator.connectionString);
 * // ... test ...
 * await client.dispose();
 * await emulator.stop();
 * ```
 *
 * ## What it implements
 * - `Streams.Append` (classic, client-streaming): expected revision exact / NO_STREAM / ANY /
 *   STREAM_EXISTS; wrong expected version as an `AppendResp` result carrying the current revision
 *   (or no-stream) and the expected one; idempotent retries (same event ids at the same expected
 *   revision answer the original result and write nothing; ANY dedupes on a consecutive id match,
 *   like the server's best effort); `MaximumAppendSizeExceeded` (INVALID_ARGUMENT with the
 *   `exception` / `maximum-append-size` trailers, i.e. the client's `MaxAppendSizeExceededError`)
 *   once data + custom-metadata bytes of one append pass `maxAppendSizeBytes` (default 1,048,576).
 *   Recent KurrentDB versions also count 2 bytes per event-type character; older ones only the data.
 * - `Streams.Read` for a stream (forwards/backwards, from START / END / revision, count,
 *   `stream_not_found` for a stream without events) and for `$all` (forwards/backwards, from START /
 *   END / position, count, stream-name or event-type filters by prefixes or regex). Forwards from a
 *   position is inclusive; backwards from a position returns the events before it.
 * - Catch-up subscriptions to `$all` (START / END / exclusive position; optional filter with
 *   checkpoints every `checkpointIntervalMultiplier × searchWindow` considered events and one when
 *   catch-up ends) and to a stream (START / END / exclusive revision). Both send `confirmation`
 *   first and `caught_up` once the log's end is reached, then live events.
 * - Records as a server returns them: revisions from 0; positions `{commit, prepare}` with
 *   commit = prepare, from a byte-offset-like counter that increases strictly in append order and
 *   starts above 0; metadata `type`, `content-type` (`application/json` or
 *   `application/octet-stream`, since the server keeps only "is JSON") and `created` in .NET ticks
 *   since the Unix epoch (what the client converts to `created: Date`); custom metadata bytes as
 *   given. An append's result position is that of its last event (a real server may report a
 *   different prepare position for multi-event appends: do not depend on `prepare` there).
 *
 * ## Fault injection
 * - `dropConnections()`: destroys every TCP connection (in-flight calls and subscriptions end
 *   with UNAVAILABLE on the client); the listener keeps serving new connections on the same port.
 * - `failNextAppends(n, 'afterWrite' | 'beforeWrite')`: the next n append calls end with
 *   UNAVAILABLE, after storing the events (default: the answer is lost, a retry must be
 *   idempotent) or before (nothing stored).
 * - `setAcceptingConnections(false)`: new connections are closed on arrival, until set back.
 * - `appendDirect(...)`: writes into the log without gRPC (seeding, system events).
 * - `tamper.editData / deleteEvent / swapEvents`: changes stored events behind the server's back
 *   (what someone with access to its files could do), for hash-chain verification tests. A
 *   deleted event is passed over by every read and subscription and its revision stays taken; a
 *   swap exchanges two events' revisions, each keeping its `$all` position.
 *
 * ## What it does not implement
 * - `Streams.BatchAppend` (answers UNIMPLEMENTED; the client never calls it because the
 *   server-features service is absent, which makes it fall back to `Append`), `Streams.Delete`,
 *   `Streams.Tombstone` (UNIMPLEMENTED): no soft delete, no tombstones, no truncation.
 * - Stream metadata (`$$stream` streams, `$maxCount`, `$maxAge`, `$tb`, ACLs); they are plain
 *   streams here with no effect.
 * - System projections and the streams they write (`$by_category`, `$by_event_type`, `$ce-`,
 *   `$et-`, `$streams`), link events and `resolveLinkTos` (ignored), user projections.
 * - System events a real `$all` starts with (`$epoch-information`, `$settings`, ...): `$all`
 *   holds only what was appended. The `$`-type events a test appends are filtered like real ones.
 * - Persistent subscriptions, the Projections / Users / Operations / Monitoring / Gossip /
 *   Cluster / ServerFeatures services, authentication and ACLs (credentials are ignored), TLS,
 *   clustering, leader election and `requires-leader` (every call is served).
 * - Deadlines and server-side timeouts; `fell_behind` (a slow subscriber slows the emulator
 *   through HTTP/2 flow control instead); the `first/last_stream_position` messages;
 *   the `MaximumAppendEventSize` per-event limit of recent versions.
 * - Persistence: the log lives in memory and dies with the emulator.
 * - Regex dialect: filters use JavaScript `RegExp`, not .NET `Regex`.
 *
 * ## Taken from the server's source, not checked against a running server
 * - A backwards `$all` read from a position excludes the event at that position.
 * - The prepare position a real server reports for a multi-event append (see above).
 * - `caught_up` exists from EventStoreDB 23.10 on; older servers never send it, so an adapter
 *   must not need it to make progress.
 * Run the conformance suite against a real server (`EVENTSTORE_URL`) before relying on these.
 */
import { randomUUID } from 'node:crypto';
import { AppendFaults } from './faults.js';
import type { AppendFaultTiming } from './faults.js';
import { DEFAULT_MAX_APPEND_SIZE_BYTES } from './limits.js';
import { EmulatorTransport } from './server.js';
import { EventLog } from './store.js';
import type { AppendOutcome, CurrentRevision, ExpectedRevision, ProposedEvent } from './store.js';
import { createStreamsService } from './streamsService.js';

export type { AppendFaultTiming } from './faults.js';
export type { AppendOutcome, CurrentRevision, ExpectedRevision } from './store.js';

export interface EsdbEmulatorOptions {
  /** Interface to listen on; default 127.0.0.1. */
  readonly host?: string;
  /** TCP port; default 0 (a free port, see `port` / `connectionString`). */
  readonly port?: number;
  /** The append-size limit, in data + custom-metadata bytes per append; default 1,048,576. */
  readonly maxAppendSizeBytes?: number;
  /** Clock for the `created` timestamp of recorded events; default the system clock. */
  readonly now?: () => Date;
}

/** An event for `appendDirect`: JSON data is serialized the way the client serializes it. */
export interface DirectEvent {
  readonly id?: string;
  readonly type: string;
  readonly data?: unknown;
  readonly binaryData?: Uint8Array;
  readonly metadata?: unknown;
}

/** Edits behind the server's back, for tests of hash-chain verification only. */
export interface EmulatorTamper {
  /** Replaces an event's data with `data`, encoded as the client encodes JSON. */
  editData(streamId: string, revision: bigint, data: unknown): void;
  deleteEvent(streamId: string, revision: bigint): void;
  swapEvents(streamId: string, a: bigint, b: bigint): void;
}

export interface EsdbEmulator {
  /** `esdb://HOST:PORT?tls=false`, ready for `EventStoreDBClient.connectionString`. */
  readonly connectionString: string;
  readonly port: number;
  /** Number of events in `$all`. */
  readonly eventCount: number;
  /** Position of the last event in `$all` (commit = prepare), or undefined when empty. */
  readonly lastPosition: bigint | undefined;
  /** TCP connections currently open. */
  readonly openConnections: number;
  /** Appends without gRPC, with the same expected-revision rules (default ANY). */
  appendDirect(streamId: string, events: readonly DirectEvent[], expected?: ExpectedRevision): AppendOutcome;
  /** Ends every connection abruptly; keeps accepting new ones on the same port. */
  dropConnections(): Promise<void>;
  /** Makes the next `count` append calls fail with UNAVAILABLE (default: after the write). */
  failNextAppends(count: number, timing?: AppendFaultTiming): void;
  /** Removes pending append faults. */
  clearFaults(): void;
  /** While false, new connections are refused (closed on arrival). */
  setAcceptingConnections(accepting: boolean): void;
  /** Current revision of a stream, for assertions. */
  currentRevision(streamId: string): CurrentRevision;
  readonly tamper: EmulatorTamper;
  /** Drops every connection and closes the listener. */
  stop(): Promise<void>;
}

function toProposedEvent(event: DirectEvent): ProposedEvent {
  const encode = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value), 'utf8');
  return {
    eventId: event.id ?? randomUUID(),
    type: event.type,
    isJson: event.binaryData === undefined,
    data: event.binaryData ?? encode(event.data ?? {}),
    customMetadata: event.metadata === undefined ? new Uint8Array() : encode(event.metadata),
  };
}

export async function startEsdbEmulator(options: EsdbEmulatorOptions = {}): Promise<EsdbEmulator> {
  const host = options.host ?? '127.0.0.1';
  const maxAppendSizeBytes = options.maxAppendSizeBytes ?? DEFAULT_MAX_APPEND_SIZE_BYTES;
  if (!Number.isInteger(maxAppendSizeBytes) || maxAppendSizeBytes <= 0) {
    throw new RangeError(`maxAppendSizeBytes must be a positive integer, got ${maxAppendSizeBytes}`);
  }
  const log = new EventLog(options.now);
  const faults = new AppendFaults();
  const transport = await EmulatorTransport.listen(
    host,
    options.port ?? 0,
    createStreamsService({ log, faults, maxAppendSizeBytes }),
  );
  const port = transport.port;

  return {
    connectionString: `esdb://${host}:${port}?tls=false`,
    port,
    get eventCount() {
      return log.length;
    },
    get lastPosition() {
      return log.lastPosition;
    },
    get openConnections() {
      return transport.openConnections;
    },
    appendDirect: (streamId, events, expected = { kind: 'any' }) =>
      log.append(streamId, expected, events.map(toProposedEvent)),
    dropConnections: () => transport.dropConnections(),
    failNextAppends: (count, timing = 'afterWrite') => {
      faults.failNext(count, timing);
    },
    clearFaults: () => {
      faults.clear();
    },
    setAcceptingConnections: (accepting) => {
      transport.setAccepting(accepting);
    },
    currentRevision: (streamId) => log.currentRevision(streamId),
    tamper: {
      editData: (streamId, revision, data) => {
        log.tamperData(streamId, revision, Buffer.from(JSON.stringify(data), 'utf8'));
      },
      deleteEvent: (streamId, revision) => {
        log.tamperDelete(streamId, revision);
      },
      swapEvents: (streamId, a, b) => {
        log.tamperSwap(streamId, a, b);
      },
    },
    stop: () => transport.close(),
  };
}
