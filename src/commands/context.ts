import type { AuditSigningKey } from '../adapters/crypto/auditSigningKey.js';
import type { Database } from '../adapters/db/database.js';
import type { EventMetadata, EventStore, Position } from '../adapters/eventstore/port.js';
import type { PasswordHasher } from '../adapters/crypto/passwords.js';
import type { TokenService } from '../adapters/crypto/tokens.js';
import type { Logger } from '../adapters/log.js';
import type { CredentialReads } from './credentials.js';
import type { Principal } from './principal.js';
import type { AnyCommand, CommandOutcome } from './catalog.js';
import type { CommittedFeed } from '../projections/committedFeed.js';
import type { LedgerBooks } from './ledger/book.js';
import type { LoginLimiter } from './loginLimiter.js';
import type { PaymentServices } from './payments/paymentServices.js';
import type { RateLimiter } from './limits/rateLimiter.js';
import type { ProviderVault } from './vault/providerVault.js';

/** Waits for the read models to pass a position (read-your-writes). */
export interface ConsistencyGate {
  waitFor(position: Position, timeoutMs: number): Promise<boolean>;
  /** Waits until the read models have caught up with everything committed before the call. */
  waitForCaughtUp(timeoutMs: number): Promise<boolean>;
}

/** Everything a handler may touch; the composition root builds it once. */
export interface Services {
  readonly store: EventStore;
  readonly db: Database;
  readonly clock: () => Date;
  readonly newId: (prefix: string) => string;
  readonly passwords: PasswordHasher;
  readonly tokens: TokenService;
  readonly consistency: ConsistencyGate;
  readonly loginLimiter: LoginLimiter;
  readonly log: Logger;
  readonly ledger: LedgerBooks;
  /** Facts every request reads, cached briefly (see CREDENTIAL_CACHE_MS). */
  readonly credentials: CredentialReads;
  /** Payment providers (simulators or real) and the organizations' callback URLs. */
  readonly payments: PaymentServices;
  /** Per-organization rate limits and command quota (none when absent). */
  readonly limits?: RateLimiter;
  /** Provider credentials: sealing for commands, decrypted (and cached) for provider adapters. */
  readonly vault: ProviderVault;
  /** Signs audit exports (see auditSigningKey.ts). */
  readonly auditSigning: AuditSigningKey;
  /** Batches the in-process projector committed (absent when the projector runs elsewhere). */
  readonly committed?: CommittedFeed;
}

export interface CommandContext {
  /** Null only for public commands (log in, refresh), which authenticate by their input. */
  readonly principal: Principal | null;
  readonly services: Services;
  readonly now: Date;
  readonly requestId: string;
  readonly idempotencyKey: string | null;
  /** The caller's network address, for rate limits. */
  readonly clientAddress: string;
  readonly channel: EventMetadata['channel'];
  /** What caused this command when it is not the request itself (an approval, say). */
  readonly causationId?: string;
  readonly correlationId?: string;
  /**
   * Decides, after validation, authorization and the idempotency claim, whether the command
   * runs now: an answer in its place (an approval request) or null to run it.
   */
  readonly gate?: (
    command: AnyCommand,
    input: unknown,
    context: CommandContext,
  ) => Promise<CommandOutcome<unknown> | null>;
  /** Long work reports here (MCP progress notifications) when the caller asked. */
  readonly progress?: ProgressReporter;
  /** Aborted when the caller gave up (MCP cancellation); checked before anything is written. */
  readonly signal?: AbortSignal;
}

/** `done` of `total` steps (total null when unknown), with a line for people. */
export type ProgressReporter = (done: number, total: number | null, message?: string) => void;

export interface QueryContext {
  readonly principal: Principal;
  readonly services: Services;
  readonly now: Date;
  readonly progress?: ProgressReporter;
  readonly signal?: AbortSignal;
}
