// The `event_store.client.streams.Streams` service: `Read` (reads and subscriptions) and the
// classic `Append`. `Delete`, `Tombstone` and `BatchAppend` answer UNIMPLEMENTED.
import { handleAppend } from './appendCall.js';
import type { AppendContext } from './appendCall.js';
import { streamNameOf } from './convert.js';
import type { UuidFormat } from './convert.js';
import { internal, invalidArgument, unimplemented } from './errors.js';
import { NO_FILTER, parseFilter } from './filters.js';
import type { AllFilter } from './filters.js';
import { ReadReq } from './proto.js';
import type { ReadOptionsT, StreamsServerT } from './proto.js';
import { readAll, readStream } from './reads.js';
import type { Direction, ReadFrom, ReadRequest } from './reads.js';
import { ResponseWriter } from './responseWriter.js';
import type { ReadCall } from './responseWriter.js';
import { subscribeToAll, subscribeToStream } from './subscriptions.js';

function streamFrom(options: NonNullable<ReturnType<ReadOptionsT['getStream']>>): ReadFrom {
  if (options.hasRevision()) return { kind: 'at', value: BigInt(options.getRevision()) };
  if (options.hasEnd()) return { kind: 'end' };
  return { kind: 'start' };
}

function allFrom(options: NonNullable<ReturnType<ReadOptionsT['getAll']>>): ReadFrom {
  const position = options.getPosition();
  // The emulator's commit and prepare positions are equal; the commit position orders `$all`.
  if (position !== undefined) return { kind: 'at', value: BigInt(position.getCommitPosition()) };
  if (options.hasEnd()) return { kind: 'end' };
  return { kind: 'start' };
}

async function serveRead(context: AppendContext, call: ReadCall, writer: ResponseWriter): Promise<void> {
  const options = call.request.getOptions();
  if (options === undefined) {
    writer.fail(invalidArgument('read request without options'));
    return;
  }
  const uuidFormat: UuidFormat = options.getUuidOption()?.hasStructured() === true ? 'structured' : 'string';
  const direction: Direction =
    options.getReadDirection() === ReadReq.Options.ReadDirection.BACKWARDS ? 'backwards' : 'forwards';

  let filter: AllFilter | undefined;
  const filterOptions = options.getFilter();
  if (filterOptions !== undefined) {
    const parsed = parseFilter(filterOptions);
    if (!parsed.ok) {
      writer.fail(invalidArgument(parsed.reason));
      return;
    }
    filter = parsed.filter;
  }

  const stream = options.getStream();
  const all = options.getAll();
  const streamId = streamNameOf(stream?.getStreamIdentifier());
  // The same combinations the server accepts: filters only on $all, subscriptions only forwards.
  if (stream !== undefined && (streamId === undefined || streamId === '' || filter !== undefined)) {
    writer.fail(invalidArgument('stream reads take a stream name and no filter'));
    return;
  }
  if (options.hasSubscription() && direction === 'backwards') {
    writer.fail(invalidArgument('subscriptions only read forwards'));
    return;
  }

  if (options.hasSubscription()) {
    if (stream !== undefined && streamId !== undefined) {
      await subscribeToStream(context.log, streamId, streamFrom(stream), uuidFormat, writer);
      return;
    }
    if (all !== undefined) {
      await subscribeToAll(context.log, filter, allFrom(all), uuidFormat, writer);
      return;
    }
  } else {
    const count = BigInt(options.getCount());
    if (stream !== undefined && streamId !== undefined) {
      const request: ReadRequest = { direction, from: streamFrom(stream), count, uuidFormat };
      await readStream(context.log, streamId, request, writer);
      return;
    }
    if (all !== undefined) {
      const request: ReadRequest = { direction, from: allFrom(all), count, uuidFormat };
      await readAll(context.log, filter ?? NO_FILTER, request, writer);
      return;
    }
  }
  writer.fail(invalidArgument('read request names neither a stream nor $all'));
}

export function createStreamsService(context: AppendContext): StreamsServerT {
  return {
    read(call: ReadCall): void {
      const writer = new ResponseWriter(call);
      serveRead(context, call, writer).catch((error: unknown) => {
        writer.fail(internal(`read failed: ${String(error)}`));
      });
    },
    append: (call, callback) => {
      handleAppend(context, call, callback);
    },
    delete: (_call, callback) => {
      callback(unimplemented('Streams.Delete'));
    },
    tombstone: (_call, callback) => {
      callback(unimplemented('Streams.Tombstone'));
    },
    batchAppend: (call) => {
      call.emit('error', unimplemented('Streams.BatchAppend'));
    },
  };
}
