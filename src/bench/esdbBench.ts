/**
 * The EventStoreDB adapter's appends against the in-process EventStoreDB emulator of
 * test/esdb-emulator (compiled to dist-test/ by `npm run prebench`, see tsconfig.emulator.json):
 * the same scenarios, counts and bounds as the PostgreSQL appends.
 *
 * What this measures: the adapter's own work (validation, hashing, chaining, encoding) and its
 * gRPC round trips through @eventstore/db-client, against an in-memory server that shares this
 * process and its CPU. It is NOT a figure for EventStoreDB, which writes to disk, replicates and
 * runs elsewhere; run the bench against a real server for that. The emulator lives under test/
 * and is loaded only if it was built, so a production install (no dev dependencies, no
 * dist-test/) skips this section instead of failing.
 */
import { EsdbEventStore } from '../adapters/eventstore/esdb/esdbEventStore.js';
import type { NewEvent } from '../adapters/eventstore/port.js';
import {
  BATCH_APPENDS,
  BATCH_SIZE,
  CONCURRENCY,
  ORG,
  SCENARIO_TIME_MAX_MS,
  SINGLE_APPENDS,
  STREAMS,
  benchEvent,
  benchMetadata,
} from './appendBench.js';
import { measure, type Measurement } from './measure.js';

const EMULATOR_MODULE = new URL('../../dist-test/esdb-emulator/emulator.js', import.meta.url);

interface Emulator {
  readonly connectionString: string;
  stop(): Promise<void>;
}

type StartEmulator = () => Promise<Emulator>;

export type EsdbBenchResult =
  | { readonly kind: 'measured'; readonly single: Measurement; readonly batch: Measurement }
  | { readonly kind: 'skipped'; readonly reason: string };

export const ESDB_SCENARIO = 'ledgerline (EventStoreDB adapter -> emulator)';

export async function esdbEmulatorBench(): Promise<EsdbBenchResult> {
  const start = await loadEmulator();
  if (typeof start === 'string') return { kind: 'skipped', reason: start };
  const emulator = await start();
  const store = EsdbEventStore.connect(emulator.connectionString);
  const scenario = (eventsPerOperation: number, total: number) => ({
    name: ESDB_SCENARIO,
    total,
    concurrency: CONCURRENCY,
    eventsPerOperation,
    timeMaxMs: SCENARIO_TIME_MAX_MS,
    operation: async (i: number): Promise<void> => {
      const metadata = benchMetadata(i);
      const events: NewEvent[] = Array.from({ length: eventsPerOperation }, (_, k) =>
        benchEvent(i * eventsPerOperation + k, metadata),
      );
      await store.append(`${ORG}.account-${i % STREAMS}`, events, 'any');
    },
  });
  try {
    // Warm the connection and the code paths outside the measurement.
    await store.append(`${ORG}.account-warmup`, [benchEvent(-1)], 'any');
    const single = await measure(scenario(1, SINGLE_APPENDS));
    const batch = await measure(scenario(BATCH_SIZE, BATCH_APPENDS));
    return { kind: 'measured', single, batch };
  } finally {
    await store.close();
    await emulator.stop();
  }
}

/** The emulator's start function, or why it cannot be had. */
async function loadEmulator(): Promise<StartEmulator | string> {
  let loaded: unknown;
  try {
    loaded = await import(EMULATOR_MODULE.href);
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return `the emulator is not built (${why}); \`npm run prebench\` builds it into dist-test/`;
  }
  const start = (loaded as { startEsdbEmulator?: unknown }).startEsdbEmulator;
  if (typeof start !== 'function') return `${EMULATOR_MODULE.pathname} does not export startEsdbEmulator`;
  return start as StartEmulator;
}
