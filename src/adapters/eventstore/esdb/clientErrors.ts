/**
 * Between @eventstore/db-client's errors and the port's. Every error leaving the adapter is a
 * LedgerlineError with the client's error as its cause; nothing is thrown as a string.
 */
import {
  CancelledError,
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  NotLeaderError,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  convertToCommandError,
} from '@eventstore/db-client';
import { LedgerlineError } from '../../../domain/errors.js';

/**
 * The server could not be reached or dropped the call: the client rebuilds its connection on
 * the next call, so trying again is the remedy. A `CancelledError` reaching us was sent by the
 * server (the client ignores its own cancellations), which the client also treats as a reason to
 * reconnect; `NotLeaderError` makes it reconnect to the leader it names.
 */
export function isUnavailable(error: unknown): boolean {
  const converted = asCommandError(error);
  return (
    converted instanceof UnavailableError ||
    converted instanceof CancelledError ||
    converted instanceof NotLeaderError
  );
}

/**
 * The client converts most gRPC failures to its own error classes, but not all: the
 * server-features call it makes before the first append of a connection rejects with the raw
 * gRPC error (code 14, UNAVAILABLE, when the server cannot be reached).
 */
function asCommandError(error: unknown): unknown {
  return error instanceof Error ? convertToCommandError(error) : error;
}

export function isStreamNotFound(error: unknown): boolean {
  return error instanceof StreamNotFoundError;
}

/** Maps what the client threw to the port's error, keeping the original as the cause. */
export function toStoreError(error: unknown, doing: string): Error {
  if (error instanceof LedgerlineError) return error;
  const converted = asCommandError(error);
  if (
    isUnavailable(converted) ||
    converted instanceof DeadlineExceededError ||
    converted instanceof TimeoutError
  ) {
    return new LedgerlineError(
      'STORE_UNAVAILABLE',
      `EventStoreDB is unavailable (${doing}): ${describe(error)}`,
      { doing },
      { cause: error },
    );
  }
  if (converted instanceof MaxAppendSizeExceededError) {
    // The port refuses more than APPEND_BYTES_MAX of canonical data + metadata before sending,
    // but the server counts its own encoding of the whole envelope, so an append close to the
    // limit can still be refused here. It is refused, never split: an append is one atomic
    // decision at one expected revision, and two appends could half-succeed.
    return new LedgerlineError(
      'APPEND_TOO_LARGE',
      `events: EventStoreDB refused the append: larger than its maximum append size of ` +
        `${converted.maxAppendSize} bytes (data and metadata of all events). Split it into smaller appends.`,
      { field: 'events', limit: converted.maxAppendSize },
      { cause: error },
    );
  }
  return new LedgerlineError(
    'INTERNAL',
    `EventStoreDB call failed (${doing}): ${describe(error)}`,
    { doing },
    {
      cause: error,
    },
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  // The client throws a few plain strings ("Impossible situation where …").
  return typeof error === 'string' ? error : 'unknown error';
}
