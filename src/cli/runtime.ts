/**
 * The composition root: opens the stores the configuration names, applies migrations, builds
 * the services every handler uses, starts the projector, and closes everything in reverse.
 */
import type { Config } from '../config.js';
import type { Database } from '../adapters/db/database.js';
import { migrate, type MigrationReport } from '../adapters/db/migrate.js';
import { openPglite } from '../adapters/db/pgliteDatabase.js';
import { openPostgres } from '../adapters/db/postgresDatabase.js';
import { scryptHasher } from '../adapters/crypto/passwords.js';
import { hmacTokenService } from '../adapters/crypto/tokens.js';
import { EsdbEventStore } from '../adapters/eventstore/esdb/esdbEventStore.js';
import { SqlEventStore } from '../adapters/eventstore/postgres/sqlEventStore.js';
import type { EventStore } from '../adapters/eventstore/port.js';
import { MemoryBus } from '../adapters/bus/memoryBus.js';
import { NatsBus } from '../adapters/bus/natsBus.js';
import type { EventBus } from '../adapters/bus/port.js';
import { EventPublisher } from '../adapters/bus/publisher.js';
import { FeedHub } from '../adapters/feed/hub.js';
import { newId } from '../adapters/ids.js';
import { createLogger } from '../adapters/log.js';
import type { Services } from '../commands/context.js';
import { CREDENTIAL_CACHE_EVENTS, CredentialReads } from '../commands/credentials.js';
import { LoginLimiter } from '../commands/loginLimiter.js';
import { LIMITS_CACHE_EVENTS, RateLimiter } from '../commands/limits/rateLimiter.js';
import { LedgerBooks } from '../commands/ledger/book.js';
import { sqlSnapshotStore } from '../commands/ledger/snapshots.js';
import { assertLedgerKeysCurrent } from '../projections/ledger/ledgerKeys.js';
import { leastCheckpoint, pollingGate } from '../projections/pollingGate.js';
import { Projector } from '../projections/projector.js';
import { PROJECTIONS } from '../projections/registry.js';
import { CommittedFeed } from '../projections/committedFeed.js';
import { signingSecret } from './signingSecret.js';
import { createPaymentProviders } from '../adapters/providers/paymentProviders.js';
import { callbackUrls } from '../commands/payments/paymentServices.js';
import { vaultMasterKey } from '../adapters/crypto/vaultMasterKey.js';
import { DataKeyStore } from '../adapters/crypto/vaultKeys.js';
import { ProviderVault, VAULT_EVENTS } from '../commands/vault/providerVault.js';
import { auditSigningKey } from '../adapters/crypto/auditSigningKey.js';

export interface Runtime {
  readonly db: Database;
  readonly store: EventStore;
  readonly migrations: MigrationReport;
  readonly services: Services;
  /** The projector, when this process runs it. */
  readonly projector: Projector | null;
  /** Committed events fanned out: NATS JetStream with NATS_URL, else in-process. */
  readonly bus: EventBus;
  /** Publishes committed events to the bus, when this process does. */
  readonly publisher: EventPublisher | null;
  /** This process's live-feed connections hear the bus through it. */
  readonly feed: FeedHub;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Start the in-process projector (default: as the configuration says). */
  readonly startProjector?: boolean;
  /** Publish committed events to the bus (servers do; `project` workers do with NATS). */
  readonly startPublisher?: boolean;
  /** Where log lines go (stdout when absent); tests capture them here. */
  readonly logStream?: { write(line: string): void };
  /**
   * Open even when the ledger read model's keys are stale (see ledgerKeys.ts): only for the
   * rebuild that writes them again. Anything else refuses to start, naming that rebuild.
   */
  readonly allowStaleKeys?: boolean;
}

/**
 * What this process's caches forget on: the bus subscription that keeps them current names
 * these, so an in-process bus with no other listener lets the publisher read only these.
 */
const CACHED_EVENT_TYPES: ReadonlySet<string> = new Set([
  ...CREDENTIAL_CACHE_EVENTS,
  ...LIMITS_CACHE_EVENTS,
  ...VAULT_EVENTS,
]);

export async function openDatabase(config: Config): Promise<Database> {
  if (!config.databaseUrl) return openPglite({ dataDir: config.dataDir });
  return openPostgres({
    url: config.databaseUrl,
    ...(config.databaseSchema ? { schema: config.databaseSchema } : {}),
  });
}

