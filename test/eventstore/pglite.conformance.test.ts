import { SqlEventStore } from '../../src/adapters/eventstore/postgres/sqlEventStore.js';
import { freshPglite } from '../support/databases.js';
import { sqlTamper } from '../support/sqlTamper.js';
import { eventStoreConformance } from './conformance.js';

eventStoreConformance('PGlite', async () => {
  const test = await freshPglite();
  return { store: new SqlEventStore(test.db), tamper: sqlTamper(test.db), dispose: () => test.dispose() };
});
