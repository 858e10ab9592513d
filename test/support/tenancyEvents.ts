/**
 * Realistic tenancy events written straight to the event store: thousands of them in
 * seconds, for projector and rebuild tests (going through the API would hash a password per
 * member).
 */
import { randomUUID } from 'node:crypto';
import type { EventStore, NewEvent, Position } from '../../src/adapters/eventstore/port.js';
import { newId } from '../../src/adapters/ids.js';
import type { OrganizationEvent } from '../../src/domain/tenancy/events.js';

const metadata = { actor: { kind: 'system' as const, id: 'test' }, channel: { kind: 'system' as const } };

function event(domain: OrganizationEvent): NewEvent {
  return { eventId: randomUUID(), type: domain.type, data: domain.data as NewEvent['data'], metadata };
}

/** One organization's life: created, members joining and leaving, keys made and revoked. */
export function organizationLife(orgId: string, members: number): NewEvent[] {
  const events: NewEvent[] = [
    event({
      type: 'OrganizationCreated',
      data: {
        orgId,
        name: `Org ${orgId}`,
        plan: 'free',
        settings: { defaultCurrency: 'KES', rateLimitPerMinute: null, monthlyCommandQuota: null },
      },
    }),
  ];
  for (let i = 0; i < members; i += 1) {
    const memberId = newId('usr');
    const keyId = newId('key');
    events.push(
      event({
        type: 'MemberCreated',
        data: {
          memberId,
          email: `m${i}@${orgId.toLowerCase()}.test`,
          name: `Member ${i}`,
          role: 'user',
          passwordHash: 'scrypt$1$1$1$AA==$AA==',
        },
      }),
      event({
        type: 'ApiKeyCreated',
        data: {
          keyId,
          name: `key ${i}`,
          scopes: ['ledger:read'],
          expiresAt: null,
          createdBy: memberId,
          role: 'user',
          secretHash: '0'.repeat(64),
          environment: 'live',
        },
      }),
    );
    if (i % 3 === 0) events.push(event({ type: 'ApiKeyRevoked', data: { keyId } }));
    if (i % 4 === 0)
      events.push(
        event({
          type: 'MemberProfileUpdated',
          data: { memberId, name: `Renamed ${i}`, email: `r${i}@${orgId.toLowerCase()}.test` },
        }),
      );
    if (i % 5 === 0) events.push(event({ type: 'MemberDeactivated', data: { memberId } }));
  }
  if (members % 2 === 0) events.push(event({ type: 'OrganizationSuspended', data: { reason: 'test' } }));
  return events;
}

/** Appends `organizations` lives of `members` members each; answers the last position. */
export async function writeOrganizations(
  store: EventStore,
  organizations: number,
  members: number,
): Promise<Position> {
  let last: Position | null = null;
  for (let o = 0; o < organizations; o += 1) {
    const orgId = newId('org');
    const result = await store.append(
      `${orgId}.organization-${orgId}`,
      organizationLife(orgId, members),
      'no_stream',
    );
    last = result.position;
  }
  if (!last) throw new Error('no organizations written');
  return last;
}
