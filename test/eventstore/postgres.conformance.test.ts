import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import { freshPostgres } from '../support/databases.js';
import { probePostgres, serviceGate } from '../support/services.js';
import { sqlTamper } from '../support/sqlTamper.js';
import { eventStoreConformance } from './conformance.js';
import { describe, it } from 'vitest';

const probe = await probePostgres();

if (serviceGate('event store conformance on PostgreSQL', probe)) {
  eventStoreConformance('PostgreSQL', async () => {
    const test = await freshPostgres('conf');
    return { store: new SqlEventStore(test.db), tamper: sqlTamper(test.db), dispose: () => test.dispose() };
  });
} else {
  describe.skip(`event store conformance on PostgreSQL (${probe.reason})`, () => {
    it('needs PostgreSQL', () => undefined);
  });
}
