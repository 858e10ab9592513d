/**
 * One suite for both event buses (the in-process one and NATS JetStream, on the real server in
 * a stream of this test's own): events arrive in order, filtered by organization, and a
 * subscriber that unsubscribes hears nothing more. JetStream also keeps each event once
 * whatever is re-published, maps events to `{prefix}.{orgId}.{category}.{type}`, and names its
 * newest event.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from 'nats';
import { redactSecrets, toBusEvent, type BusEvent } from '../../src/adapters/bus/busEvent.js';
import { MemoryBus } from '../../src/adapters/bus/memoryBus.js';
import { NatsBus } from '../../src/adapters/bus/natsBus.js';
import type { EventBus } from '../../src/adapters/bus/port.js';
import { eventSubject, subjectToken } from '../../src/adapters/bus/subjects.js';
import type { RecordedEvent } from '../../src/adapters/eventstore/port.js';
import { serviceGate } from '../support/services.js';
import { deleteStream, NATS_URL, probeNats, readWholeStream, uniqueBusNames } from '../support/nats.js';

const natsProbe = await probeNats();
const runNats = serviceGate('event bus on NATS JetStream', natsProbe);
/** Bounded polling for what arrives asynchronously. */
const WAIT_MAX_MS = 10_000;
const POLL_MS = 20;

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MAX_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

let commit = 1n;
function recorded(orgId: string, type: string, data: RecordedEvent['data'] = {}): RecordedEvent {
  commit += 1n;
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data,
    streamName: `${orgId}.ledger-main`,
    orgId,
    revision: commit,
    position: { commit, prepare: 0n },
    occurredAt: new Date('2026-11-21T08:00:00Z'),
    actor: { kind: 'system', id: 'test', role: null },
    channel: { kind: 'system', clientName: null, clientVersion: null },
    correlationId: randomUUID(),
    causationId: randomUUID(),
    requestId: null,
    idempotencyKey: null,
    prevHash: '0'.repeat(64),
    hash: 'f'.repeat(64),
  };
}

const ORG_A = 'org_BUSA1';
const ORG_B = 'org_BUSB2';

interface Subject {
  readonly name: string;
  readonly run: boolean;
  open(): Promise<EventBus>;
}

const opened: { stream: string }[] = [];
afterAll(async () => {
  if (runNats) for (const { stream } of opened) await deleteStream(NATS_URL, stream);
});

const SUBJECTS: readonly Subject[] = [
  { name: 'in-process', run: true, open: () => Promise.resolve(new MemoryBus()) },
  {
    name: 'NATS JetStream',
    run: runNats,
    open: () => {
      const names = uniqueBusNames('bus');
      opened.push(names);
      return Promise.resolve(
        new NatsBus({ url: NATS_URL, streamName: names.stream, subjectPrefix: names.prefix }),
      );
    },
  },
];

/** A NATS subscription starts its consumer in the background: publish a marker until it arrives. */
async function ready(bus: EventBus, orgId: string, seen: BusEvent[]): Promise<void> {
  const deadline = Date.now() + WAIT_MAX_MS;
  for (;;) {
    const marker = toBusEvent(recorded(orgId, 'Marker'));
    await bus.publish([marker]);
    const until = Date.now() + 500;
    while (Date.now() < until && !seen.some((event) => event.eventId === marker.eventId)) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    if (seen.some((event) => event.eventId === marker.eventId)) {
      seen.length = 0;
      return;
    }
    if (Date.now() > deadline) throw new Error('the subscription never started');
  }
}

