// Every bound the emulator enforces, in one place. Names carry their unit last.

/** EventStoreDB's default `MaxAppendSize`: 1 MiB of event data + custom metadata per append call. */
export const DEFAULT_MAX_APPEND_SIZE_BYTES = 1_048_576;

/**
 * Upper bound on the gRPC messages the emulator accepts. EventStoreDB lets a single event reach
 * 16 MiB internally and the client raises its own receive limit to 17 MiB for that reason, so a
 * proposed message must be allowed past grpc-js's 4 MiB default for the append-size check (not the
 * transport) to be what refuses an oversized append.
 */
export const GRPC_MESSAGE_BYTES_MAX = 17 * 1024 * 1024;

/** The log refuses appends beyond this many events: an emulator limit, not an EventStoreDB one. */
export const LOG_EVENTS_MAX = 1_000_000;

/** One append call may carry at most this many events: an emulator limit, not an EventStoreDB one. */
export const APPEND_EVENTS_MAX = 100_000;

/** Events fetched from the log per step of a read or subscription, so one call never hogs the loop. */
export const READ_PAGE_EVENTS = 256;

/** EventStoreDB's `ReadBatchSize`: the search window of a filter that does not set `max`. */
export const DEFAULT_FILTER_SEARCH_WINDOW_EVENTS = 32;

/** Live subscriptions (each holds one waiter on the log) the emulator serves at once. */
export const SUBSCRIPTIONS_ACTIVE_MAX = 1_000;

/** TCP connections the emulator keeps open at once; further ones are closed on arrival. */
export const CONNECTIONS_OPEN_MAX = 1_000;

/**
 * The first `$all` position. Real servers never put a user event at position 0 (the log starts
 * with epoch records); starting above 0 also keeps `{commit: 0n, prepare: 0n}` from naming an
 * event, so a subscription "after position 0" cannot silently skip the first event.
 */
export const LOG_START_POSITION = 256n;

/** Fixed per-record overhead added to the byte-offset-like position counter. */
export const RECORD_HEADER_BYTES = 64n;

/** .NET ticks (100 ns) per millisecond: `created` is sent as ticks since the Unix epoch. */
export const TICKS_PER_MILLISECOND = 10_000n;

/** How long `dropConnections()` / `stop()` wait for sockets to report closed before giving up. */
export const SOCKET_CLOSE_WAIT_MS_MAX = 2_000;
