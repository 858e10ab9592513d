/**
 * `audit verify` of a whole organization against a stored event row changed directly in SQL,
 * as an attacker with database access would: an edited payload, a deleted row, two rows
 * swapped, the newest row removed — each reported with its exact stream and revision, on real
 * PostgreSQL and on PGlite. Another organization's streams are never walked, and a bounded
 * run hands back a cursor that finishes the walk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import { VERIFY_STREAMS_PAGE, verifyOrganization } from '../../src/commands/audit/verifyOrganization.js';
import { freshPglite, freshPostgres, type TestDatabase } from '../support/databases.js';
import { newEvents, testOrg } from '../support/events.js';
import { probePostgres, serviceGate } from '../support/services.js';
import { sqlTamper } from '../support/sqlTamper.js';

const probe = await probePostgres();
const BACKENDS = [
  {
    name: 'PostgreSQL',
    run: serviceGate('audit verify (PostgreSQL)', probe),
    open: () => freshPostgres('auditverify'),
  },
  { name: 'PGlite', run: true, open: freshPglite },
] as const;

/** More streams than one listing page, so the walk must page. */
const STREAMS = VERIFY_STREAMS_PAGE + 37;
const EVENTS_PER_STREAM = 3;

for (const backend of BACKENDS) {
  describe.runIf(backend.run)(`audit verify of a whole organization (${backend.name})`, () => {
    let database: TestDatabase;
    let store: SqlEventStore;

    beforeAll(async () => {
      database = await backend.open();
      store = new SqlEventStore(database.db);
    }, 60_000);

    afterAll(async () => {
      await database.dispose();
    });

    async function organization(streams: number): Promise<{ orgId: string; names: string[] }> {
      const orgId = testOrg();
      const names = Array.from({ length: streams }, (_, i) => `${orgId}.thing-${String(i).padStart(5, '0')}`);
      await Promise.all(names.map((name) => store.append(name, newEvents(EVENTS_PER_STREAM), 'no_stream')));
      return { orgId, names };
    }

    it('checks every event of every stream, paging through more streams than one page', async () => {
      const { orgId } = await organization(STREAMS);
      const other = await organization(2);
      await sqlTamper(database.db).editData(other.names[0] ?? '', 1n, { other: 'org' });
      const result = await verifyOrganization(store, orgId);
      expect(result).toEqual({
        ok: true,
        streamsChecked: STREAMS,
        eventsChecked: STREAMS * EVENTS_PER_STREAM,
        brokenLink: null,
        nextStream: null,
      });
    });

    it('stops a bounded run with a cursor that finishes the walk', async () => {
      const { orgId } = await organization(10);
      const first = await verifyOrganization(store, orgId, { eventsMax: 4 * EVENTS_PER_STREAM });
      expect(first).toMatchObject({ ok: true, streamsChecked: 4, nextStream: `${orgId}.thing-00003` });
      const rest = await verifyOrganization(store, orgId, { afterStream: first.nextStream });
      expect(rest).toMatchObject({
        ok: true,
        streamsChecked: 6,
        eventsChecked: 6 * EVENTS_PER_STREAM,
        nextStream: null,
      });
    });

    it('finds an edited payload at its stream and revision', async () => {
      const { orgId, names } = await organization(STREAMS);
      const target = names[STREAMS - 3] ?? '';
      await sqlTamper(database.db).editData(target, 1n, { n: 999 });
      const result = await verifyOrganization(store, orgId);
      expect(result.ok).toBe(false);
      expect(result.brokenLink).toMatchObject({ stream: target, revision: 1n, reason: 'content_changed' });
      expect(result.brokenLink?.expectedHash).not.toBe(result.brokenLink?.foundHash);
    });

    it('finds a deleted row, two swapped rows, and a removed newest row', async () => {
      const { orgId, names } = await organization(6);
      const tamper = sqlTamper(database.db);
      await tamper.deleteEvent(names[4] ?? '', 1n);
      expect((await verifyOrganization(store, orgId)).brokenLink).toMatchObject({
        stream: names[4],
        revision: 1n,
        reason: 'revision_gap',
      });

      await tamper.swapEvents(names[2] ?? '', 0n, 1n);
      expect((await verifyOrganization(store, orgId)).brokenLink).toMatchObject({
        stream: names[2],
        revision: 0n,
        reason: 'chain_broken',
      });

      await tamper.deleteEvent(names[1] ?? '', 2n);
      expect((await verifyOrganization(store, orgId)).brokenLink).toMatchObject({
        stream: names[1],
        revision: 2n,
        reason: 'head_mismatch',
      });
    });
  });
}
