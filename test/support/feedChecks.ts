/**
 * Checks shared by the live-feed suites: what a feed client received against what the event
 * store holds for the organization, and bounded polling.
 */
import { expect } from 'vitest';
import { toBusEvent, type BusEvent } from '../../src/adapters/bus/busEvent.js';
import { comparePositions, parsePosition } from '../../src/adapters/eventstore/position.js';
import type { Position } from '../../src/adapters/eventstore/port.js';
import type { TestApp } from './app.js';
import type { FeedClient } from './feedClients.js';

/** Generous: the machine is shared; conditions are polled, never slept on. */
const WAIT_MAX_MS = 30_000;
const POLL_MS = 20;
const READ_PAGE = 1_000;

export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MAX_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The organization's events as the store holds them, in global order, on the wire. */
export async function storedEvents(app: TestApp, orgId: string): Promise<BusEvent[]> {
  const store = app.server.runtime.store;
  const events: BusEvent[] = [];
  let from: Position | undefined;
  for (;;) {
    const page = await store.readAll({
      ...(from ? { from } : {}),
      filter: { streamPrefix: `${orgId}.` },
      maxCount: READ_PAGE,
    });
    events.push(...page.events.map(toBusEvent));
    from = page.next;
    if (page.isEnd) return events;
  }
}

/**
 * The client received exactly the organization's stored events from its first one on (or
 * after `after`), each once, in order, ids being positions. Answers what was expected.
 */
export async function expectFeedMatchesStore(
  app: TestApp,
  orgId: string,
  client: FeedClient,
  options: { after?: string } = {},
): Promise<BusEvent[]> {
  const stored = await storedEvents(app, orgId);
  const received = client.ids;
  expect(received.length, 'the client received events').toBeGreaterThan(0);
  const lastReceived = parsePosition(received.at(-1) ?? '');
  const start = options.after === undefined ? parsePosition(received[0] ?? '') : null;
  const after = options.after === undefined ? null : parsePosition(options.after);
  const expected = stored.filter((event) => {
    const position = parsePosition(event.position);
    if (comparePositions(position, lastReceived) > 0) return false;
    return start ? comparePositions(position, start) >= 0 : comparePositions(position, after ?? position) > 0;
  });
  expect(received).toEqual(expected.map((event) => event.position));
  expect(client.events.map((event) => event.eventId)).toEqual(expected.map((event) => event.eventId));
  expect(new Set(received).size).toBe(received.length);
  return expected;
}

/** The keys printed at start are usable once the projections caught up with the bootstrap. */
export async function caughtUp(app: TestApp): Promise<void> {
  await until(() => app.server.runtime.services.consistency.waitForCaughtUp(WAIT_MAX_MS), 'the projections');
}

/** A second organization with an org admin, logged in (an access token with audit:read). */
export async function newOrganization(app: TestApp, name: string): Promise<{ orgId: string; token: string }> {
  const email = `admin-${Math.random().toString(36).slice(2, 10)}@feed.test`;
  const password = 'correct horse battery staple';
  const created = await app.request('POST', '/v1/organizations', {
    token: app.adminKey,
    body: { name, plan: 'pro', admin: { email, name: 'Admin', password } },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const login = await app.request('POST', '/v1/auth/login', { body: { email, password } });
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  return { orgId: created.body.orgId as string, token: login.body.accessToken as string };
}
