// The classic client-streaming `Append` call: one `options` message (stream + expected revision),
// then one `proposed_message` per event. The client uses it whenever the server does not
// advertise `BatchAppend` through the server-features service, which the emulator does not serve.
import type { sendUnaryData, ServerReadableStream } from '@grpc/grpc-js';
import { appendResponse, streamNameOf, uuidToString } from './convert.js';
import type { GrpcFailure } from './errors.js';
import {
  invalidArgument,
  maxAppendSizeExceeded,
  requiredMetadataPropertyMissing,
  resourceExhausted,
  unavailable,
} from './errors.js';
import type { AppendFaults } from './faults.js';
import { APPEND_EVENTS_MAX, LOG_EVENTS_MAX } from './limits.js';
import type { AppendReqT, AppendRespT } from './proto.js';
import { JSON_CONTENT_TYPE } from './store.js';
import type { EventLog, ExpectedRevision, ProposedEvent } from './store.js';

export interface AppendContext {
  readonly log: EventLog;
  readonly faults: AppendFaults;
  readonly maxAppendSizeBytes: number;
}

type AppendOptions = NonNullable<ReturnType<AppendReqT['getOptions']>>;
type ProposedMessage = NonNullable<ReturnType<AppendReqT['getProposedMessage']>>;

function expectedRevisionOf(options: AppendOptions): ExpectedRevision | undefined {
  if (options.hasRevision()) return { kind: 'exact', revision: BigInt(options.getRevision()) };
  if (options.hasNoStream()) return { kind: 'no_stream' };
  if (options.hasAny()) return { kind: 'any' };
  if (options.hasStreamExists()) return { kind: 'stream_exists' };
  return undefined;
}

function proposedEventOf(message: ProposedMessage): ProposedEvent | GrpcFailure {
  const metadata = message.getMetadataMap();
  const type = metadata.get('type');
  if (type === undefined) return requiredMetadataPropertyMissing('type');
  const contentType = metadata.get('content-type');
  if (contentType === undefined) return requiredMetadataPropertyMissing('content-type');
  const eventId = uuidToString(message.getId());
  if (eventId === undefined) return invalidArgument('proposed message without a valid id');
  return {
    eventId,
    type,
    isJson: contentType === JSON_CONTENT_TYPE,
    data: message.getData_asU8(),
    customMetadata: message.getCustomMetadata_asU8(),
  };
}

function isFailure(value: ProposedEvent | GrpcFailure): value is GrpcFailure {
  return 'code' in value;
}

export function handleAppend(
  context: AppendContext,
  call: ServerReadableStream<AppendReqT, AppendRespT>,
  callback: sendUnaryData<AppendRespT>,
): void {
  let streamId: string | undefined;
  let expected: ExpectedRevision | undefined;
  const events: ProposedEvent[] = [];
  let sizeBytes = 0;
  let answered = false;

  const answer = (failure: GrpcFailure | null, response?: AppendRespT): void => {
    if (answered) return;
    answered = true;
    callback(failure, response);
  };

  call.on('data', (request: AppendReqT) => {
    if (answered) return;
    const options = request.getOptions();
    const proposed = request.getProposedMessage();
    if (options !== undefined) {
      streamId = streamNameOf(options.getStreamIdentifier());
      expected = expectedRevisionOf(options);
      if (streamId === undefined || streamId === '' || expected === undefined || events.length > 0) {
        answer(invalidArgument('append options must come first and name a stream and an expected revision'));
      }
      return;
    }
    if (proposed === undefined || streamId === undefined) {
      answer(invalidArgument('append stream must start with options, then proposed messages'));
      return;
    }
    const event = proposedEventOf(proposed);
    if (isFailure(event)) {
      answer(event);
      return;
    }
    // Counted as the events arrive and refused as soon as the total passes the limit, like the
    // server, which stops reading the request stream at that point.
    sizeBytes += event.data.length + event.customMetadata.length;
    if (sizeBytes > context.maxAppendSizeBytes) {
      answer(maxAppendSizeExceeded(context.maxAppendSizeBytes));
      return;
    }
    if (events.length >= APPEND_EVENTS_MAX) {
      answer(resourceExhausted(`more than ${APPEND_EVENTS_MAX} events in one append`));
      return;
    }
    events.push(event);
  });

  call.on('end', () => {
    if (answered) return;
    if (streamId === undefined || expected === undefined) {
      answer(invalidArgument('append stream ended without options'));
      return;
    }
    const fault = context.faults.take();
    if (fault === 'beforeWrite') {
      answer(unavailable('emulator: injected append failure before the write'));
      return;
    }
    const outcome = context.log.append(streamId, expected, events);
    if (fault === 'afterWrite') {
      answer(unavailable('emulator: injected append failure after the write'));
      return;
    }
    if (outcome.kind === 'log_full') {
      answer(resourceExhausted(`log is full (${LOG_EVENTS_MAX} events)`));
      return;
    }
    answer(null, appendResponse(outcome));
  });

  // The client went away (cancel, deadline, dropped connection) before finishing the request:
  // nothing was written, and there is nobody left to answer.
  call.on('cancelled', () => {
    answered = true;
  });
  call.on('error', () => {
    answered = true;
  });
}
