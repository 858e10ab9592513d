// The generated protobuf and gRPC modules shipped inside @eventstore/db-client. They are
// CommonJS, so they are imported as default imports (Node hands an ES module the whole
// `module.exports`); their `.d.ts` files give real types, so nothing here is `any`.
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsGrpcPb from '@eventstore/db-client/generated/streams_grpc_pb.js';

export const { ReadReq, ReadResp, AppendReq, AppendResp } = streamsPb;
export const { UUID, Empty, StreamIdentifier } = sharedPb;
export const { StreamsService } = streamsGrpcPb;

export type ReadReqT = streamsPb.ReadReq;
export type ReadRespT = streamsPb.ReadResp;
export type AppendReqT = streamsPb.AppendReq;
export type AppendRespT = streamsPb.AppendResp;
export type ReadOptionsT = streamsPb.ReadReq.Options;
export type FilterOptionsT = streamsPb.ReadReq.Options.FilterOptions;
export type UUIDT = sharedPb.UUID;
export type StreamsServerT = streamsGrpcPb.IStreamsServer;
