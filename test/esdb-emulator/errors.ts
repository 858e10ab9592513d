// gRPC failures the emulator sends, with the trailers a real server attaches. The client turns a
// failure into its own error class by the `exception` trailer first and the status code second
// (`convertToCommandError` in the client's `utils/CommandError.js`).
import { Metadata, status } from '@grpc/grpc-js';
import type { StatusObject } from '@grpc/grpc-js';

export type GrpcFailure = Pick<StatusObject, 'code' | 'details' | 'metadata'>;

function failure(code: status, details: string, trailers: Record<string, string> = {}): GrpcFailure {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return { code, details, metadata };
}

/** What the server answers when an append's events exceed `MaxAppendSize`: the client's `MaxAppendSizeExceededError`. */
export function maxAppendSizeExceeded(maxAppendSizeBytes: number): GrpcFailure {
  return failure(status.INVALID_ARGUMENT, `Maximum Append Size of ${maxAppendSizeBytes} Exceeded.`, {
    exception: 'maximum-append-size-exceeded',
    'maximum-append-size': String(maxAppendSizeBytes),
  });
}

/** A proposed message without `type` or `content-type`: the client's `RequiredMetadataPropertyMissingError`. */
export function requiredMetadataPropertyMissing(property: string): GrpcFailure {
  return failure(status.INVALID_ARGUMENT, `Required Metadata Property '${property}' is missing`, {
    exception: 'missing-required-metadata-property',
    'required-metadata-properties': 'type,content-type',
  });
}

export function invalidArgument(details: string): GrpcFailure {
  return failure(status.INVALID_ARGUMENT, details);
}

/** The client's `UnavailableError`, and the signal that makes it drop and rebuild its channel. */
export function unavailable(details: string): GrpcFailure {
  return failure(status.UNAVAILABLE, details);
}

export function unimplemented(method: string): GrpcFailure {
  return failure(status.UNIMPLEMENTED, `emulator: ${method} is not implemented`);
}

/** A bug or an emulator bound inside a read; never expected in a passing test. */
export function internal(details: string): GrpcFailure {
  return failure(status.INTERNAL, `emulator: ${details}`);
}

/** An emulator-only bound was hit (log size, subscriptions); never sent by a real server. */
export function resourceExhausted(details: string): GrpcFailure {
  return failure(status.RESOURCE_EXHAUSTED, `emulator: ${details}`);
}
