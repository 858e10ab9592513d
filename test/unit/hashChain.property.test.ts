import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { JsonValue } from '../../src/domain/canonicalJson.js';
import {
  ChainVerifier,
  GENESIS_HASH,
  linkHash,
  recordedContentHash,
} from '../../src/adapters/eventstore/hashChain.js';
import type { RecordedEvent } from '../../src/adapters/eventstore/port.js';

const RUNS = 1_000;
const STREAM = 'org_prop.ledger-main';

function chain(datas: readonly JsonValue[]): RecordedEvent[] {
  let prevHash = GENESIS_HASH;
  return datas.map((data, i) => {
    const unhashed: RecordedEvent = {
      eventId: `00000000-0000-7000-8000-${i.toString().padStart(12, '0')}`,
      type: 'Moved',
      schemaVersion: 1,
      data,
      streamName: STREAM,
      orgId: 'org_prop',
      revision: BigInt(i),
      position: { commit: 1n, prepare: BigInt(i + 1) },
      occurredAt: new Date(1_700_000_000_000 + i),
      actor: { kind: 'system', id: 'sys', role: null },
      channel: { kind: 'system', clientName: null, clientVersion: null },
      correlationId: 'c',
      causationId: 'c',
      requestId: null,
      idempotencyKey: null,
      prevHash,
      hash: '',
    };
    const hash = linkHash(prevHash, recordedContentHash(unhashed));
    prevHash = hash;
    return { ...unhashed, hash };
  });
}

function verify(events: readonly RecordedEvent[], head: { revision: bigint; hash: string } | null) {
  const verifier = new ChainVerifier(STREAM);
  for (const event of events) if (!verifier.check(event)) break;
  return verifier.finish(head);
}

const datas = fc.array(fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>, {
  minLength: 2,
  maxLength: 12,
});
const headOf = (events: readonly RecordedEvent[]) => ({
  revision: BigInt(events.length - 1),
  hash: events.at(-1)!.hash,
});

describe('hash chain', () => {
  it('verifies every honest chain', () => {
    fc.assert(
      fc.property(datas, (values) => {
        const events = chain(values);
        expect(verify(events, headOf(events))).toBeNull();
      }),
      { numRuns: RUNS },
    );
  });

  it('catches any edit of any event at that event', () => {
    fc.assert(
      fc.property(datas, fc.nat(), fc.jsonValue() as fc.Arbitrary<JsonValue>, (values, pick, replacement) => {
        const events = chain(values);
        const index = pick % events.length;
        fc.pre(JSON.stringify(replacement) !== JSON.stringify(events[index]!.data));
        const edited = events.map((event, i) => (i === index ? { ...event, data: replacement } : event));
        expect(verify(edited, headOf(events))).toMatchObject({
          revision: BigInt(index),
          reason: 'content_changed',
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('catches any deleted event, the last one included', () => {
    fc.assert(
      fc.property(datas, fc.nat(), (values, pick) => {
        const events = chain(values);
        const index = pick % events.length;
        const remaining = events.filter((_, i) => i !== index);
        expect(verify(remaining, headOf(events))).toMatchObject({ revision: BigInt(index) });
      }),
      { numRuns: RUNS },
    );
  });

  it('catches any two events swapped', () => {
    fc.assert(
      fc.property(datas, fc.nat(), fc.nat(), (values, a, b) => {
        const events = chain(values);
        const [i, j] = [a % events.length, b % events.length].sort((x, y) => x - y) as [number, number];
        fc.pre(i !== j);
        // Reordering keeps each row's stored revision number in place and moves the content.
        const swapped = events.map((event, k) => {
          const source = k === i ? events[j]! : k === j ? events[i]! : event;
          return { ...source, revision: event.revision };
        });
        expect(verify(swapped, headOf(events))).toMatchObject({ revision: BigInt(i) });
      }),
      { numRuns: RUNS },
    );
  });
});
