/**
 * Event ids unique across streams, on a store that does not enforce it.
 *
 * EventStoreDB dedupes event ids only inside one stream, and only at the same expected
 * revision: the same id in another stream, or at another revision of the same stream, is
 * written again. The port promises more (DUPLICATE_EVENT_ID, like the unique index on
 * PostgreSQL), and it matters here: NATS dedupes by event id, so a reused id would silently
 * drop a message from the live feeds.
 *
 * So before an append, every event id the caller chose is claimed: one event in the stream
 * `ledgerline_eventid-{id}` saying which stream and revision the id is meant for. The first
 * claim of an id creates that stream (expected revision NO_STREAM), so of two appends racing for
 * one id only one can claim it. The claim event's own id is derived from (stream, id, revision),
 * so a retry of the same append claims again idempotently. A claim that fails is resolved by
 * reading the claim stream:
 * - a claim for another stream: the id belongs there (`elsewhere`), even if that append never
 *   wrote it (an id, once claimed for a stream, stays with it);
 * - a claim of this stream at this revision: ours, from an earlier attempt (`claimed`);
 * - a claim of this stream whose event is stored at its revision: the id is used (`written`);
 * - only claims whose appends never wrote (a conflict, a failure): the id is claimed again,
 *   appending to the claim stream at its exact revision so that re-claims are serialized.
 *
 * Ids the store generates (an event without `eventId`) are fresh UUIDv7s nobody else knows
 * before the append answers, so they are not claimed: this costs nothing for ordinary appends.
 * What stays unguarded: an id the store generated, copied by a caller into a later append of
 * another stream; and two appends racing with one chosen id in one stream at different revisions
 * (one must guess a revision that does not exist yet). Both need a caller bug.
 *
 * Claim streams are not `$` system streams (writing those needs admin rights) and are not
 * ledgerline stream names, so no read or subscription of the port ever returns them.
 */
import { createHash } from 'node:crypto';
import {
  NO_STREAM,
  WrongExpectedVersionError,
  jsonEvent,
  type EventStoreDBClient,
} from '@eventstore/db-client';
import { LedgerlineError } from '../../../domain/errors.js';
import { readStreamEvents } from './streamReads.js';

export const CLAIM_STREAM_PREFIX = 'ledgerline_eventid-';
const CLAIM_EVENT_TYPE = 'EventIdClaimed';
/** Claims appended at once for one append (each is one small append call). */
export const CLAIMS_IN_FLIGHT_MAX = 32;
/** Claims one id may collect (each failed attempt at a new revision adds one) before it is refused. */
export const CLAIMS_PER_EVENT_ID_MAX = 64;
/** Re-claim attempts when another writer re-claims the same id at the same moment. */
const RECLAIM_ATTEMPTS_MAX = 5;

export interface Claim {
  readonly eventId: string;
  /** The revision the event is meant to be written at. */
  readonly revision: bigint;
}

export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly eventId: string }
  | { readonly kind: 'written'; readonly eventId: string; readonly revision: bigint }
  | { readonly kind: 'elsewhere'; readonly eventId: string };

interface StoredClaim {
  readonly stream: string;
  readonly revision: bigint;
  /** The revision of the claim event in its claim stream. */
  readonly claimRevision: bigint;
}

export type Retrying = <T>(work: () => Promise<T>) => Promise<T>;

export class EventIdClaims {
  constructor(
    private readonly client: EventStoreDBClient,
    private readonly retrying: Retrying,
  ) {}

  /** One outcome per claim, in order. Nothing is written to `stream` here. */
  async claimAll(stream: string, claims: readonly Claim[]): Promise<ClaimOutcome[]> {
    const outcomes: ClaimOutcome[] = [];
    for (let start = 0; start < claims.length; start += CLAIMS_IN_FLIGHT_MAX) {
      const chunk = claims.slice(start, start + CLAIMS_IN_FLIGHT_MAX);
      outcomes.push(...(await Promise.all(chunk.map((claim) => this.claim(stream, claim)))));
    }
    return outcomes;
  }

