import { randomUUID } from 'node:crypto';
import type { JsonValue } from '../../src/domain/canonicalJson.js';
import type { NewEvent } from '../../src/adapters/eventstore/port.js';

let counter = 0;

/** A unique organization id per call, so tests never see each other's streams. */
export function testOrg(): string {
  counter += 1;
  return `org_t${Date.now().toString(36)}${counter}${randomUUID().slice(0, 8)}`;
}

export function newEvent(type = 'ThingHappened', data: JsonValue = { n: 1 }, eventId?: string): NewEvent {
  return {
    ...(eventId ? { eventId } : {}),
    type,
    data,
    metadata: {
      actor: { kind: 'member', id: 'usr_tester', role: 'org_admin' },
      channel: { kind: 'rest' },
      requestId: 'req_test',
    },
  };
}

export function newEvents(count: number, type = 'ThingHappened'): NewEvent[] {
  return Array.from({ length: count }, (_, i) => newEvent(type, { n: i }));
}
