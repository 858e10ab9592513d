// The conformance suite on the EventStoreDB adapter: always against the in-process gRPC emulator,
// and against a real EventStoreDB as well whenever EVENTSTORE_URL names one (no tampering there:
// a real server cannot be edited behind its back).
import { EsdbEventStore } from '../../src/adapters/eventstore/esdb/esdbEventStore.js';
import { startEsdbEmulator, type EsdbEmulator } from '../esdb-emulator/emulator.js';
import { eventStoreConformance, type Tamper } from './conformance.js';

function emulatorTamper(emulator: EsdbEmulator): Tamper {
  return {
    editData: (stream, revision, data) => {
      emulator.tamper.editData(stream, revision, data);
      return Promise.resolve();
    },
    deleteEvent: (stream, revision) => {
      emulator.tamper.deleteEvent(stream, revision);
      return Promise.resolve();
    },
    swapEvents: (stream, a, b) => {
      emulator.tamper.swapEvents(stream, a, b);
      return Promise.resolve();
    },
  };
}

eventStoreConformance('EventStoreDB (emulator)', async () => {
  const emulator = await startEsdbEmulator();
  const store = EsdbEventStore.connect(emulator.connectionString);
  return {
    store,
    tamper: emulatorTamper(emulator),
    recordsStreamHead: false,
    dispose: async () => {
      await store.close();
      await emulator.stop();
    },
  };
});

const url = process.env['EVENTSTORE_URL'];
if (url !== undefined && url !== '') {
  eventStoreConformance('EventStoreDB', () => {
    const store = EsdbEventStore.connect(url);
    return Promise.resolve({ store, recordsStreamHead: false, dispose: () => store.close() });
  });
}
