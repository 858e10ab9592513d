/**
 * Committed batches for whoever in this process wants them after the projector commits
 * (MCP resource subscriptions). In-process only; the NATS fan-out carries them to other nodes.
 */
import type { RecordedEvent } from '../adapters/eventstore/port.js';

/** Listeners at most: one per MCP session watching resources, and a few more. */
export const COMMITTED_LISTENERS_MAX = 10_000;

export type CommittedListener = (events: readonly RecordedEvent[]) => void;

export class CommittedFeed {
  private readonly listeners = new Set<CommittedListener>();

  /** Answers the function that stops listening; throws when too many listen already. */
  subscribe(listener: CommittedListener): () => void {
    if (this.listeners.size >= COMMITTED_LISTENERS_MAX) throw new Error('too many committed-batch listeners');
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  publish(events: readonly RecordedEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch {
        // A listener's failure is its own; the projector and the other listeners go on.
      }
    }
  }
}