export async function openEventStore(config: Config, db: Database): Promise<EventStore> {
  // With EVENTSTORE_URL the events live in EventStoreDB and the database keeps only the read
  // models; the client connects on the first call, so a server still starting is not an error here.
  if (config.eventstoreUrl !== null) return Promise.resolve(EsdbEventStore.connect(config.eventstoreUrl));
  return Promise.resolve(new SqlEventStore(db));
}

export async function openRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const log = createLogger(config.logLevel, options.logStream);
  const db = await openDatabase(config);
  let store: EventStore | null = null;
  try {
    const migrations = await migrate(db);
    if (!options.allowStaleKeys) await assertLedgerKeysCurrent(db);
    store = await openEventStore(config, db);
    const events = store;
    const runProjector = options.startProjector ?? config.projector === 'in-process';
    const credentials = new CredentialReads(db);
    const limits = new RateLimiter(db);
    let publisher: EventPublisher | null = null;
    const vault = new ProviderVault(
      store,
      new DataKeyStore(db, (await vaultMasterKey(config)).key, () => newId('dk')),
    );
    const committed = new CommittedFeed();
    const projector = runProjector
      ? new Projector(db, store, PROJECTIONS, {
          onError: (error) => {
            log.error({ err: error }, 'projector batch failed; retrying');
          },
          onCommitted: (batch, range) => {
            credentials.forget(batch);
            limits.forget(batch);
            publisher?.offer(batch, range);
            vault.forget(batch);
            committed.publish(batch);
          },
        })
      : null;
    const bus: EventBus = config.natsUrl
      ? new NatsBus({
          url: config.natsUrl,
          streamName: config.natsStream,
          subjectPrefix: config.natsSubjectPrefix,
          log,
        })
      : new MemoryBus((error) => {
          log.warn({ err: error }, 'an event bus subscriber failed');
        });
    if (options.startPublisher) {
      const projectionNames = PROJECTIONS.map((projection) => projection.name);
      publisher = new EventPublisher(db, events, bus, {
        // One shared checkpoint per JetStream stream; the in-process bus keeps its own in memory.
        checkpointName: config.natsUrl ? `nats:${config.natsStream}` : null,
        horizon: projector ? () => projector.position : () => leastCheckpoint(db, projectionNames),
        log,
      });
    }
    const feed = new FeedHub(bus, (error) => {
      log.warn({ err: error }, 'a live feed listener failed');
    });
    // Other nodes' commits reach this node's caches through the bus (its own projector tells
    // them directly). On the in-process bus beside this process's own projector, the bus
    // carries only what the projector already said: no listener, so publishing builds nothing.
    const stopForgetting =
      config.natsUrl || !projector
        ? bus.subscribe({ eventTypes: CACHED_EVENT_TYPES }, (event) => {
            credentials.forget([event]);
            limits.forget([event]);
            vault.forget([event]);
          })
        : () => undefined;
    const secret = await signingSecret(config);
    const providers = createPaymentProviders({
      mode: config.providers,
      mpesaSimulator: {
        ...(config.simulatorDelayMs === null
          ? {}
          : { stkCallbackDelayMs: config.simulatorDelayMs, resultCallbackDelayMs: config.simulatorDelayMs }),
        faults: config.simulatorFaults,
      },
    });
    const services: Services = {
      store,
      db,
      clock: () => new Date(),
      newId: (prefix) => newId(prefix),
      passwords: scryptHasher(config.passwordCostLog2),
      tokens: hmacTokenService(secret),
      consistency:
        projector ??
        pollingGate(
          db,
          PROJECTIONS.map((projection) => projection.name),
          events,
        ),
      loginLimiter: new LoginLimiter(),
      log,
      ledger: new LedgerBooks(events, sqlSnapshotStore(db)),
      credentials,
      payments: {
        providers,
        callbacks: callbackUrls(secret, config.publicUrl),
        ...(config.payoutReservationSeconds === null
          ? {}
          : { payoutReservationSeconds: config.payoutReservationSeconds }),
      },
      ...(config.limits === 'on' ? { limits } : {}),
      vault,
      auditSigning: await auditSigningKey(config),
      committed,
    };
    projector?.start();
    publisher?.start();
    return {
      db,
      store,
      migrations,
      services,
      projector,
      bus,
      publisher,
      feed,
      async close() {
        feed.stop();
        stopForgetting();
        await publisher?.stop();
        await providers.close();
        await projector?.stop();
        await bus.close();
        await events.close();
        await db.close();
      },
    };
  } catch (error) {
    await store?.close();
    await db.close();
    throw error;
  }
}
