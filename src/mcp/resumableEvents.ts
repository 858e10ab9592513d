/**
 * Resumability for Streamable HTTP (`Last-Event-ID`): the messages of one session's streams,
 * kept in memory and bounded, so a client that lost its connection gets what it missed. The
 * store belongs to one session, so nobody can replay another session's messages.
 */
import type { EventStore, EventId, StreamId } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Messages kept per session; the oldest go first. A client further behind starts afresh. */
export const RESUMABLE_MESSAGES_MAX = 1_000;

interface Kept {
  readonly id: EventId;
  readonly stream: StreamId;
  readonly message: JSONRPCMessage;
}

export class SessionEventStore implements EventStore {
  private readonly kept: Kept[] = [];
  private sequence = 0;

  storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    this.sequence += 1;
    const id = `${streamId}_${this.sequence}`;
    this.kept.push({ id, stream: streamId, message });
    if (this.kept.length > RESUMABLE_MESSAGES_MAX)
      this.kept.splice(0, this.kept.length - RESUMABLE_MESSAGES_MAX);
    return Promise.resolve(id);
  }

  getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return Promise.resolve(this.kept.find((kept) => kept.id === eventId)?.stream);
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const index = this.kept.findIndex((kept) => kept.id === lastEventId);
    const from = this.kept[index];
    if (!from) throw new Error('That event is no longer kept; start a new stream.');
    for (const kept of this.kept.slice(index + 1)) {
      if (kept.stream === from.stream) await send(kept.id, kept.message);
    }
    return from.stream;
  }
}
