// Between the log's records and the wire messages, shaped the way a real server shapes them
// (see KurrentDB's `Streams.Read.cs` / `MetadataHelpers.cs` / `Streams.Append.cs`). 64-bit fields
// of the generated messages are decimal strings.
import { AppendResp, Empty, ReadResp, StreamIdentifier, UUID } from './proto.js';
import type { ReadRespT, AppendRespT, UUIDT } from './proto.js';
import { BINARY_CONTENT_TYPE, JSON_CONTENT_TYPE } from './store.js';
import type { AppendOutcome, ExpectedRevision, RecordedEvent } from './store.js';

/** How the reader asked for event ids: the Node client always asks for strings. */
export type UuidFormat = 'string' | 'structured';

const UINT64_BITS = 64;
const HEX_DIGITS_PER_INT64 = 16;

export function streamIdentifier(streamId: string): InstanceType<typeof StreamIdentifier> {
  return new StreamIdentifier().setStreamName(Buffer.from(streamId, 'utf8'));
}

export function streamNameOf(
  identifier: InstanceType<typeof StreamIdentifier> | undefined,
): string | undefined {
  if (identifier === undefined) return undefined;
  return Buffer.from(identifier.getStreamName_asU8()).toString('utf8');
}

/** The id as a canonical lower-case string, from either wire form; undefined when malformed. */
export function uuidToString(uuid: UUIDT | undefined): string | undefined {
  if (uuid === undefined) return undefined;
  if (uuid.hasString()) {
    const text = uuid.getString().toLowerCase();
    return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text) ? text : undefined;
  }
  const structured = uuid.getStructured();
  if (structured === undefined) return undefined;
  const hex = [structured.getMostSignificantBits(), structured.getLeastSignificantBits()]
    .map((bits) => BigInt.asUintN(UINT64_BITS, BigInt(bits)).toString(16).padStart(HEX_DIGITS_PER_INT64, '0'))
    .join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function uuidMessage(id: string, format: UuidFormat): UUIDT {
  if (format === 'string') return new UUID().setString(id);
  const hex = id.replaceAll('-', '');
  const half = (from: number): string =>
    BigInt.asIntN(UINT64_BITS, BigInt(`0x${hex.slice(from, from + HEX_DIGITS_PER_INT64)}`)).toString();
  const structured = new UUID.Structured()
    .setMostSignificantBits(half(0))
    .setLeastSignificantBits(half(HEX_DIGITS_PER_INT64));
  return new UUID().setStructured(structured);
}

function recordedEvent(
  event: RecordedEvent,
  format: UuidFormat,
): InstanceType<typeof ReadResp.ReadEvent.RecordedEvent> {
  const message = new ReadResp.ReadEvent.RecordedEvent()
    .setId(uuidMessage(event.eventId, format))
    .setStreamIdentifier(streamIdentifier(event.streamId))
    .setStreamRevision(event.revision.toString())
    // Events written by a gRPC append are self-committed, so a real server reports
    // commit = prepare = the record's log position, on stream reads as well as on $all reads.
    .setCommitPosition(event.position.toString())
    .setPreparePosition(event.position.toString())
    .setData(event.data)
    .setCustomMetadata(event.customMetadata);
  const metadata = message.getMetadataMap();
  metadata.set('type', event.type);
  // Ticks since the Unix epoch (not since 0001-01-01): the client divides by 10,000 and hands the
  // result to `new Date(ms)`.
  metadata.set('created', event.createdTicks.toString());
  metadata.set('content-type', event.isJson ? JSON_CONTENT_TYPE : BINARY_CONTENT_TYPE);
  return message;
}

export function eventResponse(event: RecordedEvent, format: UuidFormat): ReadRespT {
  const readEvent = new ReadResp.ReadEvent()
    .setEvent(recordedEvent(event, format))
    .setCommitPosition(event.position.toString());
  return new ReadResp().setEvent(readEvent);
}

export function confirmationResponse(subscriptionId: string): ReadRespT {
  return new ReadResp().setConfirmation(
    new ReadResp.SubscriptionConfirmation().setSubscriptionId(subscriptionId),
  );
}

export function checkpointResponse(position: bigint): ReadRespT {
  const checkpoint = new ReadResp.Checkpoint()
    .setCommitPosition(position.toString())
    .setPreparePosition(position.toString());
  return new ReadResp().setCheckpoint(checkpoint);
}

export function caughtUpResponse(): ReadRespT {
  return new ReadResp().setCaughtUp(new ReadResp.CaughtUp());
}

export function streamNotFoundResponse(streamId: string): ReadRespT {
  return new ReadResp().setStreamNotFound(
    new ReadResp.StreamNotFound().setStreamIdentifier(streamIdentifier(streamId)),
  );
}

/** Success or wrong-expected-version, as the classic `Append` call answers (both are results, not errors). */
export function appendResponse(outcome: Exclude<AppendOutcome, { kind: 'log_full' }>): AppendRespT {
  if (outcome.kind === 'success') {
    const success = new AppendResp.Success();
    if (outcome.currentRevision === 'no_stream') success.setNoStream(new Empty());
    else success.setCurrentRevision(outcome.currentRevision.toString());
    if (outcome.position === undefined) success.setNoPosition(new Empty());
    else {
      success.setPosition(
        new AppendResp.Position()
          .setCommitPosition(outcome.position.toString())
          .setPreparePosition(outcome.position.toString()),
      );
    }
    return new AppendResp().setSuccess(success);
  }

  // Both the current fields and the deprecated 20.6.0 ones, as the server fills both. The client
  // reads only the current ones.
  const wrong = new AppendResp.WrongExpectedVersion();
  if (outcome.currentRevision === 'no_stream') {
    wrong.setCurrentNoStream(new Empty()).setNoStream2060(new Empty());
  } else {
    wrong
      .setCurrentRevision(outcome.currentRevision.toString())
      .setCurrentRevision2060(Number(outcome.currentRevision));
  }
  setExpected(wrong, outcome.expected);
  return new AppendResp().setWrongExpectedVersion(wrong);
}

function setExpected(
  wrong: InstanceType<typeof AppendResp.WrongExpectedVersion>,
  expected: ExpectedRevision,
): void {
  switch (expected.kind) {
    case 'any':
      wrong.setExpectedAny(new Empty()).setAny2060(new Empty());
      return;
    case 'stream_exists':
      wrong.setExpectedStreamExists(new Empty()).setStreamExists2060(new Empty());
      return;
    case 'no_stream':
      // The server also sets expected_revision_20_6_0 = ulong.MaxValue here; that deprecated field
      // is a JS number in the generated code and cannot hold it, and no client reads it.
      wrong.setExpectedNoStream(new Empty());
      return;
    case 'exact':
      wrong
        .setExpectedRevision(expected.revision.toString())
        .setExpectedRevision2060(Number(expected.revision));
      return;
  }
}