for (const subject of SUBJECTS) {
  describe.skipIf(!subject.run)(`the ${subject.name} event bus`, () => {
    it('delivers events in order, only the subscribed organization’s, until unsubscribed', async () => {
      const bus = await subject.open();
      try {
        const all: BusEvent[] = [];
        const onlyA: BusEvent[] = [];
        const stopAll = bus.subscribe({}, (event) => all.push(event));
        const stopA = bus.subscribe({ orgId: ORG_A }, (event) => onlyA.push(event));
        await ready(bus, ORG_A, onlyA);
        await until(() => all.length > 0, 'the marker');
        all.length = 0;
        const events = Array.from({ length: 60 }, (_, index) =>
          toBusEvent(recorded(index % 3 === 0 ? ORG_B : ORG_A, `Happened${index % 4}`)),
        );
        await bus.publish(events.slice(0, 30));
        await bus.publish(events.slice(30));
        await until(() => all.length >= events.length, 'every event');
        expect(all.map((event) => event.eventId)).toEqual(events.map((event) => event.eventId));
        const forA = events.filter((event) => event.orgId === ORG_A).map((event) => event.eventId);
        await until(() => onlyA.length >= forA.length, 'organization A’s events');
        expect(onlyA.map((event) => event.eventId)).toEqual(forA);
        expect(onlyA.every((event) => event.orgId === ORG_A)).toBe(true);

        stopA();
        stopA();
        const later = toBusEvent(recorded(ORG_A, 'Later'));
        await bus.publish([later]);
        await until(() => all.some((event) => event.eventId === later.eventId), 'the later event');
        expect(onlyA.some((event) => event.eventId === later.eventId)).toBe(false);
        stopAll();
      } finally {
        await bus.close();
      }
    });

    it('delivers only the event types a subscription names', async () => {
      const bus = await subject.open();
      try {
        const all: BusEvent[] = [];
        const some: BusEvent[] = [];
        bus.subscribe({}, (event) => all.push(event));
        bus.subscribe({ orgId: ORG_A, eventTypes: new Set(['Marker', 'Wanted']) }, (event) =>
          some.push(event),
        );
        await ready(bus, ORG_A, some);
        await until(() => all.length > 0, 'the marker');
        all.length = 0;
        const events = Array.from({ length: 20 }, (_, index) =>
          toBusEvent(recorded(index % 5 === 0 ? ORG_B : ORG_A, index % 2 === 0 ? 'Wanted' : 'Other')),
        );
        await bus.publish(events);
        await until(() => all.length >= events.length, 'every event');
        const expected = events.filter((event) => event.orgId === ORG_A && event.type === 'Wanted');
        await until(() => some.length >= expected.length, 'the wanted events');
        expect(some.map((event) => event.eventId)).toEqual(expected.map((event) => event.eventId));
      } finally {
        await bus.close();
      }
    });

    it('is healthy while reachable, and refuses to publish once closed', async () => {
      const bus = await subject.open();
      await bus.publish([toBusEvent(recorded(ORG_A, 'Once'))]);
      expect(bus.health()).toBe('ok');
      await bus.close();
      await expect(bus.publish([toBusEvent(recorded(ORG_A, 'Closed'))])).rejects.toThrow(/closed/);
    });
  });
}

describe.skipIf(!runNats)('the NATS JetStream event bus, on the stream itself', () => {
  it('stores each event once under ledger-style subjects, however often it is published, and names the newest', async () => {
    const names = uniqueBusNames('dedupe');
    opened.push(names);
    const bus = new NatsBus({ url: NATS_URL, streamName: names.stream, subjectPrefix: names.prefix });
    try {
      const events = Array.from({ length: 20 }, (_, index) => toBusEvent(recorded(ORG_A, `Step${index}`)));
      await bus.publish(events.slice(0, 12));
      // A re-publish after a lost acknowledgement: the first 12 again, and the rest.
      await bus.publish(events.slice(5));
      await bus.publish(events.slice(15));
      const stored = await readWholeStream<BusEvent>(NATS_URL, names.stream, 100);
      expect(stored.map((event) => event.eventId)).toEqual(events.map((event) => event.eventId));
      expect(await bus.lastPublishedEventId()).toBe(events.at(-1)?.eventId);

      const nc = await connect({ servers: NATS_URL });
      try {
        const jsm = await nc.jetstreamManager();
        const message = await jsm.streams.getMessage(names.stream, {
          last_by_subj: `${names.prefix}.${ORG_A}.ledger.Step3`,
        });
        expect(message.subject).toBe(eventSubject(names.prefix, ORG_A, 'ledger', 'Step3'));
        expect(message.header.get('Nats-Msg-Id')).toBe(events[3]?.eventId);
      } finally {
        await nc.close();
      }
    } finally {
      await bus.close();
    }
  });

  it('fails a publish, without blocking, when NATS cannot be reached', async () => {
    const bus = new NatsBus({ url: 'nats://127.0.0.1:1', streamName: 'T_DEAD', subjectPrefix: 't_dead' });
    try {
      await expect(bus.publish([toBusEvent(recorded(ORG_A, 'Lost'))])).rejects.toThrow();
      expect(bus.health()).toBe('unreachable');
    } finally {
      await bus.close();
    }
  });
});

describe('bus events', () => {
  it('make every subject token safe for NATS', () => {
    expect(subjectToken('org_01ABC')).toBe('org_01ABC');
    expect(subjectToken('a.b*c>d e')).toBe('a_b_c_d_e');
    expect(subjectToken('')).toBe('_');
    expect(eventSubject('ledger', 'platform', 'organization', 'OrganizationCreated')).toBe(
      'ledger.platform.organization.OrganizationCreated',
    );
  });

  it('carry the envelope with secret fields redacted, at any depth', () => {
    const event = toBusEvent(
      recorded(ORG_A, 'MemberCreated', {
        memberId: 'usr_1',
        passwordHash: 'scrypt$…',
        nested: [{ consumerSecret: 'x', keyId: 'key_1', deeper: { ciphertext: 'abc' } }],
      }),
    );
    expect(event.data).toEqual({
      memberId: 'usr_1',
      passwordHash: '[redacted]',
      nested: [{ consumerSecret: '[redacted]', keyId: 'key_1', deeper: { ciphertext: '[redacted]' } }],
    });
    expect(event.category).toBe('ledger');
    expect(event.position).toMatch(/^\d+-0$/);
    expect(redactSecrets({ apiToken: 't', amount: '1.00' })).toEqual({
      apiToken: '[redacted]',
      amount: '1.00',
    });
  });
});