  private async claim(stream: string, claim: Claim): Promise<ClaimOutcome> {
    try {
      await this.write(stream, claim, NO_STREAM);
      return { kind: 'claimed', eventId: claim.eventId };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
    }
    for (let attempt = 0; attempt < RECLAIM_ATTEMPTS_MAX; attempt += 1) {
      const stored = await this.readClaims(claim.eventId);
      if (stored.some((earlier) => earlier.stream !== stream)) {
        return { kind: 'elsewhere', eventId: claim.eventId };
      }
      if (stored.some((earlier) => earlier.revision === claim.revision)) {
        return { kind: 'claimed', eventId: claim.eventId };
      }
      for (const earlier of stored) {
        if (await this.isStoredAt(stream, claim.eventId, earlier.revision)) {
          return { kind: 'written', eventId: claim.eventId, revision: earlier.revision };
        }
      }
      const last = stored.at(-1);
      if (last === undefined) {
        // The claim stream was empty after all (not possible on a store that deletes nothing).
        throw new LedgerlineError('INTERNAL', `The claim of event id ${claim.eventId} could not be read.`);
      }
      if (stored.length >= CLAIMS_PER_EVENT_ID_MAX) {
        throw new LedgerlineError(
          'DUPLICATE_EVENT_ID',
          `Event id ${claim.eventId} was tried in ${stored.length} appends that did not write it; use a new id.`,
          { eventId: claim.eventId },
        );
      }
      try {
        await this.write(stream, claim, last.claimRevision);
        return { kind: 'claimed', eventId: claim.eventId };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
      }
    }
    throw new LedgerlineError(
      'DUPLICATE_EVENT_ID',
      `Event id ${claim.eventId} is being claimed by other appends at the same moment.`,
      { eventId: claim.eventId },
    );
  }

  private async write(stream: string, claim: Claim, expected: bigint | typeof NO_STREAM): Promise<void> {
    const event = jsonEvent({
      id: claimEventId(stream, claim),
      type: CLAIM_EVENT_TYPE,
      data: { stream, revision: claim.revision.toString() },
    });
    await this.retrying(() =>
      this.client.appendToStream(`${CLAIM_STREAM_PREFIX}${claim.eventId}`, event, {
        expectedRevision: expected,
      }),
    );
  }

  private async readClaims(eventId: string): Promise<StoredClaim[]> {
    const events = await this.retrying(() =>
      readStreamEvents(this.client, `${CLAIM_STREAM_PREFIX}${eventId}`, {
        from: 'start',
        direction: 'forwards',
        maxCount: CLAIMS_PER_EVENT_ID_MAX,
      }),
    );
    return events.map((event) => {
      const data = event.data as { stream?: unknown; revision?: unknown } | null;
      const stream = typeof data?.stream === 'string' ? data.stream : '';
      const revision =
        typeof data?.revision === 'string' && /^\d{1,19}$/.test(data.revision) ? data.revision : '-1';
      // Anything unreadable counts as a claim for no stream of ours: the id stays refused.
      return { stream, revision: BigInt(revision), claimRevision: event.revision };
    });
  }

  private async isStoredAt(stream: string, eventId: string, revision: bigint): Promise<boolean> {
    if (revision < 0n) return false;
    const [event] = await this.retrying(() =>
      readStreamEvents(this.client, stream, { from: revision, direction: 'forwards', maxCount: 1 }),
    );
    return event !== undefined && event.revision === revision && event.id === eventId;
  }
}

/** A UUID (version 8: application-defined) derived from what the claim says. */
function claimEventId(stream: string, claim: Claim): string {
  const bytes = createHash('sha256')
    .update(`${stream}\n${claim.eventId}\n${claim.revision}`)
    .digest()
    .subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
