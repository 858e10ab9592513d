/**
 * The NATS JetStream bus. Events go to `{prefix}.{orgId}.{category}.{type}` (subjects.ts) in
 * one stream that captures `{prefix}.>`, each with its event id as the message id, so the
 * stream's duplicate window drops a re-publish. Within a batch each message also expects the
 * one before it as the stream's last message id, so a message lost in an outage can never be
 * overtaken by the next one: the stream holds the events in global order, each once.
 *
 * The client connects lazily and keeps reconnecting; NATS being down makes `publish` throw
 * (the publisher retries from its checkpoint) and never blocks a command. Subscriptions are
 * JetStream ordered consumers that resume after an outage from the last stream sequence they
 * delivered, so a subscriber sees no gap.
 */
import {
  connect,
  DeliverPolicy,
  Events,
  nanos,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import type { Logger } from '../log.js';
import {
  passes,
  type BusEvent,
  type BusFilter,
  type BusHandler,
  type BusHealth,
  type EventBus,
  type Unsubscribe,
} from './port.js';
import { eventSubject, filterSubject } from './subjects.js';

/** How long a publish waits for JetStream's acknowledgement before the batch counts as failed. */
export const NATS_ACK_TIMEOUT_MS = 5_000;
/** How long one attempt to connect may take. */
export const NATS_CONNECT_TIMEOUT_MS = 2_000;
/** Between reconnect attempts of a dropped connection (the client retries forever). */
export const NATS_RECONNECT_WAIT_MS = 500;
/**
 * JetStream drops a message whose id it saw within this window. The publisher never re-sends
 * more than one unacknowledged batch, seconds apart, and on restart asks the stream for its
 * newest id (lastPublishedEventId), so two minutes (NATS's default) is ample.
 */
export const NATS_DUPLICATE_WINDOW_MS = 120_000;
/** The live feeds resume from the event store; the stream keeps a day for other consumers. */
export const NATS_STREAM_MAX_AGE_MS = 24 * 60 * 60 * 1_000;
/** A subscription whose consumer failed waits this long, doubling up to the cap, and retries. */
export const NATS_SUBSCRIBE_RETRY_MS = 250;
export const NATS_SUBSCRIBE_RETRY_MAX_MS = 5_000;
/** Messages a subscription's consumer pulls at a time (its buffer in this process). */
export const NATS_CONSUME_BATCH = 256;

export interface NatsBusOptions {
  readonly url: string;
  /** The JetStream stream; tests use one of their own (streams may not share subjects). */
  readonly streamName: string;
  /** The first subject token. */
  readonly subjectPrefix: string;
  readonly log?: Pick<Logger, 'info' | 'warn'>;
}

interface Connected {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

export class NatsBusError extends Error {
  override readonly name = 'NatsBusError';
}

/** host:port only: a URL may carry a user and password. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '4222'}`;
  } catch {
    return 'NATS';
  }
}

export class NatsBus implements EventBus {
  readonly description: string;
  private connecting: Promise<Connected> | null = null;
  private state: BusHealth = 'unreachable';
  private closed = false;
  private readonly stops = new Set<() => void>();
  private readonly encoder = new TextEncoder();

  constructor(private readonly options: NatsBusOptions) {
    this.description = `NATS JetStream at ${redactUrl(options.url)} (stream ${options.streamName}, subjects ${options.subjectPrefix}.>)`;
  }

  health(): BusHealth {
    return this.state;
  }

  async publish(events: readonly BusEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { js } = await this.connection();
    const { streamName, subjectPrefix } = this.options;
    // All in flight at once, in order on one connection; each but the first expects its
    // predecessor as the stream's last id, so a lost one fails every later one too.
    const acks = events.map((event, index) => {
      const previous = index > 0 ? events[index - 1] : undefined;
      return js.publish(
        eventSubject(subjectPrefix, event.orgId, event.category, event.type),
        this.encoder.encode(JSON.stringify(event)),
        {
          msgID: event.eventId,
          timeout: NATS_ACK_TIMEOUT_MS,
          expect: { streamName, ...(previous ? { lastMsgID: previous.eventId } : {}) },
        },
      );
    });
    const settled = await Promise.allSettled(acks);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) {
      this.state = 'unreachable';
      throw new NatsBusError('JetStream did not acknowledge every event', { cause: failed.reason });
    }
    this.state = 'ok';
  }

  async lastPublishedEventId(): Promise<string | null> {
    const { jsm } = await this.connection();
    const info = await jsm.streams.info(this.options.streamName);
    if (info.state.messages === 0) return null;
    const message = await jsm.streams.getMessage(this.options.streamName, { seq: info.state.last_seq });
    return message.header.get('Nats-Msg-Id') || null;
  }

  subscribe(filter: BusFilter, handler: BusHandler): Unsubscribe {
    // An object, not a flag: stop() flips it while the loop below is suspended.
    const state = { stopped: false };
    const over = (): boolean => state.stopped || this.closed;
    let messages: ConsumerMessages | null = null;
    const subscribedAt = new Date().toISOString();
    let lastSeq = 0;
    const stop = (): void => {
      state.stopped = true;
      this.stops.delete(stop);
      void messages?.close().catch(() => undefined);
    };
    this.stops.add(stop);
    const run = async (): Promise<void> => {
      let backoff = NATS_SUBSCRIBE_RETRY_MS;
      // One warning per interruption, not one per retry of a long outage.
      let warned = false;
      while (!over()) {
        try {
          const { js } = await this.connection();
          const consumer = await js.consumers.get(this.options.streamName, {
            filterSubjects: filterSubject(this.options.subjectPrefix, filter.orgId),
            // The first consumer starts at the moment of subscribing; after an outage, one
            // past the last message delivered.
            ...(lastSeq === 0
              ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: subscribedAt }
              : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: lastSeq + 1 }),
          });
          messages = await consumer.consume({ max_messages: NATS_CONSUME_BATCH });
          if (over()) break;
          backoff = NATS_SUBSCRIBE_RETRY_MS;
          warned = false;
          for await (const message of messages) {
            lastSeq = message.seq;
            let event: BusEvent;
            try {
              event = message.json<BusEvent>();
            } catch {
              continue;
            }
            if (!passes(filter, event)) continue;
            try {
              handler(event);
            } catch (error) {
              this.options.log?.warn({ err: error }, 'event bus subscriber failed on an event');
            }
          }
        } catch (error) {
          if (!over() && !warned) {
            warned = true;
            this.options.log?.warn(
              { error: error instanceof Error ? error.message : String(error) },
              'event bus subscription interrupted; it resumes without a gap when NATS is back',
            );
          }
        }
        if (over()) break;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, NATS_SUBSCRIBE_RETRY_MAX_MS);
      }
    };
    void run();
    return stop;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const stop of [...this.stops]) stop();
    const connecting = this.connecting;
    this.connecting = null;
    if (connecting) {
      const connected = await connecting.catch(() => null);
      await connected?.nc.close().catch(() => undefined);
    }
  }

  private connection(): Promise<Connected> {
    if (this.closed) return Promise.reject(new NatsBusError('the event bus is closed'));
    if (!this.connecting) {
      const attempt = this.open();
      this.connecting = attempt;
      attempt.catch(() => {
        this.state = 'unreachable';
        if (this.connecting === attempt) this.connecting = null;
      });
    }
    return this.connecting;
  }

  private async open(): Promise<Connected> {
    const nc = await connect({
      servers: this.options.url,
      name: 'ledgerline',
      timeout: NATS_CONNECT_TIMEOUT_MS,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: NATS_RECONNECT_WAIT_MS,
    });
    try {
      const jsm = await nc.jetstreamManager();
      await this.ensureStream(jsm);
      this.watch(nc);
      this.state = 'ok';
      return { nc, js: nc.jetstream(), jsm };
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error;
    }
  }

  /** Creates the stream when it is missing; an existing one is used as it is configured. */
  private async ensureStream(jsm: JetStreamManager): Promise<void> {
    try {
      await jsm.streams.info(this.options.streamName);
      return;
    } catch {
      // Missing (or not readable yet): create it below; a real failure surfaces there.
    }
    await jsm.streams.add({
      name: this.options.streamName,
      subjects: [filterSubject(this.options.subjectPrefix)],
      storage: StorageType.File,
      duplicate_window: nanos(NATS_DUPLICATE_WINDOW_MS),
      max_age: nanos(NATS_STREAM_MAX_AGE_MS),
    });
  }

  /** Tracks the connection's state for /ready, and forgets a connection that closed for good. */
  private watch(nc: NatsConnection): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === Events.Disconnect) this.state = 'unreachable';
        if (status.type === Events.Reconnect) this.state = 'ok';
      }
    })().catch(() => undefined);
    void nc.closed().then(() => {
      this.state = 'unreachable';
      void this.connecting?.then((connected) => {
        if (connected.nc === nc) this.connecting = null;
      });
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
